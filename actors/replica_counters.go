package actors

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/cespare/xxhash/v2"

	"github.com/liveroom/liveroom/actors/pb"
	"github.com/liveroom/liveroom/rooms"
	"github.com/liveroom/liveroom/wire"
)

// A replica's half of the counters (PROTOCOL.md section 8.4). Viewers' adds are summed here
// (Member.Add, on the sessions' goroutines) and handed to the grain once per round, whatever
// their number: tens of thousands of taps per second cost the grain one message per node per
// round. The grain's totals come back as CounterTotals; each round sends the members whose
// last counters frame differs from the current one, at most once per counters_interval each
// (stretched in big rooms as notifies are: members x RoundPerMember).
//
// A member due for counters that is also notified (or pushed its window) in the round gets
// both in one write: the counters frame rides behind the notify (SharedFrame.Then), or inside
// the pushed `msgs` frame as its "counters" (PROTOCOL.md 8.4) when the online count it last
// got is still the room's (a window carries the counters object only). A member due for
// counters whose notify or window is coming (messages it has not covered, or a pull in
// progress) waits for it up to one pace of the room before it gets the counters frame alone:
// with chat flowing, most counters frames then cost no write of their own.

// replicaCounters is what sessions and the replica actor share, under mu.
type replicaCounters struct {
	mu          sync.Mutex
	sums        map[string]int64 // adds since the last flush
	count       uint64           // adds in sums
	rateLimited uint64           // adds refused by the per-session limit since the last flush
	waiters     []*addWaiter     // adds with an id, answered when the flush holding them is
	known       map[string]int64 // the grain's totals (names the room has: the 16 cap)
}

// addWaiter is an add with an id: its session waits for the grain's answer.
type addWaiter struct {
	name string
	done chan error
}

// replicaCountersState is the replica actor's own (no lock).
type replicaCountersState struct {
	flushing bool
	serial   uint64
	lost     uint64 // adds of failed flushes, reported with the next one
	values   []wire.Counter
	interval time.Duration
	remote   int64 // viewers on other nodes
	dirty    bool  // values or interval changed: rebuild the frame
	online   int64 // in the current frame
	frame    *SharedFrame
	vals     uint64 // hash of the current counters object (countersObjectHash)
	due      int64  // unix nanos: the next round that has a member to write to
	// heldAt is the earliest last-frame time of the members that hold frame (0: none): they
	// may get the next frame from heldAt + the pace on. With it a changed frame (a viewer
	// joining changes online) asks for the round that is due instead of a pass over every
	// member: 19.6k viewers joining one edge cost it 19.6k passes of 19.6k members each.
	heldAt int64
}

// countersFlushed is a flush's answer, delivered into the replica's mailbox.
type countersFlushed struct {
	msg     *pb.CounterAdds
	waiters []*addWaiter
	reply   *pb.CounterAddsReply
	err     error
}

func (countersFlushed) NotInfluenceReceiveTimeout() {}

var errNotCounted = rooms.Errorf(rooms.CodeUnavailable, "the room did not answer; the add was not counted")

// Add adds delta to the room's counter name for the member's session: rate_limited over
// rooms.AddsPerSecond, bad_request for a name that would be the room's 17th counter. Without
// ack it returns at once (the add goes with the next flush); with ack it waits (bounded by
// ctx) for the grain to accept it. The caller has checked name and delta.
func (m *Member) Add(ctx context.Context, name string, delta int64, ack bool) error {
	c := &m.r.cnt
	now := time.Now()
	c.mu.Lock()
	if m.adds.Rate() == 0 {
		m.adds = rooms.NewAddLimiter(now)
	}
	first := c.count == 0 && c.rateLimited == 0
	if !m.adds.Allow(now) {
		c.rateLimited++
		c.mu.Unlock()
		if first {
			m.r.flushSoon(now)
		}
		m.r.node.metrics.CounterAdds.WithLabelValues("rate_limited").Inc()
		return rooms.Errorf(rooms.CodeRateLimited, "at most 20 adds per second per session and room")
	}
	if !c.mayName(name) {
		c.mu.Unlock()
		return rooms.Errorf(rooms.CodeBadRequest, "a room has at most 16 counters")
	}
	if c.sums == nil {
		c.sums = make(map[string]int64, 1)
	}
	c.sums[name] += delta // at most 100 per add, 20 adds/s per session: no overflow in a round
	c.count++
	var w *addWaiter
	if ack {
		w = &addWaiter{name: name, done: make(chan error, 1)}
		c.waiters = append(c.waiters, w)
	}
	c.mu.Unlock()
	if first {
		m.r.flushSoon(now)
	}
	if w == nil {
		return nil
	}
	select {
	case err := <-w.done:
		return err
	case <-ctx.Done():
		return rooms.Errorf(rooms.CodeUnavailable, "the room did not answer in time")
	}
}

