package socket

import (
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
