package loadtest

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
)

// wsViewer is a viewer in the goroutine IO mode (--viewer-io goroutine): one goroutine per
// viewer reads its websocket.Conn and writes its replies; a late viewer's delayed pulls are
// written from a timer, hence wmu. Every feature of the load tester runs here; it costs about
// 22 KB per viewer (docs/benchmarks.md).
type wsViewer struct {
	viewer
	conn  *websocket.Conn
	wmu   sync.Mutex
	frame msgsFrame

	// Churn (churn.go) closes the joined session's connection from the worker's goroutine.
	cur     atomic.Pointer[websocket.Conn] // the joined session's connection (nil: none)
	churned atomic.Pointer[websocket.Conn] // the connection churn closed
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// run connects, joins, and serves notifies until ctx ends. When a session ends or a dial fails
// it finds its next node (follow.go) and comes back, resuming with join since.
func (v *wsViewer) run(ctx context.Context) {
	v.node, v.avoid, v.backoff = v.id%len(v.w.cfg.urls), -1, 100*time.Millisecond
	for attempt := 0; ctx.Err() == nil; attempt++ {
		if attempt > 0 {
			v.w.c.reconnects.Add(1)
		}
		how := v.session(ctx, time.Now())
		if ctx.Err() != nil || how == endStall {
			return
		}
		if !sleep(ctx, v.after(how)) {
			return
		}
		v.node = v.nextNode(how)
	}
}

// session runs one connection and tells how it ended.
func (v *wsViewer) session(ctx context.Context, start time.Time) (how ending) {
	v.begin(start)
	d := websocket.Dialer{
		ReadBufferSize: 4096, WriteBufferSize: 512, // a window in one read or two
		HandshakeTimeout: 10 * time.Second,
		NetDialContext:   (&net.Dialer{LocalAddr: v.w.localAddr(v.id), Timeout: 10 * time.Second, Control: bindNoPort}).DialContext,
	}
	conn, _, err := d.DialContext(ctx, v.w.cfg.wsURL(v.node, v.uid()), nil)
	if err != nil {
		return endDial
	}
	v.conn = conn
	// Until joined, the server has joinTimeout to answer: a join that hangs (a room whose
	// grain is gone) ends the attempt like a failed dial, instead of holding the viewer.
	_ = conn.SetReadDeadline(time.Now().Add(joinTimeout))
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	defer conn.Close()
	defer func() {
		v.cur.Store(nil)
		v.closeSession()
	}()
	var live *watch
	defer func() { live.stop() }()
	var likeStop, likeDone chan struct{}
	defer func() {
		if likeStop != nil {
			close(likeStop)
			<-likeDone
		}
	}()
	for {
		_, r, err := conn.NextReader()
		if err != nil {
			return v.ended(err)
		}
		bp := bufPool.Get().(*[]byte)
		b, err := readAll((*bp)[:0], r)
		if err != nil {
			*bp = b[:0]
			bufPool.Put(bp)
			return v.ended(err)
		}
		live.seen()
		res, err := v.onFrame(b, &v.frame, v)
		*bp = b[:0]
		bufPool.Put(bp)
		switch res {
		case frameRefused:
			return endDial
		case frameJoined:
			_ = conn.SetReadDeadline(time.Time{})
			if v.slow == slowStop {
				v.stall(ctx, conn)
				return endStall
			}
			v.cur.Store(conn)
			if live == nil {
				live = v.watchLiveness(conn)
			}
			if v.w.cfg.Likes > 0 && likeStop == nil {
				likeStop, likeDone = make(chan struct{}), make(chan struct{})
				go func() { defer close(likeDone); v.like(conn, likeStop) }()
			}
		}
		if err != nil { // a write failed: the connection is gone
			return v.ended(err)
		}
	}
}

// ended tells how a session ended from the error that ended it.
func (v *wsViewer) ended(err error) ending {
	if churned := v.churned.Swap(nil); churned != nil && churned == v.conn {
		return endChurn
	}
	var ce *websocket.CloseError
	var ne net.Error
	code := 0
	if errors.As(err, &ce) && ce.Code != websocket.CloseAbnormalClosure { // 1006: EOF without a close frame
		code = ce.Code
	}
	return endingOf(v.joined, v.shutdown, code, errors.As(err, &ne) && ne.Timeout(), &v.w.c)
}

func readAll(b []byte, r io.Reader) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

func (v *wsViewer) writeFrame(b []byte) error { return v.writeTo(v.conn, b) }

// writeLater writes b after d on the current session's connection (taken now).
func (v *wsViewer) writeLater(d time.Duration, b []byte) {
	conn := v.conn
	time.AfterFunc(d, func() { _ = v.writeTo(conn, b) })
}

func (v *wsViewer) writeTo(conn *websocket.Conn, b []byte) error {
	v.wmu.Lock()
	defer v.wmu.Unlock()
	_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return conn.WriteMessage(websocket.TextMessage, b)
}
