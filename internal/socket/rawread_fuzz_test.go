package socket

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"syscall"
	"testing"
	"unicode/utf8"

	"github.com/fasthttp/websocket"
)

// fuzzMax is the message limit of FuzzRawSocket: small, so that inputs reach it, and over 125
// so that 16-bit lengths are valid.
const fuzzMax = 300

// FuzzRawSocket feeds arbitrary client bytes, cut into arbitrary reads with "would block"
// between them, to the raw frame reader and compares what it reports (messages, pings, pongs,
// a close, and why it stopped) with refFrames, a plain reading of RFC 6455 section 5 over the
// whole stream: the reader never panics, never accepts a frame the RFC forbids, holds the
// message limit, and reads the same whatever the cuts.
func FuzzRawSocket(f *testing.F) {
	frame := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	text := func(s string) []byte { return clientFrame(websocket.TextMessage, true, []byte(s)) }
	for _, seed := range [][]byte{
		text(`{"op":"ping","id":1}`),
		frame(text("a"), clientFrame(websocket.PingMessage, true, []byte("hb")), text("b")),
		frame(clientFrame(websocket.TextMessage, false, []byte(`{"op":`)), clientFrame(websocket.PongMessage, true, nil),
			clientFrame(0, false, []byte(`"pi`)), clientFrame(0, true, []byte(`ng"}`))),
		clientFrame(websocket.BinaryMessage, true, bytes.Repeat([]byte{0xff}, 200)),
		clientFrame(websocket.TextMessage, true, bytes.Repeat([]byte("x"), fuzzMax)),
		clientFrame(websocket.TextMessage, true, bytes.Repeat([]byte("x"), fuzzMax+1)),
		frame(clientFrame(websocket.TextMessage, false, bytes.Repeat([]byte("x"), 200)), clientFrame(0, true, bytes.Repeat([]byte("y"), 101))),
		text("\xff\xfe invalid UTF-8 \xed\xa0\x80"),
		text(`{"body":"\ud800"}`),
		clientFrame(websocket.CloseMessage, true, []byte{0x03, 0xe8}),
		clientFrame(websocket.CloseMessage, true, []byte("\x0f\xbdreplaced")),
		clientFrame(websocket.CloseMessage, true, []byte{0x03, 0xe8, 0xff}),
		clientFrame(websocket.CloseMessage, true, []byte{0x03}),
		clientFrame(websocket.CloseMessage, true, nil),
		{0x81, 0x02, 'h', 'i'}, // unmasked
		frameWithLength(websocket.TextMessage, []byte{126, 0, 5}, "hello"),
		frameWithLength(websocket.TextMessage, []byte{127, 0, 0, 0, 0, 0, 0, 0, 5}, "hello"),
		frameWithLength(websocket.TextMessage, []byte{127, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, ""),
		frameWithLength(websocket.TextMessage, []byte{126, 0x01, 0x00}, string(bytes.Repeat([]byte("z"), 256))),
		clientFrame(3, true, nil), clientFrame(0x0b, true, nil), clientFrame(0, true, []byte("orphan")),
		clientFrame(websocket.PingMessage, false, nil), clientFrame(websocket.PingMessage, true, bytes.Repeat([]byte("p"), 126)),
		frame(clientFrame(websocket.TextMessage, false, []byte("a")), text("b")),
		text(`{"a":` + string(bytes.Repeat([]byte("["), 100)) + `}`),
		text("x")[:4],
		{},
	} {
		f.Add(seed, []byte{})
		f.Add(seed, []byte{0, 1, 2, 0, 6, 0}) // one byte, two, three, ... per read
	}
	for _, seed := range [][]byte{ // a server's frames, for the client reader
		ServerFrame(websocket.TextMessage, []byte(`{"op":"hello"}`)),
		append(ServerFrame(websocket.PingMessage, nil), ServerFrame(websocket.TextMessage, bytes.Repeat([]byte("w"), 200))...),
		ServerFrame(websocket.CloseMessage, []byte{0x03, 0xe9}),
		append([]byte{0x01, 0x01, 'a', 0x89, 0x00}, ServerFrame(0, []byte("b"))...), // fragments around a ping
	} {
		f.Add(seed, []byte{})
		f.Add(seed, []byte{0, 1, 2, 0, 6, 0})
	}
	f.Fuzz(func(t *testing.T, stream, cuts []byte) {
		for _, client := range []bool{false, true} { // a server reading a client, a client reading a server
			want := refFrames(stream, fuzzMax, client)
			got := rawFrames(t, stream, cuts, client)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("client %v, stream %q, cuts %v:\n reader %q\n RFC    %q", client, stream, cuts, got, want)
			}
		}
	})
}

// fakeRawConn runs what Control is given at once; the reader's readFD is faked too.
type fakeRawConn struct{}

func (fakeRawConn) Control(f func(fd uintptr)) error  { f(0); return nil }
func (fakeRawConn) Read(func(fd uintptr) bool) error  { return errors.New("unused") }
func (fakeRawConn) Write(func(fd uintptr) bool) error { return errors.New("unused") }

