package loadtest

import (
	"bytes"
	"context"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
)

// Counters (PROTOCOL.md section 8.4) under load, the viewers' half: with --likes R each joined
// viewer taps its room's "likes" R times a second during the send phase, each tap an add of 1
// or, with --like-batch D, the taps of each D summed into one add (no id: an add is answered
// only when it is refused), and keeps the likes total of the last frame that carried one
// (joined, counters). Offered, accepted and refused are counted in taps, frames apart. The driver's half, the backend's gift_value posts and the end check,
// is counters_check.go.
//
// An add written shortly before its session ended (a kick, a churn, a lost node) may never
// have been read by the server, and its refusal may have been lost with the session: its taps
// are "in doubt" and widen the check to a range. They are counted as those written in the
// session's last doubtWindow to 2 x doubtWindow.

// doubtWindow is the bucket of the in-doubt count: adds written in the current and the
// previous bucket when a session ends are in doubt.
const doubtWindow = time.Second

// likesSeen is what a worker's viewers of one room saw and did.
type likesSeen struct {
	Min, Max int64 // the last likes totals of the viewers with one
	Viewers  int64 // joined viewers with a likes total
	None     int64 // joined viewers without one
	Off      int64 // joined viewers whose last total is not the server's settled one
	Offered  int64 // taps written (the sum of the adds' deltas)
	Frames   int64 // add frames written
	Refused  int64 // taps refused, at least (adds answered with an error)
	// RefusedMax is the taps refused at most: more than Refused only when the viewers' deltas
	// differ (--like-batch), since a refusal does not say which add it refuses.
	RefusedMax int64
	Doubt      int64 // taps written just before their session ended
}

