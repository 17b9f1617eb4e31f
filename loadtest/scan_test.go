package loadtest

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseMsgs(t *testing.T) {
	frame := []byte(`{"op":"msgs","room":"r","id":3,"epoch":"e1","msgs":[{"ts":10,"seq":4,"pri":"system","kind":"notice","uid":"","body":{"n":1}},{"ts":12,"seq":6,"pri":"normal","kind":"chat","uid":"u","cmid":"c","body":{"n":2}}],"dropped":3,"next":12,"more":false}`)
	if string(op(frame)) != "msgs" {
		t.Fatal("op")
	}
	var f msgsFrame
	if !parseMsgs(frame, &f) {
		t.Fatal("parse failed")
	}
	if string(f.epoch) != "e1" || f.dropped != 3 || f.next != 12 || f.more || len(f.msgs) != 2 {
		t.Fatalf("%+v", f)
	}
	if f.msgs[0] != (msgInfo{ts: 10, seq: 4, pri: 3}) || f.msgs[1] != (msgInfo{ts: 12, seq: 6, pri: 1}) {
		t.Fatalf("%+v", f.msgs)
	}
	empty := []byte(`{"op":"msgs","room":"r","epoch":"e1","msgs":[],"dropped":0,"next":5,"more":true}`)
	if !parseMsgs(empty, &f) || len(f.msgs) != 0 || f.next != 5 || !f.more {
		t.Fatalf("empty: %+v", f)
	}
	if parseMsgs([]byte(`{"op":"msgs"}`), &f) {
		t.Fatal("truncated frame parsed")
	}
}

func BenchmarkParseMsgs(b *testing.B) {
	frame := []byte(`{"op":"msgs","room":"r","id":3,"epoch":"e1","msgs":[`)
	for i := 0; i < 20; i++ {
		if i > 0 {
			frame = append(frame, ',')
		}
		frame = append(frame, `{"ts":1795367030882822,"seq":2,"pri":"normal","kind":"chat","uid":"u1","body":{"n":1}}`...)
	}
	frame = append(frame, `],"dropped":3,"next":1795367030882822,"more":false}`...)
	var f msgsFrame
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		parseMsgs(frame, &f)
	}
}

func TestParseNextSeq(t *testing.T) {
	f := func(frame string, nextSeq uint64, has bool, dropped uint64, next int64) {
		t.Helper()
		var fr msgsFrame
		if !parseMsgs([]byte(frame), &fr) {
			t.Fatalf("%s: not parsed", frame)
		}
		if fr.nextSeq != nextSeq || fr.hasNextSeq != has || fr.dropped != dropped || fr.next != next {
			t.Errorf("%s: %+v", frame, fr)
		}
	}
	msg := `{"ts":10,"seq":4,"pri":"system","kind":"notice","uid":"","body":{"n":1}}`
	f(`{"op":"msgs","room":"r","epoch":"e","msgs":[`+msg+`],"dropped":3,"next":12,"more":false}`, 0, false, 3, 12)
	f(`{"op":"msgs","room":"r","epoch":"e","msgs":[`+msg+`],"dropped":3,"next":12,"next_seq":7,"more":false}`, 7, true, 3, 12)
	f(`{"op":"msgs","room":"r","epoch":"e","next_seq":7,"msgs":[`+msg+`],"dropped":3,"next":12,"more":false}`, 7, true, 3, 12)
	f(`{"op":"msgs","room":"r","epoch":"e","msgs":[],"dropped":0,"next":0,"next_seq":0,"more":false}`, 0, true, 0, 0) // an empty room
	// A pushed window's counters after the tail: the tail is found further back.
	counters := `,"counters":{` + strings.Repeat(`"c_with_a_long_name":123456789,`, 8) + `"likes":1}}`
	f(`{"op":"msgs","room":"r","epoch":"e","msgs":[`+msg+`],"dropped":3,"next":12,"next_seq":7,"more":false`+counters, 7, true, 3, 12)
	// The key across the edge of the last bytes searched first.
	for pad := 100; pad < 140; pad++ {
		f(`{"op":"msgs","room":"r","epoch":"e","msgs":[],"dropped":3,"next":12,"x":"`+strings.Repeat("y", pad)+`"}`, 0, false, 3, 12)
	}
}

