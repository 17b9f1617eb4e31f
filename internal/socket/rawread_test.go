package socket

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

// clientFrame encodes one masked client frame (RFC 6455 section 5.2).
func clientFrame(op int, fin bool, payload []byte) []byte {
	b0 := byte(op)
	if fin {
		b0 |= 0x80
	}
	out := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		out = append(out, 0x80|byte(n))
	case n < 1<<16:
		out = append(out, 0x80|126, byte(n>>8), byte(n))
	default:
		out = append(out, 0x80|127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	mask := []byte{0x12, 0x34, 0x56, 0x78}
	out = append(out, mask...)
	for i, c := range payload {
		out = append(out, c^mask[i&3])
	}
	return out
}

// frameWithLength is a masked client frame whose length field is written as given (7-bit
// field byte, then the extended length bytes), for lengths the encoder would never write.
func frameWithLength(op int, length []byte, payload string) []byte {
	out := append([]byte{0x80 | byte(op), 0x80 | length[0]}, length[1:]...)
	return append(out, append([]byte{0, 0, 0, 0}, payload...)...) // mask 0: the payload as is
}

// blockingReader waits in a Poller of its own whenever its Conn would block, as a
// session waits in the hub's.
type blockingReader struct {
	*Conn
	p     *Poller
	ready chan uint64
	armed bool
}

func newBlockingReader(tb testing.TB, rc syscall.RawConn, max int) *blockingReader {
	b := &blockingReader{Conn: NewConn(rc, max), ready: make(chan uint64, 1)}
	p, err := NewPoller(func(id uint64) { b.ready <- id }, func(err error) { panic(err) })
	if err != nil {
		tb.Skip(err)
	}
	tb.Cleanup(p.Close)
	b.p = p
	return b
}

// next returns the next message, waiting for bytes as long as it takes.
func (b *blockingReader) next() (int, []byte, *[]byte, error) {
	for {
		typ, data, rp, err := b.Conn.Next()
		if err != ErrWouldBlock {
			return typ, data, rp, err
		}
		if err := b.p.Arm(b.rc, 7, !b.armed); err != nil {
			return 0, nil, nil, err
		}
		b.armed = true
		if id := <-b.ready; id != 7 {
			panic(fmt.Sprintf("poller reported id %d, armed 7", id))
		}
	}
}

// rawPair returns a Conn on the server end of a loopback TCP connection and the client end.
func rawPair(t *testing.T, max int) (*blockingReader, net.Conn, *[]string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	rc, err := server.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var events []string
	r := newBlockingReader(t, rc, max)
	r.OnPing = func(p []byte) { events = append(events, "ping:"+string(p)) }
	r.OnPong = func() { events = append(events, "pong") }
	r.OnClose = func(code int) { events = append(events, "close:"+string(rune('0'+code/1000))) }
	return r, client, &events
}

func readMsg(t *testing.T, r *blockingReader) (int, string) {
	t.Helper()
	typ, data, rp, err := r.next()
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	*rp = data[:0]
	PutBuffer(rp)
	return typ, s
}

func TestRawReaderFrames(t *testing.T) {
	r, c, events := rawPair(t, 1<<20)
	big := bytes.Repeat([]byte("x"), 70000) // 8-byte length
	mid := bytes.Repeat([]byte("y"), 300)   // 2-byte length
	var stream []byte
	stream = append(stream, clientFrame(websocket.TextMessage, true, []byte(`{"op":"ping"}`))...)
	stream = append(stream, clientFrame(websocket.TextMessage, false, []byte(`{"op":`))...)
	stream = append(stream, clientFrame(websocket.PingMessage, true, []byte("hb"))...) // inside a fragmented message
	stream = append(stream, clientFrame(0, false, []byte(`"pu`))...)
	stream = append(stream, clientFrame(0, true, []byte(`ll"}`))...)
	stream = append(stream, clientFrame(websocket.PongMessage, true, nil)...)
	stream = append(stream, clientFrame(websocket.BinaryMessage, true, mid)...)
	stream = append(stream, clientFrame(websocket.TextMessage, true, big)...)
	stream = append(stream, clientFrame(websocket.TextMessage, true, nil)...)
	go func() { _, _ = c.Write(stream) }() // all at once: pipelined frames share reads

	want := []struct {
		typ  int
		data string
	}{{websocket.TextMessage, `{"op":"ping"}`}, {websocket.TextMessage, `{"op":"pull"}`},
		{websocket.BinaryMessage, string(mid)}, {websocket.TextMessage, string(big)}, {websocket.TextMessage, ""}}
	for i, w := range want {
		typ, data := readMsg(t, r)
		if typ != w.typ || data != w.data {
			t.Fatalf("message %d: type %d, %d bytes %.40q; want type %d, %d bytes", i, typ, len(data), data, w.typ, len(w.data))
		}
	}
	if got := *events; len(got) != 2 || got[0] != "ping:hb" || got[1] != "pong" {
		t.Fatalf("control frames: %v", got)
	}
	if r.sock != nil {
		t.Fatal("the socket buffer is held with nothing left to parse")
	}
	_, _ = c.Write(clientFrame(websocket.CloseMessage, true, []byte{0x03, 0xe8}))
	if _, _, _, err := r.next(); !errors.Is(err, errPeerClosed) {
		t.Fatalf("close frame: %v", err)
	}
	if got := *events; got[len(got)-1] != "close:1" {
		t.Fatalf("close not reported: %v", got)
	}
}

// Frames trickling in one byte at a time, or cut anywhere, read the same.
func TestRawReaderChunks(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	r, c, _ := rawPair(t, 1<<16)
	var msgs [][]byte
	var stream []byte
	for i := range 200 {
		m := make([]byte, rng.IntN(400))
		for j := range m {
			m[j] = byte('a' + rng.IntN(26))
		}
		msgs = append(msgs, m)
		if i%3 == 0 && len(m) > 2 { // fragmented in two
			stream = append(stream, clientFrame(websocket.TextMessage, false, m[:len(m)/2])...)
			stream = append(stream, clientFrame(0, true, m[len(m)/2:])...)
		} else {
			stream = append(stream, clientFrame(websocket.TextMessage, true, m)...)
		}
	}
	go func() {
		for len(stream) > 0 {
			n := min(len(stream), 1+rng.IntN(7)*rng.IntN(50))
			if _, err := c.Write(stream[:n]); err != nil {
				return
			}
			stream = stream[n:]
			if rng.IntN(4) == 0 {
				time.Sleep(time.Millisecond) // let the reader park mid-frame (pacing the writer)
			}
		}
	}()
	for i, m := range msgs {
		if _, data := readMsg(t, r); data != string(m) {
			t.Fatalf("message %d: %d bytes, want %d", i, len(data), len(m))
		}
	}
}

func TestRawReaderRefuses(t *testing.T) {
	unmasked := []byte{0x81, 0x02, 'h', 'i'}
	rsv := clientFrame(websocket.TextMessage, true, []byte("hi"))
	rsv[0] |= 0x40
	longPing := clientFrame(websocket.PingMessage, true, bytes.Repeat([]byte("p"), 126))
	fragPing := clientFrame(websocket.PingMessage, false, nil)
	orphan := clientFrame(0, true, []byte("x"))
	nested := append(clientFrame(websocket.TextMessage, false, []byte("a")), clientFrame(websocket.TextMessage, true, []byte("b"))...)
	badOp := clientFrame(3, true, nil)
	tooBig := clientFrame(websocket.TextMessage, true, bytes.Repeat([]byte("z"), 101))
	tooBigFrags := append(clientFrame(websocket.TextMessage, false, bytes.Repeat([]byte("z"), 60)),
		clientFrame(0, true, bytes.Repeat([]byte("z"), 60))...)
	for _, c := range []struct {
		name   string
		stream []byte
		want   error
	}{
		{"unmasked", unmasked, ErrProtocol}, {"rsv bits", rsv, ErrProtocol}, {"long ping", longPing, ErrProtocol},
		{"fragmented ping", fragPing, ErrProtocol}, {"orphan continuation", orphan, ErrProtocol},
		{"message inside a message", nested, ErrProtocol}, {"unknown opcode", badOp, ErrProtocol},
		{"over the limit", tooBig, websocket.ErrReadLimit}, {"fragments over the limit", tooBigFrags, websocket.ErrReadLimit},
		{"16-bit length under 126", frameWithLength(websocket.TextMessage, []byte{126, 0, 5}, "hello"), ErrProtocol},
		{"64-bit length under 65536", frameWithLength(websocket.TextMessage, []byte{127, 0, 0, 0, 0, 0, 0, 0, 5}, "hello"), ErrProtocol},
		{"64-bit length with the top bit", frameWithLength(websocket.TextMessage, []byte{127, 0x80, 0, 0, 0, 0, 0, 0, 5}, ""), ErrProtocol},
		{"close with one byte", clientFrame(websocket.CloseMessage, true, []byte{3}), ErrProtocol},
		{"close 1005", clientFrame(websocket.CloseMessage, true, []byte{0x03, 0xed}), ErrProtocol},
		{"close 999", clientFrame(websocket.CloseMessage, true, []byte{0x03, 0xe7}), ErrProtocol},
		{"close 2000", clientFrame(websocket.CloseMessage, true, []byte{0x07, 0xd0}), ErrProtocol},
		{"close 5000", clientFrame(websocket.CloseMessage, true, []byte{0x13, 0x88}), ErrProtocol},
		{"close reason not UTF-8", clientFrame(websocket.CloseMessage, true, []byte{0x03, 0xe8, 0xff}), ErrCloseReason},
		{"close 4029 with a reason", clientFrame(websocket.CloseMessage, true, []byte("\x0f\xbdbye")), errPeerClosed},
		{"close without status", clientFrame(websocket.CloseMessage, true, nil), errPeerClosed},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, conn, _ := rawPair(t, 100)
			_, _ = conn.Write(c.stream)
			if _, _, _, err := r.next(); !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
	t.Run("eof", func(t *testing.T) {
		r, conn, _ := rawPair(t, 100)
		_, _ = conn.Write(clientFrame(websocket.TextMessage, true, []byte("ok"))[:5]) // cut mid-frame
		conn.Close()
		if _, _, _, err := r.next(); !errors.Is(err, io.EOF) {
			t.Fatalf("got %v, want EOF", err)
		}
	})
}

// A reader allocates nothing per message.
func BenchmarkRawReaderNext(b *testing.B) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	client, _ := net.Dial("tcp", ln.Addr().String())
	defer client.Close()
	server, _ := ln.Accept()
	defer server.Close()
	rc, _ := server.(*net.TCPConn).SyscallConn()
	r := newBlockingReader(b, rc, 1<<16)
	frame := clientFrame(websocket.TextMessage, true, []byte(`{"op":"pull","room":"r1","since":1732280000123456,"id":7}`))
	go func() {
		for i := 0; i < b.N; i++ {
			if _, err := client.Write(frame); err != nil {
				return
			}
		}
	}()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, data, rp, err := r.next()
		if err != nil {
			b.Fatal(err)
		}
		*rp = data[:0]
		PutBuffer(rp)
	}
}

