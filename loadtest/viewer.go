package loadtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
)

// Slow modes of a viewer.
const (
	slowNone  = iota
	slowLate  // pulls a random 0.5-3 s after each notify: exercises merging and retries
	slowNever // never pulls: gets kicked as unresponsive and comes back
	slowStop  // stops reading after joined (stall.go)
)

// viewer is one simulated client. Its goroutine reads the connection and writes the pulls;
// a late viewer's delayed pulls are written from a timer, hence wmu.
type viewer struct {
	w     *worker
	id    int
	uid   string
	room  string
	class int // of its room's size (roomsizes.go)
	slow  int

	conn *websocket.Conn
	wmu  sync.Mutex

	// Which node, and when to come back (follow.go).
	node       int           // the node of the current or next attempt
	avoid      int           // a node just lost: not where a stale route should send it back
	avoidUntil int64         // unix ns
	backoff    time.Duration // the next failed attempt's backoff bound
	retryMS    int64         // a kick's retry_ms: the next attempt waits a random part of it
	shutdown   bool          // this session was kicked with reason shutdown
	lostAt     int64         // unix ns when its last joined session ended (0: joined, or never)
	lostChurn  bool          // that session was ended by churn

	// Churn (churn.go) closes the joined session's connection from the worker's goroutine.
	cur     atomic.Pointer[websocket.Conn] // the joined session's connection (nil: none)
	churned atomic.Pointer[websocket.Conn] // the connection churn closed

	since     int64  // the next pull's since (last next)
	accounted uint64 // seq accounted for so far (msgs + dropped)
	epoch     string
	everIn    bool    // joined at least once
	joinedAt  int64   // room head ts at the first join: notices after it must all arrive
	sysTS     []int64 // ts of the system notices received
	pending   bool    // a pull is in flight
	pullID    int64
	frame     msgsFrame

	// Counters (counters.go): written by the session's goroutines, read by the worker's.
	likes    atomic.Int64 // the likes total of the last frame that carried one
	hasLikes atomic.Bool
	offered  atomic.Int64 // taps written (the adds' deltas summed)
	frames   atomic.Int64 // add frames written
	doubt    atomic.Int64 // taps written just before their session ended
	// Refusals (an error without id) do not say which add they refuse: the taps refused are
	// between refused (the smallest delta written, each) and refusedMax (the largest).
	refused            atomic.Int64
	refusedMax         atomic.Int64
	refusedFrames      atomic.Int64
	minDelta, maxDelta atomic.Int64 // of the adds written
}

// joinTimeout bounds a session's dial-to-joined (the handshake has its own 10 s); a var for
// the tests.
var joinTimeout = 10 * time.Second

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// run connects, joins, and serves notifies until ctx ends. When a session ends or a dial fails
// it finds its next node (follow.go) and comes back, resuming with join since.
func (v *viewer) run(ctx context.Context) {
	v.node, v.avoid, v.backoff = v.id%len(v.w.cfg.urls), -1, 100*time.Millisecond
	for attempt := 0; ctx.Err() == nil; attempt++ {
		if attempt > 0 {
			v.w.c.reconnects.Add(1)
		}
		joined, how := v.session(ctx, time.Now())
		if ctx.Err() != nil || how == endStall {
			return
		}
		if joined {
			v.lostAt, v.lostChurn = time.Now().UnixNano(), how == endChurn
		} else {
			v.w.c.dialFails.Add(1)
		}
		if !sleep(ctx, v.pause(how, joined)) {
			return
		}
		v.node = v.nextNode(how)
	}
}

