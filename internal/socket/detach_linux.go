//go:build linux

package socket

import (
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// Detach takes c's socket out of the Go runtime: it returns a duplicate of the descriptor
// (close-on-exec, non-blocking like the original: the two share one open file) and closes c,
// which removes the original from the runtime's poller without ending the connection. What c
// had buffered is not carried over: call it when the peer has nothing in flight that c read
// ahead (net.TCPConn reads nothing ahead by itself).
//
// Why: a net.Conn kept for a socket read only through a Conn costs its netFD, its addresses
// and the runtime's poll descriptor (about 0.5 KB), and the runtime's epoll wakes for every
// frame nobody waits for; the load tester's idle viewers keep nothing but the descriptor.
func Detach(c net.Conn) (FD, error) {
	rc := RawConnOf(c)
	if rc == nil {
		return -1, fmt.Errorf("detach: %T has no socket", c)
	}
	nfd, derr := -1, error(nil)
	if err := rc.Control(func(fd uintptr) { nfd, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return -1, fmt.Errorf("detach: %w", err)
	}
	if derr != nil {
		return -1, fmt.Errorf("detach: fcntl: %w", derr)
	}
	_ = c.Close()
	return FD(nfd), nil
}
