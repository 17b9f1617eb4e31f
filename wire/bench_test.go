package wire

import "testing"

// benchWindow is a 100-message window of typical chat messages.
func benchWindow() Window {
	w := StartWindow(nil)
	for i := range 100 {
		w.Msg(AppendMessage(nil, &Message{TS: int64(1732280000000000 + i), Seq: uint64(i + 1), Pri: "normal", Kind: "chat", UID: "u1",
			Body: []byte(`{"text":"hello world, this is a chat line"}`)}))
	}
	return w.End(3, 1732280000000099, 103, false)
}

// BenchmarkAppendString: an id (the common case: nothing to escape) and a chat line that
// needs escapes.
func BenchmarkAppendString(b *testing.B) {
	for _, s := range []string{"room-1.a:b_C", `he said "<hi>" é` + "\n"} {
		b.Run(s[:4], func(b *testing.B) {
			buf := make([]byte, 0, 64)
			b.ReportAllocs()
			for b.Loop() {
				buf = AppendString(buf[:0], s)
			}
		})
	}
}

// BenchmarkAppendMessage encodes one chat message into a reused buffer.
func BenchmarkAppendMessage(b *testing.B) {
	m := Message{TS: 1732280000123456, Seq: 42, Pri: "normal", Kind: "chat", UID: "u1", CMID: "c-7", Body: []byte(`{"text":"hello there"}`)}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendMessage(buf[:0], &m)
	}
}

// BenchmarkWindow encodes a 100-message window into a reused buffer.
func BenchmarkWindow(b *testing.B) {
	msgs := make([][]byte, 100)
	for i := range msgs {
		msgs[i] = AppendMessage(nil, &Message{TS: int64(1732280000000000 + i), Seq: uint64(i + 1), Pri: "normal", Kind: "chat", UID: "u1",
			Body: []byte(`{"text":"hello world, this is a chat line"}`)})
	}
	buf := benchWindow()
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		w := StartWindow(buf)
		for _, m := range msgs {
			w.Msg(m)
		}
		buf = w.End(3, 1732280000000099, 103, false)
	}
}

// BenchmarkAppendMsgs frames a shared 100-message window as a pull's answer into a reused
// buffer: the per-session cost of a pull answered from the window cache.
func BenchmarkAppendMsgs(b *testing.B) {
	w := benchWindow()
	id := int64(7)
	buf := make([]byte, 0, 2*len(w))
	b.SetBytes(int64(len(w)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendMsgs(buf[:0], "room-1", &id, "e1abc", w)
	}
}

// BenchmarkFrames: the small frames of the hot paths, into a reused buffer.
func BenchmarkFrames(b *testing.B) {
	id := int64(7)
	buf := make([]byte, 0, 256)
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"notify", func() { buf = AppendNotify(buf[:0], "room-1", 1732280000123456) }},
		{"pong", func() { buf = AppendPong(buf[:0], &id, 1732280000123456) }},
		{"sent", func() { buf = AppendSent(buf[:0], "room-1", 1732280000123456, 42, &id, false) }},
		{"error", func() { buf = AppendError(buf[:0], &id, "not_joined", "not joined to room-1") }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.f()
			}
		})
	}
}