// session runs one connection: whether it was joined, and how it ended.
func (v *viewer) session(ctx context.Context, start time.Time) (joined bool, how ending) {
	d := websocket.Dialer{
		ReadBufferSize: 4096, WriteBufferSize: 512, // a window in one read or two
		HandshakeTimeout: 10 * time.Second,
		NetDialContext:   (&net.Dialer{LocalAddr: v.w.localAddr(v.id), Timeout: 10 * time.Second, Control: bindNoPort}).DialContext,
	}
	conn, _, err := d.DialContext(ctx, v.w.cfg.wsURL(v.node, v.uid), nil)
	if err != nil {
		return false, endDial
	}
	v.conn, v.shutdown = conn, false
	// Until joined, the server has joinTimeout to answer: a join that hangs (a room whose
	// grain is gone) ends the attempt like a failed dial, instead of holding the viewer.
	_ = conn.SetReadDeadline(time.Now().Add(joinTimeout))
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	defer conn.Close()
	defer func() {
		v.cur.Store(nil)
		if joined {
			v.w.c.connected.Add(-1)
		}
	}()
	join := []byte(`{"op":"join","room":"` + v.room + `","id":1`)
	if v.w.cfg.Push {
		join = append(join, `,"push":true`...)
	}
	if v.epoch != "" {
		join = append(join, `,"since":`...)
		join = strconv.AppendInt(join, v.since, 10)
	}
	join = append(join, '}')
	v.pending = false
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
			return joined, v.ended(joined, err)
		}
		bp := bufPool.Get().(*[]byte)
		b, err := readAll((*bp)[:0], r)
		if err != nil {
			*bp = b[:0]
			bufPool.Put(bp)
			return joined, v.ended(joined, err)
		}
		v.w.c.frames.Add(1)
		live.seen()
		switch string(op(b)) {
		case "hello":
			err = v.write(join)
		case "joined":
			_ = conn.SetReadDeadline(time.Time{})
			joined = true
			v.w.c.connected.Add(1)
			if !v.everIn {
				v.w.c.firstJoins.Add(1)
				v.w.c.connectNs.Add(int64(time.Since(start)))
			}
			if v.lostAt != 0 {
				if v.lostChurn {
					v.w.churnResume.record(time.Now().UnixNano() - v.lostAt)
				} else {
					v.w.resume.record(time.Now().UnixNano() - v.lostAt)
				}
				v.lostAt = 0
			}
			v.onJoined(b)
			v.onLikes(b)
			if v.slow == slowStop {
				*bp = b[:0]
				bufPool.Put(bp)
				v.stall(ctx, conn)
				return joined, endStall
			}
			v.cur.Store(conn)
			if live == nil {
				live = v.watchLiveness(conn)
			}
			if v.w.cfg.Likes > 0 && likeStop == nil {
				likeStop, likeDone = make(chan struct{}), make(chan struct{})
				go func() { defer close(likeDone); v.like(conn, likeStop) }()
			}
		case "counters":
			v.w.c.counterFrames.Add(1)
			v.onLikes(b)
		case "notify":
			v.w.c.notifies.Add(1)
			err = v.onNotify()
		case "msgs":
			err = v.onMsgs(b)
		case "push":
			v.onPush(b)
		case "kick":
			v.onKick(b)
		case "error":
			v.w.c.countError(b)
			id, hasID := intField(b, keyID)
			if !hasID && v.w.cfg.Likes > 0 { // only adds are sent without an id
				v.refusedAdd()
			}
			switch {
			case !joined && id == 1: // the join was refused: this attempt failed
				*bp = b[:0]
				bufPool.Put(bp)
				return false, endDial
			case v.pending && id == v.pullID: // the pull was refused: the next notify may pull again
				v.pending = false
			}
		}
		*bp = b[:0]
		bufPool.Put(bp)
		if err != nil { // a write failed: the connection is gone
			return joined, v.ended(joined, err)
		}
	}
}

// ended tells how a session ended from the error that ended it.
func (v *viewer) ended(joined bool, err error) ending {
	var ce *websocket.CloseError
	churned := v.churned.Swap(nil)
	var ne net.Error
	switch {
	case churned != nil && churned == v.conn:
		return endChurn
	case !joined:
		if errors.As(err, &ne) && ne.Timeout() {
			v.w.c.joinTimeouts.Add(1)
		}
		return endDial
	case v.shutdown:
		return endShutdown
	case errors.As(err, &ce) && ce.Code != websocket.CloseAbnormalClosure: // 1006: EOF without a close frame
		if ce.Code == websocket.CloseGoingAway {
			return endShutdown
		}
		return endClosed
	}
	return endLost
}

