package loadtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"
)

// upgrade performs the WebSocket opening handshake (RFC 6455 section 4.1) on c for url
// (ws://host/path?query) by hand: it writes the GET and reads the server's answer exactly to
// its blank line, peeking first, so that the frames the server writes right after (hello) stay
// in the socket for the reader that takes the descriptor over (socket.Detach): a buffered
// reader would have read them ahead. It gives up at deadline or when ctx ends.
func upgrade(ctx context.Context, c net.Conn, url string, deadline time.Time) error {
	rest, ok := bytes.CutPrefix([]byte(url), []byte("ws://"))
	if !ok {
		return fmt.Errorf("upgrade: %q is not ws://", url)
	}
	host, path := rest, []byte("/")
	if i := bytes.IndexByte(rest, '/'); i >= 0 {
		host, path = rest[:i], rest[i:]
	}
	_ = c.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	req := make([]byte, 0, 256+len(path))
	req = append(req, "GET "...)
	req = append(req, path...)
	req = append(req, " HTTP/1.1\r\nHost: "...)
	req = append(req, host...)
	// The key's value does not matter to the load test (the server answers with its hash).
	req = append(req, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"...)
	if _, err := c.Write(req); err != nil {
		return err
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return fmt.Errorf("upgrade: %T has no socket", c)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var buf [1024]byte // the answer's head (liveroomd's is about 130 bytes)
	var status []byte
	var rerr error
	err = rc.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK)
		switch {
		case err == syscall.EAGAIN || err == syscall.EINTR:
			return false
		case err != nil:
			rerr = err
			return true
		case n == 0:
			rerr = errors.New("upgrade: connection closed during the handshake")
			return true
		}
		end := bytes.Index(buf[:n], []byte("\r\n\r\n"))
		if end < 0 {
			if n == len(buf) {
				rerr = errors.New("upgrade: the answer's head is over 1 KB")
				return true
			}
			return false // wait for the rest
		}
		if _, err := syscall.Read(int(fd), buf[:end+4]); err != nil { // the head only: peeked, so all there
			rerr = err
			return true
		}
		status = buf[:end]
		return true
	})
	if err != nil {
		return err
	}
	if rerr != nil {
		return rerr
	}
	if !bytes.HasPrefix(status, []byte("HTTP/1.1 101 ")) {
		line, _, _ := bytes.Cut(status, []byte("\r\n"))
		return fmt.Errorf("upgrade: %s", line)
	}
	return c.SetDeadline(time.Time{})
}
