package socket

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
	"testing"

	"github.com/fasthttp/websocket"
)

// clientPair returns a client Conn on a detached descriptor (as the load tester's viewers
// hold them) and the server end of the connection.
func clientPair(t *testing.T) (*blockingReader, net.Conn, *[]string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	fd, err := Detach(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(int(fd)); server.Close() })
	r := newBlockingReader(t, fd, 1<<20)
	r.Conn = NewClientConn(fd, 1<<20)
	var events []string
	r.OnPing = func(p []byte) { events = append(events, "ping:"+string(p)) }
	r.OnPong = func() { events = append(events, "pong") }
	r.OnClose = func(code int) { events = append(events, "close:"+strconv.Itoa(code)) }
	return r, server, &events
}

// A client Conn reads what a server writes (unmasked frames, fragments, control frames in
// between) from a descriptor detached from its net.Conn, and its ClientFrame writes are what a
// server Conn reads.
func TestClientConnReadsServerFrames(t *testing.T) {
	r, server, events := clientPair(t)
	big := bytes.Repeat([]byte("w"), 70000)
	var stream []byte
	stream = append(stream, ServerFrame(websocket.TextMessage, []byte(`{"op":"hello"}`))...)
	stream = append(stream, 0x01, 0x03, 'a', 'b', 'c') // a text message's first fragment
	stream = append(stream, ServerFrame(websocket.PingMessage, []byte("k"))...)
	stream = append(stream, ServerFrame(0, []byte("def"))...) // its last
	stream = append(stream, ServerFrame(websocket.TextMessage, big)...)
	stream = append(stream, ServerFrame(websocket.CloseMessage, []byte{0x03, 0xe9})...)
	go func() { _, _ = server.Write(stream) }()
	for i, want := range []string{`{"op":"hello"}`, "abcdef", string(big)} {
		if _, got := readMsg(t, r); got != want {
			t.Fatalf("message %d: %d bytes %.30q, want %d", i, len(got), got, len(want))
		}
	}
	if _, _, _, err := r.next(); !errors.Is(err, errPeerClosed) {
		t.Fatalf("after the close frame: %v", err)
	}
	if got := *events; len(got) != 2 || got[0] != "ping:k" || got[1] != "close:1001" {
		t.Fatalf("control frames %q", got)
	}

	// The other way: the client's masked frames, written on the descriptor without waiting.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	fd, err := Detach(c)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(int(fd))
	w := NewClientConn(fd, 1<<20)
	mid := bytes.Repeat([]byte("m"), 300)
	var out []byte
	out = ClientFrame(out, websocket.TextMessage, []byte(`{"op":"join","room":"r","id":1}`), 0x01020304)
	out = ClientFrame(out, websocket.PongMessage, nil, 7)
	out = ClientFrame(out, websocket.TextMessage, mid, 0xdeadbeef)
	if n, err := w.TryWrite(out); n != len(out) || err != nil {
		t.Fatalf("TryWrite: %d of %d, %v", n, len(out), err)
	}
	rc, _ := sc.(*net.TCPConn).SyscallConn()
	sr := newBlockingReader(t, rc, 1<<20)
	pongs := 0
	sr.OnPong = func() { pongs++ }
	for i, want := range []string{`{"op":"join","room":"r","id":1}`, string(mid)} {
		if _, got := readMsg(t, sr); got != want {
			t.Fatalf("server read %d: %.30q", i, got)
		}
	}
	if pongs != 1 {
		t.Fatalf("pongs %d", pongs)
	}
}

// A client refuses what no server may send: a masked frame.
func TestClientConnRefusesMasked(t *testing.T) {
	r, server, _ := clientPair(t)
	_, _ = server.Write(clientFrame(websocket.TextMessage, true, []byte("masked")))
	if _, _, _, err := r.next(); !errors.Is(err, ErrProtocol) {
		t.Fatalf("a masked server frame: %v, want ErrProtocol", err)
	}
}

// With ShortReadDrains a read that filled less than the buffer ends the reading: Next returns
// ErrWouldBlock without reading again, and reads on the call after (once re-armed).
func TestShortReadDrains(t *testing.T) {
	for _, drains := range []bool{false, true} {
		r := NewClientConn(fakeRawConn{}, 1<<16)
		r.ShortReadDrains = drains
		r.OnPing, r.OnPong, r.OnClose = func([]byte) {}, func() {}, func(int) {}
		pending := append(ServerFrame(websocket.TextMessage, []byte("a")), ServerFrame(websocket.TextMessage, []byte("b"))...)
		reads := 0
		r.readFD = func(_ int, p []byte) (int, error) {
			reads++
			if len(pending) == 0 {
				return 0, syscall.EAGAIN
			}
			n := copy(p, pending)
			pending = pending[n:]
			return n, nil
		}
		var got []string
		for range 3 {
			_, data, rp, err := r.Next()
			if err != nil {
				got = append(got, err.Error())
				continue
			}
			got = append(got, string(data))
			*rp = data[:0]
			PutBuffer(rp)
		}
		want, wantReads := "[a b "+ErrWouldBlock.Error()+"]", 2 // the frames, then a read that finds nothing
		if drains {
			wantReads = 1
		}
		if fmt.Sprint(got) != want || reads != wantReads {
			t.Errorf("drains %v: %q after %d reads, want %s after %d", drains, got, reads, want, wantReads)
		}
		if _, _, _, err := r.Next(); err != ErrWouldBlock || reads != wantReads+1 {
			t.Errorf("drains %v: the next call: %v after %d reads, want a read", drains, err, reads)
		}
	}
}
