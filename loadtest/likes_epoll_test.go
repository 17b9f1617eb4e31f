//go:build linux

package loadtest

import (
	"bytes"
	"net"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/liveroom/liveroom/internal/socket"
	"github.com/liveroom/liveroom/internal/testwait"
)

// An epoll viewer's adds into a socket that fills: what the socket did not take stays due, an
// add it took part of is finished before anything else (one is set up by hand: the kernel
// decides when a write goes in part), and the adds the peer reads sum to
// exactly the taps counted as written, none lost and none twice, until every tap due is sent.
// The peer reads in odd small pieces.
func TestEpollLikesSocketFull(t *testing.T) {
	fds := tcpPair(t)
	w := &worker{cfg: Config{Likes: 500, LikeBatch: time.Second}}
	w.liking.Store(true)
	v := &epViewer{fd: socket.FD(fds[0]), lt: &epLikes{}}
	v.w, v.room, v.lk = w, "r", &likeCounts{}
	v.conn = socket.NewClientConn(v.fd, 1<<20)
	start := time.Unix(1000, 0)
	v.lt.start = start.UnixNano()
	now := start.Add(10 * time.Minute)           // 300,001 taps due: 3,001 adds, 220 KB: far more than the sockets hold
	due := tapsDue(start, w.cfg.tapEvery(), now) // and the 5 of the add below

	// An add of 5 taps the socket took 10 bytes of, as sendLikes leaves one.
	part := socket.ClientFrame(nil, websocket.TextMessage, v.addFrame(nil, 5), 0x01020304)
	if n, err := syscall.Write(fds[0], part[:10]); n != 10 || err != nil {
		t.Fatal(n, err)
	}
	v.lt.rest, v.lt.restTaps = part[10:], 5
	v.wroteAdd(5)
	due += 5

	var payload, frame []byte
	if err := v.sendLikes(now, &payload, &frame); err != nil {
		t.Fatal(err)
	}
	full := v.lk.offered.Load()
	if len(v.lt.rest) > 0 && v.lt.restTaps == 5 || full <= 5 || full >= due {
		t.Fatalf("%d of %d taps written into a small socket buffer", full, due)
	}
	if err := v.sendLikes(now, &payload, &frame); err != nil || v.lk.offered.Load() != full {
		t.Fatalf("a full socket: %v, %d taps written, had %d", err, v.lk.offered.Load(), full)
	}

	var peer addReader
	round := 0
	testwait.For(t, 20*time.Second, "every tap written", func() bool {
		for range 100 {
			round++
			peer.read(t, fds[1], 37+round%997)
			if err := v.sendLikes(now, &payload, &frame); err != nil {
				t.Fatal(err)
			}
		}
		return v.lk.offered.Load() == due && len(v.lt.rest) == 0
	})
	testwait.For(t, 10*time.Second, "the peer to read every add", func() bool {
		peer.read(t, fds[1], 4096)
		return peer.taps >= due
	})
	if len(peer.buf) != 0 || peer.taps != due || v.lk.offered.Load() != due || v.lt.tapped != due-5 || v.lk.frames.Load() != peer.adds {
		t.Fatalf("peer read %d taps in %d adds (%d bytes left over); viewer wrote %d taps in %d frames, tapped %d; %d due",
			peer.taps, peer.adds, len(peer.buf), v.lk.offered.Load(), v.lk.frames.Load(), v.lt.tapped, due)
	}
	// Taps written well before the session's end are not in doubt; an add not written whole is.
	v.lt.rest, v.lt.restTaps = []byte{1}, 7
	v.endLikes(now.Add(time.Minute))
	if v.lk.doubt.Load() != 7 || v.lt.start != 0 || v.lt.rest != nil {
		t.Fatalf("in doubt %d, state after the end %+v", v.lk.doubt.Load(), v.lt)
	}
}

// tcpPair is a connected pair of non-blocking loopback TCP descriptors (closed by the test's
// end), with small socket buffers.
func tcpPair(t *testing.T) [2]int {
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
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	var fds [2]int
	for i, conn := range []net.Conn{c, s} {
		fd, err := socket.Detach(conn)
		if err != nil {
			t.Fatal(err)
		}
		fds[i] = int(fd)
		t.Cleanup(func() { syscall.Close(int(fd)) })
	}
	_ = syscall.SetsockoptInt(fds[0], syscall.SOL_SOCKET, syscall.SO_SNDBUF, 4096)
	_ = syscall.SetsockoptInt(fds[1], syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
	return fds
}

// addReader decodes the masked add frames a viewer wrote.
type addReader struct {
	buf        []byte
	taps, adds int64
}

// read reads up to n bytes from fd and decodes the whole frames; it returns the bytes read.
func (r *addReader) read(t *testing.T, fd, n int) int {
	t.Helper()
	b := make([]byte, n)
	got, err := syscall.Read(fd, b)
	if err == syscall.EAGAIN {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	r.buf = append(r.buf, b[:got]...)
	for len(r.buf) >= 6 {
		size := int(r.buf[1] & 0x7f) // adds are under 126 bytes
		if r.buf[0] != 0x81 || r.buf[1]&0x80 == 0 || size >= 126 {
			t.Fatalf("not a masked text frame: % x", r.buf[:2])
		}
		if len(r.buf) < 6+size {
			break
		}
		mask, p := r.buf[2:6], append([]byte(nil), r.buf[6:6+size]...)
		for i := range p {
			p[i] ^= mask[i&3]
		}
		const pre = `{"op":"add","room":"r","counter":"likes","delta":`
		if !bytes.HasPrefix(p, []byte(pre)) || p[len(p)-1] != '}' {
			t.Fatalf("not an add: %s", p)
		}
		d, err := strconv.ParseInt(string(p[len(pre):len(p)-1]), 10, 64)
		if err != nil || d < 1 || d > maxAddDelta {
			t.Fatalf("add %s", p)
		}
		r.taps += d
		r.adds++
		r.buf = r.buf[6+size:]
	}
	return got
}
