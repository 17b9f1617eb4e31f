package loadtest

import (
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
)

// Liveness (--liveness D, off by default): a node frozen by SIGSTOP keeps its connections
// open and silent, so its viewers would wait as long as it stays frozen. With D set, a
// joined session that has received nothing for D sends {"op":"ping"} (the server answers
// pong), and one silent for 2 D is closed from here: it ends as a lost session (the node is
// avoided, the route asked, the viewer resumes). One timer per session; the reader's only
// cost is an atomic store of the time per frame. Not for stalled viewers (they do not read).

// watch is one session's liveness timer.
type watch struct {
	v        *wsViewer
	conn     *websocket.Conn
	period   time.Duration
	last     atomic.Int64 // unix ns of the latest frame received
	stopped  atomic.Bool  // the session ended (or the timer closed it)
	timer    *time.Timer
	pingedAt int64 // unix ns of the unanswered ping (0: none); owned by the timer's goroutine
}

// watchLiveness starts the timer of a joined session (nil when liveness is off); stop it when
// the session ends.
func (v *wsViewer) watchLiveness(conn *websocket.Conn) *watch {
	d := v.w.cfg.Liveness
	if d <= 0 {
		return nil
	}
	lw := &watch{v: v, conn: conn, period: d}
	lw.last.Store(time.Now().UnixNano())
	lw.timer = time.AfterFunc(d, lw.check)
	return lw
}

// seen records a frame (nil-safe: nothing when liveness is off).
func (lw *watch) seen() {
	if lw != nil {
		lw.last.Store(time.Now().UnixNano())
	}
}

// stop ends the watch (nil-safe); a check already running returns or re-arms a timer that
// then returns at once.
func (lw *watch) stop() {
	if lw != nil {
		lw.stopped.Store(true)
		lw.timer.Stop()
	}
}

// check runs on the timer: a session silent for the period is pinged; one whose ping got no
// frame back within another period is closed.
func (lw *watch) check() {
	if lw.stopped.Load() {
		return
	}
	now, last := time.Now().UnixNano(), lw.last.Load()
	if lw.pingedAt != 0 && last >= lw.pingedAt {
		lw.pingedAt = 0 // answered (by the pong or any frame)
	}
	silent := time.Duration(now - last)
	switch {
	case silent < lw.period:
		lw.timer.Reset(lw.period - silent)
	case lw.pingedAt == 0:
		lw.pingedAt = now
		_ = lw.v.writeTo(lw.conn, pingFrame)
		lw.timer.Reset(lw.period)
	case time.Duration(now-lw.pingedAt) < lw.period:
		lw.timer.Reset(lw.period - time.Duration(now-lw.pingedAt))
	default: // the ping unanswered for a period: the node is gone or frozen
		if lw.stopped.CompareAndSwap(false, true) {
			lw.v.w.c.silentEnds.Add(1)
			_ = lw.conn.Close()
		}
	}
}

var pingFrame = []byte(`{"op":"ping"}`)
