package loadtest

import (
	"context"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/liveroom/liveroom/internal/socket"
)

// The epoll viewers' likes (--likes with --viewer-io epoll), with no goroutine and no timer per
// viewer. The goroutine IO gives each joined session a goroutine, a ticker and a blocking
// write with a deadline timer per add: a profile of the tester at 10k viewers with taps summed
// per second put 18 % of its CPU there (5.4 CPU-s for 302k add frames, docs/benchmarks.md
// "Likes"). Here each worker has one wheel: its viewers sit in slots by a random phase, one
// ticker turns it a slot per tick, and each viewer of a slot that fell due is handed to the
// handlers as an event (likeEvent in its id). The handler writes the viewer's add without
// waiting, under its mu, as it writes its pulls. Taps fall due by the clock as in the goroutine
// IO (tapsDue), so a late tick sends what fell due meanwhile.
//
// A socket that takes nothing of an add leaves its taps due: the next tick sends them, summed
// with those that followed (split at delta 100). An add the socket took only part of is
// counted as written (the server reads it whole once the rest is written, or it is in doubt if
// the session ends first); its rest is kept and written before any other frame of the session,
// at the next tick or the next frame the viewer writes. No tap is counted that was not written,
// and none twice.

// likeEvent marks a wheel event in a handler's event id (the low word, beside the viewer's
// index + 1; a poller event has the session's generation in the high word instead).
const likeEvent = 1 << 31

// epLikes is an epoll viewer's likes state in its current session (--likes only), under the
// viewer's mu.
type epLikes struct {
	start    int64        // unix ns of the session's first tap (0: not joined)
	tapped   int64        // the session's taps due so far, written or never made (outside the send phase)
	recent   doubtBuckets // taps written, for the in-doubt count when the session ends
	rest     []byte       // the unwritten end of an add the socket took only part of
	restTaps int64        // that add's taps (counted written, not yet in recent)
}

// tapEvery is the time between two taps at --likes.
func (c *Config) tapEvery() time.Duration { return time.Duration(float64(time.Second) / c.Likes) }

// likeEvery is how often a viewer sends its taps: every --like-batch, or every tap.
func (c *Config) likeEvery() time.Duration {
	if c.LikeBatch > 0 {
		return c.LikeBatch
	}
	return c.tapEvery()
}

// likeWheel spreads a worker's viewers over the slots of one period (likeEvery).
type likeWheel struct {
	slots [][]uint32    // viewer indexes (epollIO.views) by slot
	width time.Duration // one slot's span: the ticker's period
}

// newLikeWheel places n viewers in slots of about a millisecond (at most 100 a period).
func newLikeWheel(n int, every time.Duration) *likeWheel {
	k := int(min(100, max(1, every/time.Millisecond)))
	wh := &likeWheel{slots: make([][]uint32, k), width: every / time.Duration(k)}
	for i := range n {
		s := rand.IntN(k)
		wh.slots[s] = append(wh.slots[s], uint32(i))
	}
	return wh
}

// turn hands the viewers of every slot that fell due to the handlers, until ctx ends. However
// late a tick, a viewer is handed at most once per period.
func (io *epollIO) turn(ctx context.Context, wh *likeWheel) {
	t := time.NewTicker(wh.width)
	defer t.Stop()
	start, k := time.Now(), int64(len(wh.slots))
	var turned int64 // slots handed so far
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		due := int64(time.Since(start) / wh.width)
		turned = max(turned, due-k)
		for ; turned < due; turned++ {
			for _, i := range wh.slots[turned%k] {
				io.events <- uint64(i+1) | likeEvent
			}
		}
	}
}

// like serves a wheel event: the viewer's taps due are written if its session has joined.
func (h *epHandler) like(id uint64) {
	v := h.io.views[uint32(id)&^likeEvent-1]
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.conn == nil || v.lt.start == 0 {
		return
	}
	if err := v.sendLikes(time.Now(), &h.add, &h.wbuf); err != nil {
		v.end(v.ending())
	}
}

// startLikes starts the joined session's taps a random part of a tap interval from now.
func (v *epViewer) startLikes(now time.Time) {
	if v.lt != nil && v.lt.start == 0 {
		v.lt.start, v.lt.tapped = now.UnixNano()+rand.Int64N(int64(v.w.cfg.tapEvery())), 0
	}
}

// endLikes counts the session's taps in doubt (written in its last doubtWindow or two, or
// in an add not written whole) and resets the state for the next session.
func (v *epViewer) endLikes(now time.Time) {
	lt := v.lt
	if lt == nil {
		return
	}
	d := lt.recent.inDoubt(now) + lt.restTaps
	v.lk.doubt.Add(d)
	v.w.c.addsInDoubt.Add(d)
	*lt = epLikes{}
}

// sendLikes writes the rest of an earlier add, then the taps due by now as adds (summed with
// --like-batch, split at delta 100; one per tap without), while the socket takes them
// (v.mu held). payload and frame are the caller's scratch. The error is a failed write.
func (v *epViewer) sendLikes(now time.Time, payload, frame *[]byte) error {
	lt := v.lt
	if err := v.flushRest(now); err != nil {
		return err
	}
	cfg := &v.w.cfg
	due := tapsDue(time.Unix(0, lt.start), cfg.tapEvery(), now)
	if !v.w.liking.Load() {
		lt.tapped = due // taps outside the send phase are never made
		return nil
	}
	for lt.tapped < due && len(lt.rest) == 0 {
		delta := int64(1)
		if cfg.LikeBatch > 0 {
			delta = min(due-lt.tapped, maxAddDelta)
		}
		*payload = v.addFrame((*payload)[:0], delta)
		*frame = socket.ClientFrame((*frame)[:0], websocket.TextMessage, *payload, rand.Uint32())
		n, err := v.conn.TryWrite(*frame)
		if n == 0 {
			return err // nothing went: the taps stay due
		}
		lt.tapped += delta
		v.wroteAdd(delta)
		if n < len(*frame) {
			lt.rest, lt.restTaps = append([]byte(nil), (*frame)[n:]...), delta
			return err
		}
		lt.recent.add(now, delta)
	}
	return nil
}

// flushRest writes what the socket takes of an add's unwritten end (v.mu held).
func (v *epViewer) flushRest(now time.Time) error {
	lt := v.lt
	if lt == nil || len(lt.rest) == 0 {
		return nil
	}
	n, err := v.conn.TryWrite(lt.rest)
	lt.rest = lt.rest[n:]
	if len(lt.rest) == 0 {
		lt.recent.add(now, lt.restTaps)
		lt.rest, lt.restTaps = nil, 0
	}
	return err
}

// addFrame appends the viewer's add of delta to its room's likes (no id: answered only when
// refused).
func (v *viewer) addFrame(b []byte, delta int64) []byte {
	b = append(b, `{"op":"add","room":"`...)
	b = append(b, v.room...)
	b = append(b, `","counter":"likes","delta":`...)
	b = strconv.AppendInt(b, delta, 10)
	return append(b, '}')
}
