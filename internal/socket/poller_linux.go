//go:build linux

package socket

import (
	"errors"
	"fmt"
	"sync"
	"syscall"
)

// Poller waits for client bytes on every idle session with one epoll instance, so that an
// idle viewer holds no goroutine (a parked reader cost a 2 KB stack and a 0.4 KB descriptor
// per session; measured in docs/decisions.md).
//
// A session is registered one-shot: when its socket turns readable, the poller hands it to a
// worker (ready) and the registration stays disabled until the worker has read everything and
// arms it again. The sockets stay in Go's own netpoller too, which the writes use; reads go
// straight to the socket (Conn, rawread.go). Events carry the session id, not the descriptor: an
// event that comes after its session closed finds nothing.
type Poller struct {
	epfd  int
	wake  [2]int // a pipe whose read end is registered with id 0: written by Close
	ready func(id uint64)
	fail  func(error)   // the loop ended on an error (none is expected)
	done  chan struct{} // closed when the loop has returned
	close sync.Once     // the descriptors are closed once: their numbers are reused after that
}

// NewPoller starts the epoll loop; ready is called on the loop's goroutine for each session
// id whose socket turned readable and must not block. fail is told if epoll_wait fails. Ids
// are not 0 (the loop's own wake-up).
func NewPoller(ready func(id uint64), fail func(error)) (*Poller, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	p := &Poller{epfd: epfd, ready: ready, fail: fail, done: make(chan struct{})}
	if err := syscall.Pipe2(p.wake[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		syscall.Close(epfd)
		return nil, fmt.Errorf("pipe2: %w", err)
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, p.wake[0], &ev); err != nil {
		p.closeFDs()
		return nil, fmt.Errorf("epoll_ctl: %w", err)
	}
	go p.loop()
	return p, nil
}

func (p *Poller) closeFDs() {
	syscall.Close(p.wake[0])
	syscall.Close(p.wake[1])
	syscall.Close(p.epfd)
}

func (p *Poller) loop() {
	defer close(p.done)
	events := make([]syscall.EpollEvent, 256)
	for {
		n, err := syscall.EpollWait(p.epfd, events, -1)
		if err != nil {
			if err == syscall.EINTR {
				continue
			}
			p.fail(fmt.Errorf("epoll_wait: %w", err)) // EBADF/EINVAL: a bug, not a condition
			return
		}
		for _, ev := range events[:n] {
			id := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			if id == 0 {
				return
			}
			p.ready(id)
		}
	}
}

// Arm (re-)registers the session's socket for one readable event; first says it is not
// registered yet. Arm may be called from any goroutine. It runs under RawConn.Control: the descriptor cannot be closed (and its
// number reused by another connection) meanwhile, and a closed connection fails here.
func (p *Poller) Arm(rc syscall.RawConn, id uint64, first bool) error {
	op := syscall.EPOLL_CTL_MOD
	if first {
		op = syscall.EPOLL_CTL_ADD
	}
	ev := syscall.EpollEvent{
		Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT,
		Fd:     int32(uint32(id)), Pad: int32(uint32(id >> 32)),
	}
	var cerr error
	if err := rc.Control(func(fd uintptr) { cerr = syscall.EpollCtl(p.epfd, op, int(fd), &ev) }); err != nil {
		return err
	}
	if cerr != nil {
		return fmt.Errorf("epoll_ctl: %w", cerr)
	}
	return nil
}

// Close ends the loop and releases the epoll instance. Sessions' sockets leave the set when
// they are closed; the caller closes them first. A second Close does nothing: writing to or
// closing the released numbers again would hit whatever holds them now (a server shut down
// twice closed the next server's epoll instance).
func (p *Poller) Close() {
	p.close.Do(func() {
		for {
			_, err := syscall.Write(p.wake[1], []byte{1})
			if !errors.Is(err, syscall.EINTR) {
				break
			}
		}
		<-p.done
		p.closeFDs()
	})
}