// rawFrames reads stream with a Conn whose reads return the pieces cuts says (each byte a
// piece of 1 + its value; the rest at once), "would block" after each piece, then end of
// file. It returns what the reader reported, in the form of refFrames.
func rawFrames(t *testing.T, stream, cuts []byte, client bool) []string {
	r := NewConn(fakeRawConn{}, fuzzMax)
	if client {
		r = NewClientConn(fakeRawConn{}, fuzzMax)
		r.ShortReadDrains = true // as the load tester reads; reads the same
	}
	rest, blocked := stream, false
	r.readFD = func(_ int, p []byte) (int, error) {
		if blocked {
			blocked = false
			return 0, syscall.EAGAIN
		}
		if len(rest) == 0 {
			return 0, nil
		}
		n := len(rest)
		if len(cuts) > 0 {
			n = min(n, 1+int(cuts[0]))
			cuts = cuts[1:]
		}
		n = copy(p, rest[:n])
		rest, blocked = rest[n:], true
		return n, nil
	}
	var out []string
	r.OnPing = func(p []byte) { out = append(out, "ping:"+string(p)) }
	r.OnPong = func() { out = append(out, "pong") }
	r.OnClose = func(code int) { out = append(out, "close:"+strconv.Itoa(code)) }
	for range 4 * (len(stream) + 2) { // each piece is one call, and one more for would-block
		before := -1
		if r.sock != nil {
			before = cap(*r.sock)
		}
		typ, data, rp, err := r.Next()
		if err == ErrWouldBlock {
			continue
		}
		// The buffer comes from a pool (whatever other tests left there); the reader itself
		// grows it only to hold one frame: header, mask and at most fuzzMax bytes.
		if r.sock != nil && before != -1 && cap(*r.sock) > before && cap(*r.sock) > fuzzMax+14 {
			t.Fatalf("socket buffer grew from %d to %d bytes", before, cap(*r.sock))
		}
		if err != nil {
			return append(out, "end:"+endOf(err))
		}
		if len(data) > fuzzMax || (typ != websocket.TextMessage && typ != websocket.BinaryMessage) {
			t.Fatalf("message of type %d, %d bytes", typ, len(data))
		}
		out = append(out, opName(typ)+":"+string(data))
		*rp = data[:0]
		PutBuffer(rp)
	}
	t.Fatal("the reader never ended")
	return nil
}

func endOf(err error) string {
	switch {
	case errors.Is(err, io.EOF):
		return "eof"
	case errors.Is(err, ErrProtocol):
		return "protocol"
	case errors.Is(err, websocket.ErrReadLimit):
		return "too large"
	case errors.Is(err, errPeerClosed):
		return "closed"
	case errors.Is(err, ErrCloseReason):
		return "close reason"
	}
	return err.Error()
}

func opName(op int) string {
	if op == websocket.BinaryMessage {
		return "binary"
	}
	return "text"
}

// refFrames reads a client's byte stream (a server's with client) as RFC 6455 section 5 says,
// stopping at the first byte that decides a frame is wrong: no extension (RSV bits 0), masked
// (unmasked from a server), opcodes 0-2 and 8-10,
// control frames unfragmented with at most 125 bytes, the minimal length encoding with the
// top bit of a 64-bit length clear, continuations only inside a fragmented message and no
// new message inside one, messages of at most max bytes in all their fragments, and a close
// frame with no payload or a valid status code (section 7.4) and a UTF-8 reason.
func refFrames(b []byte, max int, client bool) []string {
	var out []string
	end := func(why string) []string { return append(out, "end:"+why) }
	op, msg := -1, []byte(nil)
	for {
		if len(b) < 2 {
			return end("eof")
		}
		fin, code, masked, n := b[0]&0x80 != 0, int(b[0]&0x0f), b[1]&0x80 != 0, uint64(b[1]&0x7f)
		control := code >= 8
		switch {
		case b[0]&0x70 != 0, masked == client:
			return end("protocol")
		case code > 2 && code < 8, code > 10:
			return end("protocol")
		case control && (!fin || n > 125):
			return end("protocol")
		case code == 0 && op == -1, (code == 1 || code == 2) && op != -1:
			return end("protocol")
		}
		ext, ml := map[uint64]int{126: 2, 127: 8}[n], 4
		if client {
			ml = 0
		}
		if len(b) < 2+ext+ml {
			return end("eof")
		}
		switch ext {
		case 2:
			if n = uint64(binary.BigEndian.Uint16(b[2:])); n < 126 {
				return end("protocol")
			}
		case 8:
			if n = binary.BigEndian.Uint64(b[2:]); n < 1<<16 || n>>63 != 0 {
				return end("protocol")
			}
		}
		if !control && uint64(len(msg))+n > uint64(max) {
			return end("too large")
		}
		hdr := 2 + ext + ml
		if uint64(len(b)-hdr) < n {
			return end("eof")
		}
		payload := make([]byte, n)
		for i := range payload {
			payload[i] = b[hdr+i]
			if !client {
				payload[i] ^= b[hdr-4+i%4]
			}
		}
		b = b[hdr+int(n):]
		switch code {
		case websocket.PingMessage:
			out = append(out, "ping:"+string(payload))
		case websocket.PongMessage:
			out = append(out, "pong")
		case websocket.CloseMessage:
			if len(payload) == 0 {
				return append(out, "close:1005", "end:closed")
			}
			if len(payload) == 1 {
				return end("protocol")
			}
			status := int(binary.BigEndian.Uint16(payload))
			if valid := (status >= 1000 && status <= 1003) || (status >= 1007 && status <= 1014) || (status >= 3000 && status <= 4999); !valid {
				return end("protocol")
			}
			if !utf8.Valid(payload[2:]) {
				return end("close reason")
			}
			return append(out, "close:"+strconv.Itoa(status), "end:closed")
		case websocket.TextMessage, websocket.BinaryMessage:
			op, msg = code, payload
		default:
			msg = append(msg, payload...)
		}
		if !control && fin {
			out = append(out, opName(op)+":"+string(msg))
			op, msg = -1, nil
		}
	}
}