// A write of a shared frame (a notify) allocates nothing.
func BenchmarkRawSocketWrite(b *testing.B) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	client, _ := net.Dial("tcp", ln.Addr().String())
	defer client.Close()
	server, _ := ln.Accept()
	defer server.Close()
	rc, _ := server.(*net.TCPConn).SyscallConn()
	r := NewConn(rc, 1<<16)
	frame := ServerFrame(websocket.TextMessage, []byte(`{"op":"notify","rooms":{"r1":{"ts":1732280000123456,"seq":42}}}`))
	go func() { _, _ = io.Copy(io.Discard, client) }()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for off := 0; off < len(frame); {
			n, err := r.TryWrite(frame[off:])
			if err != nil {
				b.Fatal(err)
			}
			off += n
		}
	}
}

// A read that took less than it had room for found the socket empty: the next Next reports
// would-block without the read that would fail with EAGAIN, once, and reads again after
// that. A read that filled the buffer is no such sign: the reader reads again at once.
func TestRawReaderSkipsTheEmptyRead(t *testing.T) {
	two := append(clientFrame(websocket.TextMessage, true, []byte("a")), clientFrame(websocket.TextMessage, true, []byte("b"))...)
	r := NewConn(fakeRawConn{}, 1<<16)
	var reads int
	var next []byte // what the next read returns; nil: EAGAIN
	fill := false   // the read fills the buffer (from next, then EAGAIN)
	r.readFD = func(_ int, p []byte) (int, error) {
		reads++
		if next == nil {
			return 0, syscall.EAGAIN
		}
		if fill {
			p = p[:min(len(p), len(next))]
		}
		n := copy(p, next)
		next = next[n:]
		if len(next) == 0 {
			next = nil
		}
		return n, nil
	}
	f := func(want string, wantReads int) {
		t.Helper()
		_, data, rp, err := r.Next()
		got := "would block"
		if err == nil {
			got = string(data)
			*rp = data[:0]
			PutBuffer(rp)
		} else if err != ErrWouldBlock {
			got = err.Error()
		}
		if got != want || reads != wantReads {
			t.Fatalf("Next: %q after %d reads, want %q after %d", got, reads, want, wantReads)
		}
	}
	next = two
	f("a", 1)
	f("b", 1)
	f("would block", 1) // the socket was empty at the first read: no second read
	f("would block", 2) // the poller said readable (or did not): this one reads
	next = append(clientFrame(websocket.TextMessage, true, []byte("c")), clientFrame(websocket.TextMessage, true, []byte("d"))...)
	f("c", 3)
	f("d", 3)
	f("would block", 3)
	const many = 2048/7 + 1 // frames of 7 bytes: more than the 2 KB socket buffer holds
	next, fill = bytes.Repeat(clientFrame(websocket.TextMessage, true, []byte("e")), many), true
	for i := range many {
		_, data, rp, err := r.Next()
		if err != nil {
			t.Fatalf("frame %d of %d: %v with %d bytes left in the socket after %d reads", i, many, err, len(next), reads)
		}
		*rp = data[:0]
		PutBuffer(rp)
	}
	if next != nil {
		t.Fatalf("%d bytes left in the socket", len(next))
	}
}

// After a short read the session parks without reading again; bytes that came in between
// are reported by the poller as soon as it is armed again (epoll_ctl MOD looks at the socket),
// so the message is read, not left waiting for the next one.
func TestRawReaderBytesBeforeTheArm(t *testing.T) {
	r, c, _ := rawPair(t, 1<<16)
	if _, err := c.Write(clientFrame(websocket.TextMessage, true, []byte("first"))); err != nil {
		t.Fatal(err)
	}
	if _, data := readMsg(t, r); data != "first" || !r.drained {
		t.Fatalf("read %q, drained %v", data, r.drained)
	}
	if _, err := c.Write(clientFrame(websocket.TextMessage, true, []byte("second"))); err != nil { // queued before the arm
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() { _, data := readMsg(t, r); got <- data }()
	select {
	case data := <-got:
		if data != "second" {
			t.Fatalf("read %q, want second", data)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the bytes written before the arm were never reported")
	}
}
