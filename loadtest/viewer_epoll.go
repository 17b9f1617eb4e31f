package loadtest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/liveroom/liveroom/internal/socket"
)

// The epoll IO mode (--viewer-io epoll): a million viewers on one machine need viewers that
// cost little. A goroutine viewer holds a parked goroutine, a websocket.Conn with its bufio
// buffers and a net.Conn with the runtime's poll descriptor: 22.6 KB of the tester's RSS per
// viewer at 19k (docs/benchmarks.md). Here a viewer is a small struct and a socket descriptor
// taken out of its net.Conn (socket.Detach); its socket waits in one epoll set per worker
// (socket.Poller, as the server's sessions do) and a few handler goroutines read what the
// poller reports with the server's own frame reader in client mode (socket.NewClientConn:
// socket bytes in pooled buffers only while a frame is incomplete) and write the small replies
// (join, pull, pong) without waiting. The frames are handled by the viewer code both modes
// share (viewer.go).
//
// Who runs what: connecting is a bounded pool of dialer goroutines (a dial and the upgrade
// block; route look-ups too), fed by the connect ticker and by the reconnect timers; a
// viewer's session is then served by whichever handler the poller's event reaches. Each
// viewer's state is guarded by its mu, held by the dialer during an attempt, by a handler
// while it serves an event, by the join deadline's timer and by the final report. An event or
// a timer carries the session's generation: one from an ended session finds another and does
// nothing. With --likes, one wheel per worker hands the viewers whose taps are due to the
// handlers, which write their adds (likes_epoll.go). Not supported here (refused by
// Config.validate): --churn, --slow, --liveness.

// epollDialers bounds the connection attempts a worker has in flight (each one a goroutine).
const epollDialers = 128

// epollHandlers is how many goroutines serve a worker's sockets: one per core.
func epollHandlers() int { return max(1, runtime.GOMAXPROCS(0)) }

// maxServerFrame bounds a message a viewer reads (a window of pull_limit messages is tens of KB).
const maxServerFrame = 16 << 20

// errSendFull: a write found the socket's send buffer full. A viewer writes one small frame at
// a time and at most one pull in flight, so the server is not reading: the session ends.
var errSendFull = errors.New("socket send buffer full")

// epollIO is a worker's viewers in the epoll mode.
type epollIO struct {
	w      *worker
	ctx    context.Context
	poller *socket.Poller
	views  []*epViewer    // by viewer id - First, all made before any goroutine starts
	events chan uint64    // poller -> handlers
	dials  dialQueue      // viewers due for a connection attempt
	wg     sync.WaitGroup // handlers
	dwg    sync.WaitGroup // dialers
	lwg    sync.WaitGroup // the likes wheel (--likes)
}

// epViewer is a viewer in the epoll mode.
type epViewer struct {
	viewer
	io        *epollIO
	fd        socket.FD    // the session's socket (-1: none)
	conn      *socket.Conn // reads and writes fd (nil: no session)
	gen       uint32       // the session's generation (events and timers carry it)
	tried     bool         // an attempt was made: the next is a reconnection
	how       ending       // how the last session ended (the next attempt's nextNode)
	closeCode int          // the server's close frame in this session (0: none)
	timer     *time.Timer  // the join deadline (nil once joined)
	lt        *epLikes     // --likes only (likes_epoll.go)
}

// newEpollIO makes the worker's viewers and starts the poller, the handlers and the dialers;
// stop ends them.
func newEpollIO(ctx context.Context, w *worker) (*epollIO, error) {
	io := &epollIO{w: w, ctx: ctx, events: make(chan uint64, 4096)}
	io.dials.cond.L = &io.dials.mu
	p, err := socket.NewPoller(func(id uint64) { io.events <- id }, func(err error) {
		fmt.Fprintln(os.Stderr, "loadtest: epoll:", err)
	})
	if err != nil {
		return nil, fmt.Errorf("--viewer-io epoll: %w", err)
	}
	io.poller = p
	cfg := &w.cfg
	io.views = make([]*epViewer, cfg.Count)
	for i := range io.views {
		v := &epViewer{io: io, fd: -1}
		w.initViewer(&v.viewer, cfg.First+i)
		if cfg.Likes > 0 {
			v.lt = &epLikes{}
		}
		io.views[i] = v
		w.viewers = append(w.viewers, &v.viewer)
	}
	for range epollHandlers() {
		io.wg.Add(1)
		go func() { defer io.wg.Done(); io.handle() }()
	}
	for range min(epollDialers, max(cfg.Count, 1)) {
		io.dwg.Add(1)
		go func() { defer io.dwg.Done(); io.dial() }()
	}
	if cfg.Likes > 0 {
		wh := newLikeWheel(cfg.Count, cfg.likeEvery())
		io.lwg.Add(1)
		go func() { defer io.lwg.Done(); io.turn(ctx, wh) }()
	}
	return io, nil
}