// flushSoon asks for the visit that hands the sessions' adds to the grain: one flush per
// DispatchInterval at most, whatever the number of adds.
func (r *Replica) flushSoon(now time.Time) {
	r.node.sched.at(&r.slot, now.Add(r.node.cfg.DispatchInterval).UnixNano())
}

// mayName reports whether name is a counter of the room or may become one; mu is held.
func (c *replicaCounters) mayName(name string) bool {
	if _, ok := c.known[name]; ok {
		return true
	}
	if _, ok := c.sums[name]; ok {
		return true
	}
	n := len(c.known)
	for k := range c.sums {
		if _, ok := c.known[k]; !ok {
			n++
		}
	}
	return n < rooms.MaxCounters
}

// flushCounters hands the round's sums to the grain, one flush in flight at a time (sums keep
// growing meanwhile). The request may be repeated: the grain counts each serial once.
func (a *replicaActor) flushCounters(ctx actor.Context) {
	if a.cnt.flushing {
		return
	}
	msg, waiters := a.takeFlush()
	if msg == nil {
		return
	}
	a.cnt.flushing = true
	n, room := a.r.node, a.r.room
	self, root := ctx.Self(), ctx.ActorSystem().Root
	go func() {
		c, cancel := context.WithTimeout(context.Background(), n.cfg.RequestTimeout)
		res, err := n.request(c, room, msg)
		cancel()
		reply, ok := res.(*pb.CounterAddsReply)
		if err == nil && !ok {
			err = errUnexpected(res)
		}
		if err == nil {
			err = errFromPB(reply.Error)
		}
		root.Send(self, &countersFlushed{msg: msg, waiters: waiters, reply: reply, err: err})
	}()
}

// takeFlush takes what the sessions summed since the last flush as one message (nil when
// there is nothing to tell the grain).
func (a *replicaActor) takeFlush() (*pb.CounterAdds, []*addWaiter) {
	st := &a.cnt
	c := &a.r.cnt
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.sums) == 0 && c.rateLimited == 0 && st.lost == 0 {
		return nil, nil
	}
	st.serial++
	msg := &pb.CounterAdds{Replica: a.r.pid.String(), Serial: st.serial, Adds: c.sums, Count: c.count,
		RateLimited: c.rateLimited, Lost: st.lost}
	waiters := c.waiters
	c.sums, c.count, c.rateLimited, c.waiters = nil, 0, 0, nil
	st.lost = 0
	return msg, waiters
}

// countersFlushed answers the flush's waiters; a failed flush's adds are lost (counted). Adds
// that came while it was on its way go with the next flush.
func (a *replicaActor) countersFlushed(f *countersFlushed) {
	a.cnt.flushing = false
	defer func() {
		c := &a.r.cnt
		c.mu.Lock()
		pending := c.count > 0 || c.rateLimited > 0 || len(c.waiters) > 0 || a.cnt.lost > 0
		c.mu.Unlock()
		if pending {
			a.r.flushSoon(time.Now())
		}
	}()
	met := a.r.node.metrics
	if f.err != nil {
		a.cnt.lost += f.msg.Count
		met.CounterAdds.WithLabelValues("lost").Add(float64(f.msg.Count))
		a.r.node.linkFailed(a.r.room, f.err)
		for _, w := range f.waiters {
			w.done <- errNotCounted
		}
		return
	}
	met.CounterAdds.WithLabelValues("accepted").Add(float64(f.msg.Count))
	for _, w := range f.waiters {
		var err error
		for _, name := range f.reply.Refused {
			if name == w.name {
				err = rooms.Errorf(rooms.CodeBadRequest, "a room has at most 16 counters")
			}
		}
		w.done <- err
	}
}

// flushCountersAtStop sends what is left without waiting (the replica stops with no member);
// without a grain to send it to, it is lost.
func (a *replicaActor) flushCountersAtStop(ctx actor.Context) {
	c := &a.r.cnt
	c.mu.Lock()
	sums, count, waiters := c.sums, c.count, c.waiters
	c.sums, c.count, c.waiters = nil, 0, nil
	c.mu.Unlock()
	for _, w := range waiters {
		w.done <- errNotCounted
	}
	if len(sums) == 0 {
		return
	}
	if a.grain == nil || a.cnt.flushing {
		a.r.node.metrics.CounterAdds.WithLabelValues("lost").Add(float64(count))
		return
	}
	a.cnt.serial++
	ctx.Send(a.grain, &pb.CounterAdds{Replica: a.r.pid.String(), Serial: a.cnt.serial, Adds: sums, Count: count})
	a.r.node.metrics.CounterAdds.WithLabelValues("accepted").Add(float64(count))
}

// counterTotals takes the grain's totals. The map is the replica's own (the grain sends each a
// new one) and is only read from here on.
func (a *replicaActor) counterTotals(t *pb.CounterTotals) {
	c := &a.r.cnt
	c.mu.Lock()
	c.known = t.Values
	c.mu.Unlock()
	st := &a.cnt
	st.values = sortedCounters(t.Values)
	if t.IntervalMs > 0 {
		st.interval = time.Duration(t.IntervalMs) * time.Millisecond
	}
	st.remote = max(0, t.Online-a.reported)
	st.dirty = true
}

