package transport

import (
	"context"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"

	"github.com/liveroom/liveroom/internal/socket"
	"github.com/liveroom/liveroom/rooms"
)

// wsHub accepts WebSocket sessions (`GET /v1/ws`) and keeps the registry of open ones, sharded
// so that connects and closes do not contend on one lock.
type wsHub struct {
	s        *Server
	upgrader websocket.FastHTTPUpgrader
	nextID   atomic.Uint64
	shards   [64]sessionShard
	wg       sync.WaitGroup     // one per open session, released when its reading has ended
	workers  *socket.WorkerPool // answer frames of sessions with a raw socket
	poll     *socket.Poller     // idle raw sessions wait here for bytes; nil: no epoll
	exp      *expiries          // ends sessions whose token expired
	closing  atomic.Bool
	draining atomic.Bool   // Drain began: no new session is added
	stop     chan struct{} // ends the keepalive sweeper
	swept    chan struct{} // closed when the sweeper has returned
}

type sessionShard struct {
	mu sync.Mutex
	m  map[uint64]*wsSession
}

func newWSHub(s *Server) *wsHub {
	h := &wsHub{s: s, stop: make(chan struct{}), swept: make(chan struct{}), workers: socket.NewWorkerPool(128, 10*time.Second)}
	for i := range h.shards {
		h.shards[i].m = make(map[uint64]*wsSession)
	}
	// Measured on this box: 256-byte buffers with a write buffer pool bring an idle
	// connection from ~14 KB to ~6.6 KB.
	h.upgrader = websocket.FastHTTPUpgrader{
		ReadBufferSize:   s.cfg.ReadBufferSize,
		WriteBufferSize:  s.cfg.WriteBufferSize,
		WriteBufferPool:  &sync.Pool{},
		HandshakeTimeout: 10 * time.Second,
		CheckOrigin:      func(*fasthttp.RequestCtx) bool { return true }, // auth is the token, not the origin
	}
	if p, err := socket.NewPoller(h.ready, func(err error) { s.log.Error("session poller stopped", "err", err) }); err == nil {
		h.poll = p
	} else {
		s.log.Info("sessions read through websocket.Conn, one goroutine each", "reason", err)
	}
	h.exp = newExpiries(func(sess *wsSession) {
		s.metrics.Kicks.WithLabelValues("expired").Inc()
		sess.kickSession("expired")
	})
	go h.keepalive(s.cfg.PingInterval)
	return h
}

// ready is the poller telling that a parked session's socket is readable: a worker serves it.
func (h *wsHub) ready(id uint64) {
	sh := h.shard(id)
	sh.mu.Lock()
	sess := sh.m[id]
	sh.mu.Unlock()
	if sess != nil && sess.pstate.CompareAndSwap(stArmed, stServing) {
		h.workers.Run(sess.serveNext)
	}
}

// keepalive pings the sessions that were silent since the previous sweep (a WebSocket ping,
// answered by the client's pong) and closes those that sent nothing for three intervals: peers
// that vanished without a FIN do not hold a session forever. One goroutine for all sessions;
// a session busy writing is skipped this time.
//
// Why only the silent ones: a session that sent anything (a pong included) during the last
// interval is known to be alive. An idle viewer is then pinged every second sweep instead of
// every one, and its silence never passes two intervals, under the three that close it. The
// pings and their pongs were two thirds of an idle node's CPU (19,000 idle viewers: 0.9 CPU-s
// in 30 s, docs/benchmarks.md "Many small rooms").
func (h *wsHub) keepalive(every time.Duration) {
	defer close(h.swept)
	t := time.NewTicker(every)
	defer t.Stop()
	var all []*wsSession
	prev := time.Now().UnixNano() // the previous sweep (the first one: the hub's start)
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
		}
		now := time.Now()
		dead := now.Add(-3 * every).UnixNano()
		for i := range h.shards {
			sh := &h.shards[i]
			all = all[:0]
			sh.mu.Lock()
			for _, sess := range sh.m {
				all = append(all, sess)
			}
			sh.mu.Unlock()
			for _, sess := range all {
				switch last := sess.lastRead.Load(); {
				case last < dead:
					go sess.closeWith(CloseNormal, "no traffic")
				case last < prev:
					sess.ping()
				}
			}
		}
		clear(all)
		prev = now.UnixNano()
	}
}

func (h *wsHub) shard(id uint64) *sessionShard { return &h.shards[id%uint64(len(h.shards))] }

