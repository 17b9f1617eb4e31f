package loadtest

import (
	"bytes"
	"context"
	"math/rand/v2"
	"time"

	"github.com/fasthttp/websocket"
)

// Counters (PROTOCOL.md section 8.4) under load, the viewers' half: with --likes R each joined
// viewer adds 1 to its room's "likes" R times a second during the send phase (no id: an add is
// answered only when it is refused), and keeps the likes total of the last frame that carried
// one (joined, counters). The driver's half, the backend's gift_value posts and the end check,
// is counters_check.go.
//
// An add written shortly before its session ended (a kick, a churn, a lost node) may never
// have been read by the server, and its refusal may have been lost with the session: such adds
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
	Offered  int64 // adds written
	Refused  int64 // adds answered with an error
	Doubt    int64 // adds written just before their session ended
}

// like adds to the room's likes at the configured rate while the worker is in its send phase,
// until stop is closed; the first add comes after a random part of the interval.
func (v *wsViewer) like(conn *websocket.Conn, stop chan struct{}) {
	every := time.Duration(float64(time.Second) / v.w.cfg.Likes)
	t := time.NewTimer(time.Duration(rand.Int64N(int64(every)) + 1))
	defer t.Stop()
	frame := []byte(`{"op":"add","room":"` + v.room + `","counter":"likes","delta":1}`)
	var bucket, cur, prev int64 // adds written in bucket (unix / doubtWindow) and the one before
	defer func() {
		var d int64
		switch time.Now().UnixNano() / int64(doubtWindow) {
		case bucket:
			d = cur + prev
		case bucket + 1:
			d = cur
		}
		v.lk.doubt.Add(d)
		v.w.c.addsInDoubt.Add(d)
	}()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		t.Reset(every)
		if !v.w.liking.Load() {
			continue
		}
		if v.writeTo(conn, frame) != nil {
			return
		}
		v.lk.offered.Add(1)
		v.w.c.addsOffered.Add(1)
		switch b := time.Now().UnixNano() / int64(doubtWindow); b {
		case bucket:
			cur++
		case bucket + 1:
			bucket, cur, prev = b, 1, cur
		default:
			bucket, cur, prev = b, 1, 0
		}
	}
}

// onLikes keeps the likes total of a joined or counters frame, if it carries the counters
// (--likes: nothing otherwise).
func (v *viewer) onLikes(b []byte) {
	if v.lk == nil {
		return
	}
	if n, ok := likesOf(b); ok {
		v.lk.likes.Store(n)
		v.lk.hasLikes.Store(true)
	}
}

var (
	keyCounters = []byte(`"counters":{`)
	keyLikes    = []byte(`"likes":`)
)

// likesOf reads the likes total of a frame's "counters" object (the last member of joined, a
// member of counters): 0 when the object has no likes, false without the object.
func likesOf(b []byte) (int64, bool) {
	i := bytes.LastIndex(b, keyCounters)
	if i < 0 {
		return 0, false
	}
	obj := b[i+len(keyCounters):]
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
		s.Refused += v.lk.refused.Load()
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
	a.Refused += b.Refused
	a.Doubt += b.Doubt
	return a
}