// likeCounts are a viewer's counters state (--likes only): written by its session's goroutines,
// read by the worker's.
type likeCounts struct {
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

// maxAddDelta is the largest delta of a viewer's add (PROTOCOL.md 8.4).
const maxAddDelta = 100

// like taps the room's likes (the goroutine IO's; the epoll IO's is likes_epoll.go) at the configured rate while the worker is in its send phase,
// until stop is closed. Taps are not timer events: tap k falls at start + k/Likes (start a
// random part of a tap interval away), and each wake-up sends the taps due since the last
// one. Without --like-batch a wake-up comes every tap and each tap is its own add of delta
// 1; with --like-batch D it comes every D and the taps are summed into one add (split at
// delta 100), as an app conflates them (the JS client's addEvery). Taps due outside the send
// phase are never made; a late wake-up sends what fell due meanwhile.
func (v *wsViewer) like(conn *websocket.Conn, stop chan struct{}) {
	tap, every, batch := v.w.cfg.tapEvery(), v.w.cfg.likeEvery(), v.w.cfg.LikeBatch > 0
	start := time.Now().Add(time.Duration(rand.Int64N(int64(tap))))
	// The first wake-up comes after a random part of the interval (it spreads the viewers'),
	// the next ones from a ticker, which keeps the period when wake-ups come late.
	first := time.NewTimer(time.Duration(rand.Int64N(int64(every)) + 1))
	defer first.Stop()
	var tick *time.Ticker
	defer func() {
		if tick != nil {
			tick.Stop()
		}
	}()
	wake := first.C
	var frame []byte
	var tapped int64 // taps due so far, sent or not
	var recent doubtBuckets
	defer func() {
		d := recent.inDoubt(time.Now())
		v.lk.doubt.Add(d)
		v.w.c.addsInDoubt.Add(d)
	}()
	for {
		select {
		case <-stop:
			return
		case <-wake:
		}
		if tick == nil {
			tick = time.NewTicker(every)
			wake = tick.C
		}
		due := tapsDue(start, tap, time.Now())
		n := due - tapped
		tapped = due
		if !v.w.liking.Load() {
			continue
		}
		for n > 0 {
			delta := min(n, maxAddDelta)
			if !batch {
				delta = 1
			}
			frame = v.addFrame(frame[:0], delta)
			if v.writeTo(conn, frame) != nil {
				return
			}
			n -= delta
			v.wroteAdd(delta)
			recent.add(time.Now(), delta)
		}
	}
}

// tapsDue is how many taps fall due by now: one at start, then one every tap.
func tapsDue(start time.Time, tap time.Duration, now time.Time) int64 {
	if now.Before(start) {
		return 0
	}
	return int64(now.Sub(start)/tap) + 1
}

// wroteAdd counts an add frame of delta taps written, and keeps the smallest and largest
// delta the viewer wrote: a refusal (an error without id) does not say which add it refuses.
func (v *viewer) wroteAdd(delta int64) {
	lk := v.lk
	lk.offered.Add(delta)
	lk.frames.Add(1)
	v.w.c.addsOffered.Add(delta)
	v.w.c.addFrames.Add(1)
	if lo := lk.minDelta.Load(); lo == 0 || delta < lo {
		lk.minDelta.Store(delta)
	}
	if delta > lk.maxDelta.Load() {
		lk.maxDelta.Store(delta)
	}
}

// refusedAdd counts an add refused: at least the smallest delta the viewer wrote, at most
// the largest (the same with delta 1 only: the count is exact).
func (v *viewer) refusedAdd() {
	lk := v.lk
	lo, hi := max(lk.minDelta.Load(), 1), max(lk.maxDelta.Load(), 1)
	lk.refused.Add(lo)
	lk.refusedMax.Add(hi)
	lk.refusedFrames.Add(1)
	v.w.c.addsRefused.Add(lo)
	v.w.c.addsRefusedMax.Add(hi)
}

// doubtBuckets counts the taps written in the current doubtWindow bucket and the one before.
type doubtBuckets struct{ bucket, cur, prev int64 }

func (d *doubtBuckets) add(now time.Time, n int64) {
	switch b := now.UnixNano() / int64(doubtWindow); b {
	case d.bucket:
		d.cur += n
	case d.bucket + 1:
		d.bucket, d.cur, d.prev = b, n, d.cur
	default:
		d.bucket, d.cur, d.prev = b, n, 0
	}
}

// inDoubt is the taps written in the bucket of now and the one before.
func (d *doubtBuckets) inDoubt(now time.Time) int64 {
	switch now.UnixNano() / int64(doubtWindow) {
	case d.bucket:
		return d.cur + d.prev
	case d.bucket + 1:
		return d.cur
	}
	return 0
}

// onLikes keeps the likes total of a joined, counters or pushed msgs frame, if it carries the
// counters (--likes: nothing otherwise), and tells whether it did.
func (v *viewer) onLikes(b []byte) bool {
	if v.lk == nil {
		return false
	}
	n, ok := likesOf(b)
	if ok {
		v.lk.likes.Store(n)
		v.lk.hasLikes.Store(true)
	}
	return ok
}

var (
	keyCounters = []byte(`"counters":{`)
	keyLikes    = []byte(`"likes":`)
)

// countersTail is how far from a frame's end its "counters" object may begin: it is the last
// member (joined, a pushed window) or followed by online only (counters), and 16 counters of
// 32-character names take under 1 KB. A pushed window is up to tens of KB and most carry no
// counters: scanned whole, every window's bytes were read a second time.
const countersTail = 2048

// likesOf reads the likes total of a frame's "counters" object (the last member of joined and
// of a pushed window, a member of counters): 0 when the object has no likes, false without
// the object.
func likesOf(b []byte) (int64, bool) {
	tail := b[max(0, len(b)-countersTail):]
	i := bytes.LastIndex(tail, keyCounters)
	if i < 0 {
		return 0, false
	}
	obj := tail[i+len(keyCounters):]
	if j := bytes.IndexByte(obj, '}'); j >= 0 {
		obj = obj[:j]
	}
	n, _ := intField(obj, keyLikes)
	return n, true
}

// awaitLikes waits until every viewer with a likes total shows its room's total in want (the
// server's, read by the driver once the adds settled), or until timeout: the last counters
// frame may come up to a counters_interval (stretched in big rooms) after the last change.
func (w *worker) awaitLikes(ctx context.Context, want map[string]int64, timeout time.Duration) {
	if w.cfg.Likes <= 0 || len(want) == 0 {
		return
	}
	w.mu.Lock()
	viewers := append([]*viewer(nil), w.viewers...)
	w.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for i := 0; i < len(viewers); {
		v := viewers[i]
		if n, ok := want[v.room]; !ok || !v.lk.hasLikes.Load() || v.lk.likes.Load() == n {
			i++
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// likesByRoom is the worker's report of its viewers' adds and last likes totals, by room,
// against the server's totals in want; the viewers have stopped (w.mu held).
func (w *worker) likesByRoom(want map[string]int64) map[string]likesSeen {
	if w.cfg.Likes <= 0 {
		return nil
	}
	out := map[string]likesSeen{}
	for _, v := range w.viewers {
		s := out[v.room]
		s.Offered += v.lk.offered.Load()
		s.Frames += v.lk.frames.Load()
		s.Refused += v.lk.refused.Load()
		s.RefusedMax += v.lk.refusedMax.Load()
		s.Doubt += v.lk.doubt.Load()
		switch {
		case v.slow == slowStop || !v.everIn:
		case !v.lk.hasLikes.Load():
			s.None++
		default:
			n := v.lk.likes.Load()
			if s.Viewers == 0 || n < s.Min {
				s.Min = n
			}
			if s.Viewers == 0 || n > s.Max {
				s.Max = n
			}
			s.Viewers++
			if t, ok := want[v.room]; ok && n != t {
				s.Off++
			}
		}
		out[v.room] = s
	}
	return out
}

// mergeLikes merges two workers' reports of one room.
func mergeLikes(a, b likesSeen) likesSeen {
	switch {
	case a.Viewers == 0:
		a.Min, a.Max = b.Min, b.Max
	case b.Viewers > 0:
		a.Min, a.Max = min(a.Min, b.Min), max(a.Max, b.Max)
	}
	a.Viewers += b.Viewers
	a.None += b.None
	a.Off += b.Off
	a.Offered += b.Offered
	a.Frames += b.Frames
	a.Refused += b.Refused
	a.RefusedMax += b.RefusedMax
	a.Doubt += b.Doubt
	return a
}
