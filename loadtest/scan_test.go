package loadtest

import "testing"

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
