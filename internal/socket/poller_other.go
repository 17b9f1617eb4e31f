//go:build !linux

package socket

import (
	"errors"
	"net"
	"syscall"
)

// Poller is epoll-only (poller_linux.go). Elsewhere sessions read through websocket.Conn, one
// goroutine each.
type Poller struct{}

// NewPoller fails: there is no epoll.
func NewPoller(func(uint64), func(error)) (*Poller, error) {
	return nil, errors.New("no epoll on this platform")
}

// Arm is never called (NewPoller failed).
func (*Poller) Arm(syscall.RawConn, uint64, bool) error { return errors.ErrUnsupported }

// Close does nothing.
func (*Poller) Close() {}

// Detach is epoll's companion (detach_linux.go): unsupported here.
func Detach(net.Conn) (FD, error) { return -1, errors.ErrUnsupported }