// serve authenticates, applies the connection limits and upgrades (PROTOCOL.md sections 3, 6).
func (h *wsHub) serve(ctx *fasthttp.RequestCtx) {
	s := h.s
	if h.closing.Load() {
		writeError(ctx, rooms.Errorf(rooms.CodeUnavailable, "server is shutting down"))
		return
	}
	if h.draining.Load() {
		writeError(ctx, errDraining)
		return
	}
	now := time.Now()
	if !s.abuse.AllowIP(s.clientIP(ctx), now) {
		s.metrics.ConnRejected.WithLabelValues("ip_rate").Inc()
		writeError(ctx, rooms.Errorf(rooms.CodeRateLimited, "too many connection attempts from this address"))
		return
	}
	if !s.originAllowed(ctx) {
		s.metrics.ConnRejected.WithLabelValues("origin").Inc()
		writeError(ctx, rooms.Errorf(rooms.CodeForbidden, "origin not allowed (--cors-origins)"))
		return
	}
	viewer, err := s.auth.Viewer(ctx)
	if err != nil {
		s.metrics.ConnRejected.WithLabelValues("unauthorized").Inc()
		writeError(ctx, err)
		return
	}
	if s.eng.UserBanned(viewer.UID) {
		s.metrics.ConnRejected.WithLabelValues("banned").Inc()
		writeError(ctx, rooms.Errorf(rooms.CodeBanned, "banned from every room"))
		return
	}
	if !s.abuse.AllowUID(viewer.UID, now) {
		s.metrics.ConnRejected.WithLabelValues("uid_rate").Inc()
		writeError(ctx, rooms.Errorf(rooms.CodeRateLimited, "too many connection attempts for this user"))
		return
	}
	var rc syscall.RawConn
	if h.poll != nil {
		// ctx.Conn is the accepted connection (fasthttp hands the hijacked one over wrapped). A
		// client may not send frames before it has the handshake's answer (RFC 6455 section
		// 4.1), so no frame bytes sit in fasthttp's buffer.
		rc = sessionSocket(ctx.Conn())
	}
	lc := limitedOf(ctx.Conn()) // the hijacked connection comes wrapped: take it here
	err = h.upgrader.Upgrade(ctx, func(conn *websocket.Conn) {
		if lc != nil {
			lc.release() // a session is not an HTTP connection: its limits are abuse.go's
		}
		socket.SetSendBuffer(rc, s.cfg.SendBuffer)
		sess := newSession(h, conn, rc, viewer)
		if err := s.eng.Connect(sess); err != nil {
			if rooms.CodeOf(err) == rooms.CodeBanned { // banned while upgrading
				sess.refuse(CloseBanned, "banned")
				return
			}
			sess.closeWith(CloseGoingAway, "shutting down")
			return
		}
		// Registered before the hello, so that a shutdown that starts once the client has seen
		// the hello always finds (and kicks) the session.
		if !h.add(sess) {
			sess.kickSession("shutdown")
			return
		}
		if viewer.Exp > 0 {
			h.exp.set(sess, viewer.Exp)
		}
		if !sess.sayHello() {
			h.wg.Done()
			return
		}
		sess.start()
	})
	if err != nil {
		s.log.Debug("websocket upgrade failed", "err", err)
	}
}

// add registers a session; false once the hub is shutting down (checked under the shard lock
// that shutdown's snapshot takes too, so no session slips between them).
func (h *wsHub) add(sess *wsSession) bool {
	sh := h.shard(sess.id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if h.closing.Load() || h.draining.Load() {
		return false
	}
	h.wg.Add(1)
	sh.m[sess.id] = sess
	return true
}

func (h *wsHub) remove(sess *wsSession) {
	sh := h.shard(sess.id)
	sh.mu.Lock()
	delete(sh.m, sess.id)
	sh.mu.Unlock()
}

// count returns the number of open sessions.
func (h *wsHub) count() int {
	n := 0
	for i := range h.shards {
		sh := &h.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}

// shutdown kicks every session with reason "shutdown" (close 1001) and waits for their
// goroutines, or for ctx.
func (h *wsHub) shutdown(ctx context.Context) {
	if h.closing.CompareAndSwap(false, true) {
		close(h.stop)
	}
	<-h.swept
	h.exp.close()
	var all []*wsSession
	for i := range h.shards {
		sh := &h.shards[i]
		sh.mu.Lock()
		for _, sess := range sh.m {
			all = append(all, sess)
		}
		sh.mu.Unlock()
	}
	// Kick in parallel (bounded): one slow peer must not hold up everyone else's kick.
	sem := make(chan struct{}, 64)
	var kicks sync.WaitGroup
	for _, sess := range all {
		sem <- struct{}{}
		kicks.Add(1)
		go func(sess *wsSession) {
			defer kicks.Done()
			defer func() { <-sem }()
			sess.kickSession("shutdown")
		}(sess)
	}
	kicks.Wait()
	done := make(chan struct{})
	go func() {
		h.wg.Wait()
		h.workers.Stop()
		if h.poll != nil {
			h.poll.Close()
		}
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
}