// connectAll queues the viewers' first attempts at the worker's share of the connect rate.
func (io *epollIO) connectAll(ctx context.Context) {
	cfg := &io.w.cfg
	perSec := max(1, cfg.Connect*cfg.Count/max(cfg.Viewers, 1))
	t := time.NewTicker(time.Second / time.Duration(perSec))
	defer t.Stop()
	for _, v := range io.views {
		io.dials.push(v)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// stop ends the attempts, the likes wheel, the poller and the handlers, then every session
// (ctx has ended: none is attempted again).
func (io *epollIO) stop() {
	io.dials.close()
	io.dwg.Wait()
	io.lwg.Wait()
	io.poller.Close()
	close(io.events)
	io.wg.Wait()
	for _, v := range io.views {
		v.mu.Lock()
		if v.conn != nil {
			v.end(endLost)
		}
		v.mu.Unlock()
	}
}

// dial runs the connection attempts due, one at a time, until the queue is closed.
func (io *epollIO) dial() {
	for {
		v := io.dials.pop()
		if v == nil {
			return
		}
		v.mu.Lock()
		if io.ctx.Err() == nil {
			v.attempt()
		}
		v.mu.Unlock()
	}
}

// attempt dials the viewer's node, upgrades, and parks the socket in the poller (v.mu held).
func (v *epViewer) attempt() {
	w := v.w
	if v.tried {
		v.node = v.nextNode(v.how)
		w.c.reconnects.Add(1)
	} else {
		v.node, v.avoid, v.backoff, v.tried = v.id%len(w.cfg.urls), -1, 100*time.Millisecond, true
	}
	v.begin(time.Now())
	url := w.cfg.wsURL(v.node, v.uid())
	d := net.Dialer{LocalAddr: w.localAddr(v.id), Timeout: 10 * time.Second, Control: bindNoPort}
	c, err := d.DialContext(v.io.ctx, "tcp", w.cfg.hosts[v.node%len(w.cfg.hosts)])
	if err != nil {
		v.end(endDial)
		return
	}
	if err := upgrade(v.io.ctx, c, url, time.Now().Add(10*time.Second)); err != nil {
		_ = c.Close()
		v.end(endDial)
		return
	}
	fd, err := socket.Detach(c)
	if err != nil {
		_ = c.Close()
		v.end(endDial)
		return
	}
	v.gen++
	gen := v.gen
	v.fd, v.conn, v.closeCode = fd, socket.NewClientConn(fd, maxServerFrame), 0
	v.conn.ShortReadDrains = true // re-armed one-shot on ErrWouldBlock (serve)
	v.conn.OnPing = func(p []byte) {
		_ = v.write(socket.ClientFrame(make([]byte, 0, 6+len(p)), websocket.PongMessage, p, rand.Uint32()))
	}
	v.conn.OnPong = func() {}
	v.conn.OnClose = func(code int) { v.closeCode = code }
	v.timer = time.AfterFunc(joinTimeout, func() { v.joinExpired(gen) })
	if err := v.io.poller.Arm(fd, v.eventID(), true); err != nil {
		v.end(endDial)
	}
}

// eventID is what the poller reports for the current session: the viewer's index + 1 and
// the session's generation.
func (v *epViewer) eventID() uint64 { return uint64(v.id-v.w.cfg.First+1) | uint64(v.gen)<<32 }

// joinExpired ends a session that got no joined within joinTimeout.
func (v *epViewer) joinExpired(gen uint32) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.gen == gen && v.conn != nil && !v.joined {
		v.end(endingOf(false, false, 0, true, &v.w.c))
	}
}

// end closes the session (v.mu held) and, unless the run is over, schedules the next attempt
// after the pause the ending calls for.
func (v *epViewer) end(how ending) {
	if v.timer != nil {
		v.timer.Stop()
		v.timer = nil
	}
	if v.fd >= 0 {
		_ = syscall.Close(int(v.fd)) // leaves the epoll set with it: no other descriptor shares its file
		v.fd, v.conn = -1, nil
	}
	v.endLikes(time.Now())
	v.closeSession()
	if v.io.ctx.Err() != nil {
		return
	}
	v.how = how
	time.AfterFunc(v.after(how), func() { v.io.dials.push(v) })
}

// write writes one whole frame without waiting (v.mu held), after the rest of an add the
// socket took only part of (likes_epoll.go).
func (v *epViewer) write(frame []byte) error {
	if v.lt != nil {
		if err := v.flushRest(time.Now()); err != nil {
			return err
		}
		if len(v.lt.rest) > 0 {
			return errSendFull
		}
	}
	n, err := v.conn.TryWrite(frame)
	if err == nil && n < len(frame) {
		err = errSendFull
	}
	return err
}

// handle serves the poller's and the likes wheel's events until the channel is closed.
func (io *epollIO) handle() {
	h := &epHandler{io: io}
	for id := range io.events {
		if uint32(id)&likeEvent != 0 {
			h.like(id)
		} else {
			h.serve(id)
		}
	}
}

// epHandler is one handler goroutine's scratch: the decoded window and the frame being
// written, shared by every viewer it serves.
type epHandler struct {
	io    *epollIO
	frame msgsFrame
	wbuf  []byte
	add   []byte    // an add's payload (likes_epoll.go)
	v     *epViewer // the viewer being served
}

// serve reads the viewer's frames until the socket has no complete one, then re-arms it.
func (h *epHandler) serve(id uint64) {
	v := h.io.views[uint32(id)-1]
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.gen != uint32(id>>32) || v.conn == nil {
		return // an earlier session's event
	}
	h.v = v
	for {
		_, data, rp, err := v.conn.Next()
		if err == socket.ErrWouldBlock {
			if err := h.io.poller.Arm(v.fd, id, false); err != nil {
				v.end(v.ending())
			}
			return
		}
		if err != nil {
			v.end(v.ending())
			return
		}
		res, werr := v.onFrame(data, &h.frame, h)
		*rp = data[:0]
		socket.PutBuffer(rp)
		switch {
		case res == frameRefused:
			v.end(endDial)
			return
		case werr != nil:
			v.end(v.ending())
			return
		case res == frameJoined:
			if v.timer != nil {
				v.timer.Stop()
				v.timer = nil
			}
			v.startLikes(time.Now())
		}
	}
}

// ending tells how the session ended when its connection did.
func (v *epViewer) ending() ending {
	return endingOf(v.joined, v.shutdown, v.closeCode, false, &v.w.c)
}

// writeFrame writes a text frame of the viewer being served.
func (h *epHandler) writeFrame(b []byte) error {
	h.wbuf = socket.ClientFrame(h.wbuf[:0], websocket.TextMessage, b, rand.Uint32())
	return h.v.write(h.wbuf)
}

// writeLater writes a text frame of the viewer being served after d, on the same session.
func (h *epHandler) writeLater(d time.Duration, b []byte) {
	v := h.v
	frame, gen := socket.ClientFrame(nil, websocket.TextMessage, b, rand.Uint32()), v.gen
	time.AfterFunc(d, func() {
		v.mu.Lock()
		defer v.mu.Unlock()
		if v.gen == gen && v.conn != nil {
			_ = v.write(frame) // a failure shows in the next read
		}
	})
}

// dialQueue is the viewers due for an attempt, in order; pop waits for one.
type dialQueue struct {
	mu     sync.Mutex
	cond   sync.Cond
	q      []*epViewer
	closed bool
}

func (d *dialQueue) push(v *epViewer) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.closed {
		d.q = append(d.q, v)
		d.cond.Signal()
	}
}

// pop returns the next viewer, waiting for one; nil once closed.
func (d *dialQueue) pop() *epViewer {
	d.mu.Lock()
	defer d.mu.Unlock()
	for len(d.q) == 0 && !d.closed {
		d.cond.Wait()
	}
	if d.closed {
		return nil
	}
	v := d.q[0]
	d.q[0] = nil
	d.q = d.q[1:]
	return v
}

func (d *dialQueue) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	d.q = nil
	d.cond.Broadcast()
}
