package ring

import (
	"testing"
)

// defaultCaps are the default ring capacities of a room.
var defaultCaps = [NumPriorities]int{Low: 256, Normal: 1024, High: 512, System: 256}

// benchPri is the priority mix of the benchmarks: 2% system, 8% high, 30% low, 60% normal.
func benchPri(i int) Priority {
	switch {
	case i%50 == 0:
		return System
	case i%10 == 0:
		return High
	case i%3 == 0:
		return Low
	}
	return Normal
}

// fullSet returns a default set that accepted n pre-encoded chat messages at ts 1..n.
func fullSet(n int) (*Set, []*Message) {
	s := NewSet(defaultCaps)
	msgs := make([]*Message, n)
	for i := range msgs {
		msgs[i] = &Message{TS: int64(i + 1), Seq: uint64(i + 1), Pri: benchPri(i), Kind: "chat", UID: "u1",
			Body: []byte(`{"text":"hello world, this is a chat line"}`)}
		msgs[i].Encode()
		if _, err := s.Append(msgs[i]); err != nil {
			panic(err)
		}
	}
	return s, msgs
}

// BenchmarkAppend appends pre-encoded messages to full rings and a full index: the steady
// state. The pool is large enough that a message has left its ring before it is reused.
func BenchmarkAppend(b *testing.B) {
	s, _ := fullSet(MaxIndex + 1000)
	pool := make([]*Message, 16384)
	for i := range pool {
		pool[i] = &Message{Pri: benchPri(i), Encoded: []byte(`{}`)}
	}
	ts, seq := s.LastTS(), s.LastSeq()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m := pool[i%len(pool)]
		ts++
		seq++
		m.TS, m.Seq = ts, seq
		if ev, err := s.Append(m); err != nil || ev == nil {
			b.Fatalf("append: evicted %v, err %v", ev, err)
		}
	}
}

// BenchmarkWindow100 is a pull of 100 from a full default set, 400 messages back (so normal
// and low are cut to fit), into a reused Window.
func BenchmarkWindow100(b *testing.B) {
	s, msgs := fullSet(5000)
	since := msgs[len(msgs)-400].TS
	var w Window
	s.Window(since, 100, &w) // size w.Msgs once, as a reused Window is
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Window(since, 100, &w)
	}
	if len(w.Msgs) != 100 || w.Dropped != 299 {
		b.Fatalf("window has %d msgs, %d dropped", len(w.Msgs), w.Dropped)
	}
}

// BenchmarkWindowEncode encodes a 100-message window into a reused buffer.
func BenchmarkWindowEncode(b *testing.B) {
	s, msgs := fullSet(5000)
	var w Window
	s.Window(msgs[len(msgs)-400].TS, 100, &w)
	buf := w.Encode(nil)
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		buf = w.Encode(buf)
	}
}