// prepareCounters brings the current counters frame up to date; false before the grain's
// first totals (no frame yet).
func (a *replicaActor) prepareCounters() bool {
	st := &a.cnt
	r := a.r
	if st.interval == 0 {
		return false
	}
	online := st.remote + r.local.Load()
	if st.dirty || online != st.online || st.frame == nil {
		st.dirty = false
		if vals := countersObjectHash(st.values); st.frame == nil || vals != st.vals || online != st.online {
			if st.frame == nil {
				st.due = 0
			} else if st.heldAt != 0 {
				st.due = min(st.due, st.heldAt+a.countersEvery()) // the old frame's holders, once paced
			}
			data := wire.AppendCounters(make([]byte, 0, 64+len(r.room)+24*len(st.values)), r.room, st.values, online)
			st.frame, st.vals, st.online, st.heldAt = &SharedFrame{Data: data}, vals, online, 0
		}
	}
	return true
}

// holds tells whether m got the current counters.
func (a *replicaActor) holds(m *Member) bool {
	return m.cntVals == a.cnt.vals && m.cntOnline == a.cnt.online
}

// held books m, which holds the current counters since m.cntAt, for the next change.
func (a *replicaActor) held(m *Member) {
	if st := &a.cnt; st.heldAt == 0 || m.cntAt < st.heldAt {
		st.heldAt = m.cntAt
	}
}

// countersJoined books a new member's counters: it holds the current frame (joined carried the
// same totals) or is due once paced after its join.
func (a *replicaActor) countersJoined(m *Member) {
	st := &a.cnt
	if st.frame != nil && a.holds(m) {
		a.held(m)
		return
	}
	st.due = min(st.due, m.cntAt+a.countersEvery())
}

// countersEvery is how often a member may get counters (unix nanos): counters_interval, or
// members x RoundPerMember in a big room.
func (a *replicaActor) countersEvery() int64 {
	return max(a.cnt.interval.Nanoseconds(), a.pace())
}

// countersDue tells whether m may get the current counters now: it has not got them and its
// last ones are one countersEvery old (prepareCounters returned true).
func (a *replicaActor) countersDue(m *Member, nowN, every int64) bool {
	st := &a.cnt
	return (m.cntVals != st.vals || m.cntOnline != st.online) && nowN >= m.cntAt+every
}

// countersSent records that m got the current counters at nowN.
func (a *replicaActor) countersSent(m *Member, nowN int64) {
	m.cntVals, m.cntOnline, m.cntAt = a.cnt.vals, a.cnt.online, nowN
	a.held(m)
}

// countersHold is how long a member due for counters waits for its coming notify or window
// to carry them (one pace of the room) before it gets them alone.
func (a *replicaActor) countersHold(m *Member) int64 {
	if m.pulledTS.Load() >= a.lastTS && (m.push || m.markAt.Load() == 0) {
		return 0 // nothing is coming its way
	}
	return a.pace()
}

// counterRound writes the current counters frame, alone, to the members whose last one
// differs, at most once per interval each; one whose notify or window is coming waits for it
// (countersHold; the round writes both). It costs nothing while every member is up to date
// and no member is due: st.due is the earliest time one may be written to.
func (a *replicaActor) counterRound(now time.Time) {
	if !a.prepareCounters() {
		return // no totals from the grain yet
	}
	st := &a.cnt
	r := a.r
	nowN := now.UnixNano()
	if nowN < st.due {
		return
	}
	cfg := &r.node.cfg
	every := a.countersEvery()
	due := int64(math.MaxInt64)
	sent := 0
	for _, m := range a.members {
		if a.holds(m) {
			a.held(m) // by its joined, or by a value that came back
			continue
		}
		if at := m.cntAt + every + a.countersHold(m); nowN < at {
			due = min(due, at)
			continue
		}
		if m.sess.Notify(st.frame) {
			a.countersSent(m, nowN)
			sent++
		} else {
			due = min(due, nowN+cfg.DispatchInterval.Nanoseconds()) // busy: next round
		}
	}
	if !a.small() {
		due = max(due, nowN+cfg.DispatchInterval.Nanoseconds()) // a big room: one pass per DispatchInterval at most
	}
	st.due = due
	if sent > 0 {
		r.node.metrics.CounterFrames.Add(float64(sent))
	}
}

// countersObjectHash is the hash of the counters object `{"likes":1,...}` of values.
func countersObjectHash(values []wire.Counter) uint64 {
	var buf [256]byte
	return xxhash.Sum64(wire.AppendCountersObject(buf[:0], values))
}

// joinCounters records the counters a member's joined frame carried as its last ones: the
// first counters frame follows once they change, counters_interval after the join at the
// earliest.
func (m *Member) joinCounters(cs []wire.Counter, online int64, now time.Time) {
	m.cntVals, m.cntOnline, m.cntAt = countersObjectHash(cs), online, now.UnixNano()
}
