package socket

import (
	"errors"
	"net"
	"syscall"
)

// RawConnOf is the socket under c, or nil when c has none (TLS, a test listener's pipe): the
// session then reads through websocket.Conn.
func RawConnOf(c net.Conn) syscall.RawConn {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// SetSendBuffer bounds the socket's send buffer (SO_SNDBUF): what the kernel holds for a
// viewer that does not read. A nil rc or a size <= 0 leaves it as it is.
func SetSendBuffer(rc syscall.RawConn, size int) {
	if rc == nil || size <= 0 {
		return
	}
	_ = rc.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF, size) })
}

// FD is a socket descriptor with no net.Conn around it (and so none of the runtime's poller
// state): its owner reads and writes it through a Conn and waits on it in a Poller, and closes
// it with syscall.Close once nothing uses it any more. Control runs f on the descriptor at
// once; the owner serialises Control with the close. The load tester's viewers hold one each
// (Detach).
type FD int

// Control runs f on the descriptor.
func (fd FD) Control(f func(fd uintptr)) error {
	f(uintptr(fd))
	return nil
}

// Read is not supported: an FD is read without waiting (Conn) and waited on with a Poller.
func (FD) Read(func(fd uintptr) bool) error { return errors.ErrUnsupported }

// Write is not supported: an FD is written without waiting (Conn.TryWrite).
func (FD) Write(func(fd uintptr) bool) error { return errors.ErrUnsupported }