// The viewer's accounting, frame by frame: with next_seq every frame must cover exactly the
// seq it advances over; without it the pre-v1.1 check holds.
func TestAccountNextSeq(t *testing.T) {
	w := &worker{lat: newLatencies(1)}
	v := &viewer{w: w}
	var scratch msgsFrame
	out := &sentFrames{}
	frame := func(epoch string, msgs []msgInfo, dropped uint64, next int64, nextSeq int64) error {
		b := []byte(`{"op":"msgs","room":"r","id":1,"epoch":"` + epoch + `","msgs":[`)
		for i, m := range msgs {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"ts":`+itoa64(m.ts)+`,"seq":`+itoa64(int64(m.seq))+`,"pri":"normal","kind":"chat","uid":"u","body":{"n":1}}`...)
		}
		b = append(b, `],"dropped":`+itoa64(int64(dropped))+`,"next":`+itoa64(next)...)
		if nextSeq >= 0 {
			b = append(b, `,"next_seq":`+itoa64(nextSeq)...)
		}
		return v.onMsgs(append(b, `,"more":false}`...), &scratch, out)
	}
	errs := func() int64 { return w.c.acctErrors.Load() }
	v.onJoined([]byte(`{"op":"joined","room":"r","epoch":"e1","ts":100,"seq":10,"online":1,"id":1}`))
	_ = frame("e1", []msgInfo{{ts: 101, seq: 11}, {ts: 103, seq: 13}}, 1, 103, 13) // 2 + 1 = 13 - 10
	_ = frame("e1", nil, 0, 103, 13)                                               // nothing new
	_ = frame("e1", []msgInfo{{ts: 110, seq: 20}}, 5, 112, 21)                     // the newest at next is not shown: 1 + 5 != 21 - 13
	if errs() != 1 {
		t.Fatalf("accounting errors %d, want 1 (the third frame)", errs())
	}
	_ = frame("e1", []msgInfo{{ts: 113, seq: 22}}, 0, 113, 22) // counted from the last next_seq, 21
	_ = frame("e1", []msgInfo{{ts: 114, seq: 23}}, 0, 114, -1) // without next_seq: the last seq at next
	_ = frame("e2", []msgInfo{{ts: 120, seq: 1}, {ts: 121, seq: 2}}, 0, 121, 2)
	if errs() != 1 || v.accounted != 2 {
		t.Errorf("accounting errors %d (accounted %d), want 1 (a new epoch starts at 0)", errs(), v.accounted)
	}
	_ = frame("e2", []msgInfo{{ts: 122, seq: 4}}, 0, 122, 4) // seq 3 neither shown nor dropped
	if errs() != 2 {
		t.Errorf("accounting errors %d, want 2", errs())
	}
}

// sentFrames is a frameWriter that keeps what a viewer writes.
type sentFrames struct{ now, later []string }

func (s *sentFrames) writeFrame(b []byte) error            { s.now = append(s.now, string(b)); return nil }
func (s *sentFrames) writeLater(_ time.Duration, b []byte) { s.later = append(s.later, string(b)) }

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

func FuzzParseMsgs(f *testing.F) {
	f.Add([]byte(`{"op":"msgs","room":"r","id":3,"epoch":"e1","msgs":[{"ts":10,"seq":4,"pri":"system","kind":"notice","uid":"","body":{"n":1}}],"dropped":3,"next":12,"more":false}`))
	f.Add([]byte(`{"op":"msgs","room":"r","epoch":"e","next_seq":7,"msgs":[],"dropped":0,"next":12,"more":true}`))
	f.Add([]byte(`{"op":"msgs","msgs":[{"ts":1,"seq":`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var fr msgsFrame
		if parseMsgs(b, &fr) && fr.hasNextSeq && !bytes.Contains(b, keyNextSeq) {
			t.Errorf("next_seq %d from a frame without it", fr.nextSeq)
		}
	})
}
