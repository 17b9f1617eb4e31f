//go:build !linux

package transport

import (
	"errors"
	"syscall"
)

// poller is epoll-only (poller_linux.go). Elsewhere sessions read through websocket.Conn, one
// goroutine each.
type poller struct{}

func newPoller(func(uint64), func(error)) (*poller, error) {
	return nil, errors.New("no epoll on this platform")
}

func (*poller) arm(syscall.RawConn, uint64, bool) error { return errors.ErrUnsupported }

func (*poller) close() {}