// onKick counts a kick; a shutdown kick's retry_ms spreads the reconnections (PROTOCOL.md 8.8).
func (v *viewer) onKick(b []byte) {
	v.w.c.countKick(b)
	if bytes.Contains(b, []byte(`"reason":"shutdown"`)) {
		v.shutdown = true
	}
	if ms, ok := intField(b, keyRetryMS); ok && ms > 0 {
		v.retryMS = ms
	}
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

func (v *viewer) write(b []byte) error { return v.writeTo(v.conn, b) }

func (v *viewer) writeTo(conn *websocket.Conn, b []byte) error {
	v.wmu.Lock()
	defer v.wmu.Unlock()
	_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return conn.WriteMessage(websocket.TextMessage, b)
}

func (v *viewer) onJoined(b []byte) {
	epoch := string(strField(b, keyEpoch))
	ts, _ := intField(b, keyTS)
	seq, _ := intField(b, []byte(`"seq":`))
	switch {
	case v.epoch == "": // first join: the accounting starts at the room's head
		v.since, v.accounted, v.joinedAt, v.everIn = ts, uint64(seq), ts, true
	case epoch != v.epoch: // the room lost its history: seq restarts, since stays valid
		v.accounted = 0
	}
	v.epoch = epoch
}

func (v *viewer) onNotify() error {
	if v.pending {
		return nil
	}
	switch v.slow {
	case slowNever:
		return nil
	case slowLate:
		// The delayed write uses only values captured now: the reader goroutine keeps the
		// viewer's state, and no other pull is sent while this one is pending.
		frame, conn := v.pullFrame(), v.conn
		delay := 500*time.Millisecond + time.Duration(rand.Int64N(int64(2500*time.Millisecond)))
		time.AfterFunc(delay, func() { _ = v.writeTo(conn, frame) })
		return nil
	}
	return v.write(v.pullFrame())
}

// pullFrame marks a pull in flight and builds its frame.
func (v *viewer) pullFrame() []byte {
	v.pending = true
	v.pullID++
	v.w.c.pulls.Add(1)
	b := make([]byte, 0, 96)
	b = append(b, `{"op":"pull","room":"`...)
	b = append(b, v.room...)
	b = append(b, `","since":`...)
	b = strconv.AppendInt(b, v.since, 10)
	b = append(b, `,"limit":`...)
	b = strconv.AppendInt(b, int64(v.w.cfg.PullLimit), 10)
	b = append(b, `,"id":`...)
	b = strconv.AppendInt(b, v.pullID, 10)
	return append(b, '}')
}

// onMsgs accounts a pull answer or a pushed window. v.accounted is the seq at v.since: the
// joined seq at the first join, 0 in a new epoch (its seq starts after any since), then each
// frame's end. A frame with next_seq (PROTOCOL.md 8.1) must cover exactly
// len(msgs) + dropped == next_seq - v.accounted; a frame without it, as before v1.1: the
// advance must end at its last message's seq when that message is at next.
func (v *viewer) onMsgs(b []byte) error {
	recv := time.Now().UnixMicro()
	f := &v.frame
	if !parseMsgs(b, f) {
		v.w.c.acctErrors.Add(1)
		v.pending = false
		return nil
	}
	if string(f.epoch) != v.epoch {
		v.epoch = string(f.epoch)
		v.accounted = 0
	}
	covered := uint64(len(f.msgs)) + f.dropped
	if f.hasNextSeq {
		if f.nextSeq != v.accounted+covered {
			v.acctError(f, "next_seq")
		}
		v.accounted = f.nextSeq
	} else {
		prev := v.accounted
		v.accounted += covered
		if n := len(f.msgs); n > 0 && f.msgs[n-1].ts == f.next && f.msgs[n-1].seq != v.accounted {
			v.accounted = prev
			v.acctError(f, "last seq")
			v.accounted = f.msgs[n-1].seq
		}
	}
	for _, m := range f.msgs {
		v.w.c.deliveries[m.pri].Add(1)
		if m.pri == 3 {
			v.sysTS = append(v.sysTS, m.ts)
		}
		if v.w.stamps != nil {
			v.w.stamps.see(v.room, v.epoch, m.seq, m.ts)
		}
	}
	if len(f.msgs) > 0 {
		v.w.lat.record(v.id, f.msgs, recv)
		if v.w.classes != nil {
			v.w.classes.record(v.class, f.msgs, recv)
		}
	}
	if v.w.cfg.Push && v.w.cfg.Likes > 0 { // a pushed window may carry the counters (PROTOCOL.md 8.4)
		v.onLikes(b)
	}
	v.w.c.dropped.Add(int64(f.dropped))
	if f.next > v.since {
		v.since = f.next
	}
	v.pending = false
	if f.more && !v.w.cfg.Push { // a push session gets the rest in the next round (PROTOCOL.md 8.2)
		return v.write(v.pullFrame())
	}
	return nil
}

// acctError counts a frame whose accounting does not hold, described with what the viewer
// expected (v.accounted and v.since still hold the values before the frame).
func (v *viewer) acctError(f *msgsFrame, check string) {
	v.w.c.acctError(func() string {
		first, last := uint64(0), uint64(0)
		if n := len(f.msgs); n > 0 {
			first, last = f.msgs[0].seq, f.msgs[n-1].seq
		}
		return fmt.Sprintf("%s: viewer %d room %s epoch %s node %d: since %d accounted %d; frame msgs %d (seq %d..%d) dropped %d next %d next_seq %d",
			check, v.id, v.room, v.epoch, v.node, v.since, v.accounted, len(f.msgs), first, last, f.dropped, f.next, f.nextSeq)
	})
}

// onPush handles the push-each baseline's frames: one message each.
func (v *viewer) onPush(b []byte) {
	recv := time.Now().UnixMicro()
	i := bytes.Index(b, []byte(`"msg":`))
	if i < 0 {
		return
	}
	var f msgsFrame
	if !parseMsgs(append(append([]byte(nil), b[i+6:len(b)-1]...), `],"dropped":0,"next":0,"more":false`...), &f) || len(f.msgs) != 1 {
		return
	}
	m := f.msgs[0]
	if v.accounted != 0 && m.seq != v.accounted+1 {
		v.w.c.acctErrors.Add(1)
	}
	v.accounted = m.seq
	v.since = m.ts
	v.w.c.deliveries[m.pri].Add(1)
	if m.pri == 3 {
		v.sysTS = append(v.sysTS, m.ts)
	}
	v.w.lat.record(v.id, f.msgs, recv)
	if v.w.classes != nil {
		v.w.classes.record(v.class, f.msgs, recv)
	}
}

// lostOf counts the notices (by ts) this viewer should have received and did not.
func (v *viewer) lostOf(notices []int64) int64 {
	if !v.everIn {
		return 0
	}
	got := make(map[int64]bool, len(v.sysTS))
	for _, ts := range v.sysTS {
		got[ts] = true
	}
	var lost int64
	for _, ts := range notices {
		if ts > v.joinedAt && !got[ts] {
			lost++
		}
	}
	return lost
}
