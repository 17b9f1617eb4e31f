package ring

import (
	"testing"
)

var defaultCaps = [NumPriorities]int{Low: 256, Normal: 1024, High: 512, System: 256}

func fullSet(n int) (*Set, []*Message) {
	s := NewSet(defaultCaps)
	msgs := make([]*Message, n)
	for i := range msgs {
		pri := Normal
		switch {
		case i%50 == 0:
			pri = System
		case i%10 == 0:
			pri = High
		case i%3 == 0:
			pri = Low
		}
		msgs[i] = &Message{TS: int64(i + 1), Seq: uint64(i + 1), Pri: pri, Kind: "chat", UID: "u1",
			Body: []byte(`{"text":"hello world, this is a chat line"}`)}
		msgs[i].Encode()
		if _, err := s.Append(msgs[i]); err != nil {
			panic(err)
		}
	}
	return s, msgs
}

// BenchmarkAppend appends pre-encoded messages to full rings: the steady state.
func BenchmarkAppend(b *testing.B) {
	s, _ := fullSet(MaxIndex + 1000)
	pool := make([]*Message, 4096)
	for i := range pool {
		pool[i] = &Message{Pri: Normal, Encoded: []byte("{}")}
	}
	ts, seq := s.LastTS(), s.LastSeq()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m := pool[i%len(pool)]
		ts++
		seq++
		m.TS, m.Seq = ts, seq
		if _, err := s.Append(m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWindow100 is a pull of 100 from a full default set, a few hundred messages back.
func BenchmarkWindow100(b *testing.B) {
	s, msgs := fullSet(5000)
	since := msgs[len(msgs)-400].TS
	var w Window
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Window(since, 100, &w)
	}
	if len(w.Msgs) != 100 {
		b.Fatalf("window has %d msgs", len(w.Msgs))
	}
}

// BenchmarkAppendWindowJSON encodes a 100-message window into a reused buffer.
func BenchmarkAppendWindowJSON(b *testing.B) {
	s, msgs := fullSet(5000)
	var w Window
	s.Window(msgs[len(msgs)-400].TS, 100, &w)
	buf := make([]byte, 0, 1<<16)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		buf = AppendWindowJSON(buf[:0], &w)
	}
	b.SetBytes(int64(len(buf)))
}
