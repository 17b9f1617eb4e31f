package actors

import (
	"context"
	"errors"
	"sort"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/liveroom/liveroom/actors/pb"
	"github.com/liveroom/liveroom/rooms"
	"github.com/liveroom/liveroom/wire"
)

// The room grain's counters (PROTOCOL.md section 8.4). Replicas sum their viewers' adds and
// hand them over once per round (CounterAdds); the backend adds and sets one at a time
// (CounterRequest). The grain holds the totals, writes the changed ones to the store once per
// flush tick (absolute totals: a write retried after a timeout cannot count twice; the fence
// keeps a stale activation from writing), and sends the totals with the cluster-wide online
// count to its replicas at most once per DispatchInterval, only when something changed. With
// a shared store (DurableStamps) an add is answered only once a write holding it succeeded,
// so an acknowledged add survives the grain's node.

// grainCounters is the grain's counter state (touched only inside Receive).
type grainCounters struct {
	totals     rooms.Counters
	dirty      map[string]struct{} // changed since the last write began (made by the first: markDirty)
	waiting    []cntWaiter         // answered once the next write succeeds (durable mode)
	saving     *cntJob
	retryArmed bool
	retryDelay time.Duration
	seen       map[string]flushMark // per replica: its last flush applied (repeats are not counted twice); made by the first
	bcastArmed bool
	changed    bool  // totals, online or interval changed since the last broadcast
	online     int64 // as of the last broadcast
}

type cntWaiter struct {
	to    *actor.PID
	reply any
}

type cntJob struct {
	values  rooms.Counters
	waiters []cntWaiter
	done    chan struct{} // closed once the write returned (stop waits for it: writes must not cross)
}

type flushMark struct {
	serial uint64
	at     time.Time
}

// Self-messages of the counters.
type cntSaved struct {
	job *cntJob
	err error
}
type cntRetry struct{}
type cntBroadcast struct{}

var (
	cntRetryMsg     = &cntRetry{}
	cntBroadcastMsg = &cntBroadcast{}
)

func (cntSaved) NotInfluenceReceiveTimeout()     {}
func (cntRetry) NotInfluenceReceiveTimeout()     {}
func (cntBroadcast) NotInfluenceReceiveTimeout() {}

// receiveCounters handles the counter messages; false if msg is not one.
func (g *roomGrain) receiveCounters(ctx actor.Context, msg any) bool {
	switch m := msg.(type) {
	case *pb.CounterAdds:
		g.counterAdds(ctx, m)
	case *pb.CounterRequest:
		g.counterRequest(ctx, m)
	case *cntSaved:
		g.countersSaved(ctx, m)
	case *cntRetry:
		g.cnt.retryArmed = false
		g.startCounterSave(ctx)
	case *cntBroadcast:
		g.cnt.bcastArmed = false
		g.broadcastCounters(ctx)
	default:
		return false
	}
	return true
}

// initCounters takes the totals read at activation.
func (g *roomGrain) initCounters(stored rooms.Counters) {
	g.cnt.totals = stored.Clone()
}

// markDirty records that counter name changed since the last write began. The set is made by
// the first change: a room without counters holds no map (two empty maps cost ~100 B a room).
func (c *grainCounters) markDirty(name string) {
	if c.dirty == nil {
		c.dirty = make(map[string]struct{})
	}
	c.dirty[name] = struct{}{}
}

// countersLoadedLate: the state was read after a failed first load. What was counted since
// activation is added to the stored totals (the grain held only increments), and all of them
// are written.
func (g *roomGrain) countersLoadedLate(ctx actor.Context, stored rooms.Counters) {
	for name, v := range stored {
		if _, err := g.cnt.totals.Add(name, v); err != nil {
			g.logger().Warn("a stored counter could not be restored", "counter", name, "err", err)
		}
	}
	for name := range g.cnt.totals {
		g.cnt.markDirty(name)
	}
	g.countersChanged(ctx)
}

// counterAdds applies a replica's summed viewer adds, once per (replica, serial).
func (g *roomGrain) counterAdds(ctx actor.Context, m *pb.CounterAdds) {
	if g.fenced {
		ctx.Respond(&pb.CounterAddsReply{Error: errToPB(rooms.Errorf(rooms.CodeUnavailable, "the room moved; retry"))})
		return
	}
	reply := &pb.CounterAddsReply{}
	if mark, ok := g.cnt.seen[m.Replica]; ok && m.Serial <= mark.serial {
		ctx.Respond(reply) // a repeat of a flush this activation counted already
		return
	}
	if g.cnt.seen == nil {
		g.cnt.seen = make(map[string]flushMark)
	}
	g.cnt.seen[m.Replica] = flushMark{serial: m.Serial, at: time.Now()}
	for name, d := range m.Adds {
		if _, err := g.cnt.totals.Add(name, d); err != nil {
			reply.Refused = append(reply.Refused, name)
			continue
		}
		g.cnt.markDirty(name)
	}
	st := g.room.StatsRef()
	st.AddsAccepted += m.Count
	st.AddsRateLimited += m.RateLimited
	st.AddsLost += m.Lost
	if len(m.Adds) > len(reply.Refused) {
		g.countersChanged(ctx)
	}
	g.answerCounters(ctx, reply)
}

// counterRequest is the backend's add or an admin's set of one counter.
func (g *roomGrain) counterRequest(ctx actor.Context, req *pb.CounterRequest) {
	if g.fenced {
		ctx.Respond(&pb.CounterReply{Error: errToPB(rooms.Errorf(rooms.CodeUnavailable, "the room moved; retry"))})
		return
	}
	var v int64
	var err error
	if req.Set {
		v, err = req.Delta, g.cnt.totals.Set(req.Name, req.Delta)
	} else {
		v, err = g.cnt.totals.Add(req.Name, req.Delta)
	}
	if err != nil {
		ctx.Respond(&pb.CounterReply{Error: errToPB(err)})
		return
	}
	if !req.Set {
		g.room.StatsRef().AddsAccepted++
	}
	g.cnt.markDirty(req.Name)
	g.countersChanged(ctx)
	g.answerCounters(ctx, &pb.CounterReply{Value: v})
}

// answerCounters answers now, or once the next write succeeds with a shared store.
func (g *roomGrain) answerCounters(ctx actor.Context, reply any) {
	if !g.node.cfg.DurableStamps || ctx.Sender() == nil || len(g.cnt.dirty) == 0 {
		ctx.Respond(reply)
		return
	}
	g.cnt.waiting = append(g.cnt.waiting, cntWaiter{to: ctx.Sender(), reply: reply})
}

// countersChanged schedules the write (with the next flush tick) and the broadcast.
func (g *roomGrain) countersChanged(ctx actor.Context) {
	g.cnt.changed = true
	g.armFlush(ctx)
	g.armCounterBroadcast(ctx)
}

// onlineChanged: a renewal changed the viewer count; replicas hear of it with the totals.
func (g *roomGrain) onlineChanged(ctx actor.Context) {
	if g.online() != g.cnt.online {
		g.cnt.changed = true
		g.armCounterBroadcast(ctx)
	}
}

func (g *roomGrain) armCounterBroadcast(ctx actor.Context) {
	if g.cnt.bcastArmed || g.stopped {
		return
	}
	g.cnt.bcastArmed = true
	self, root := ctx.Self(), ctx.ActorSystem().Root
	time.AfterFunc(g.node.cfg.DispatchInterval, func() { root.Send(self, cntBroadcastMsg) })
}

// counterTotals is what replicas get: a map of their own (a local replica reads it after the
// grain moved on).
func (g *roomGrain) counterTotals() *pb.CounterTotals {
	return &pb.CounterTotals{Values: g.cnt.totals.Clone(), Online: g.online(),
		IntervalMs: int64(g.room.Config().CountersIntervalMS)}
}

func (g *roomGrain) broadcastCounters(ctx actor.Context) {
	if !g.cnt.changed || g.fenced {
		return
	}
	g.cnt.changed = false
	t := g.counterTotals()
	g.cnt.online = t.Online
	g.broadcast(ctx, t)
}

// startCounterSave writes the changed totals unless a write is in flight or waiting to be
// retried. A room whose state could not be read holds increments, not totals: it writes
// nothing until the late load has added the stored totals (countersLoadedLate).
func (g *roomGrain) startCounterSave(ctx actor.Context) {
	if g.cnt.saving != nil || g.cnt.retryArmed || g.fenced || !g.loaded || len(g.cnt.dirty) == 0 {
		return
	}
	job := &cntJob{values: make(rooms.Counters, len(g.cnt.dirty)), waiters: g.cnt.waiting, done: make(chan struct{})}
	for name := range g.cnt.dirty {
		job.values[name] = g.cnt.totals[name]
	}
	clear(g.cnt.dirty)
	g.cnt.waiting = nil
	g.cnt.saving = job
	store, room, fence, timeout := g.node.cfg.Store, g.id, g.fence, g.node.cfg.RequestTimeout
	self, root := ctx.Self(), ctx.ActorSystem().Root
	go func() {
		c, cancel := context.WithTimeout(context.Background(), timeout)
		err := store.SaveCounters(c, room, job.values, fence)
		cancel()
		close(job.done)
		root.Send(self, &cntSaved{job: job, err: err})
	}()
}

func (g *roomGrain) countersSaved(ctx actor.Context, d *cntSaved) {
	if d.job != g.cnt.saving {
		return
	}
	g.cnt.saving = nil
	switch {
	case errors.Is(d.err, rooms.ErrFenced):
		g.refuseCounterWaiters(ctx, d.job.waiters)
		g.fenceOff(ctx)
		return
	case d.err != nil:
		// The totals are absolute: writing them again later is safe. The waiters wait for it.
		g.node.storeFailed("room counters", d.err)
		for name := range d.job.values {
			g.cnt.markDirty(name)
		}
		g.cnt.waiting = append(d.job.waiters, g.cnt.waiting...)
		g.armCounterRetry(ctx)
		return
	}
	g.cnt.retryDelay = 0
	for _, w := range d.job.waiters {
		ctx.Send(w.to, w.reply)
	}
	g.startCounterSave(ctx)
}

func (g *roomGrain) armCounterRetry(ctx actor.Context) {
	if g.cnt.retryArmed {
		return
	}
	g.cnt.retryArmed = true
	g.cnt.retryDelay = min(max(2*g.cnt.retryDelay, 250*time.Millisecond), 2*time.Second)
	self, root := ctx.Self(), ctx.ActorSystem().Root
	time.AfterFunc(g.cnt.retryDelay, func() { root.Send(self, cntRetryMsg) })
}

// refuseCounterWaiters answers unavailable: the adds may or may not count (the room moved).
func (g *roomGrain) refuseCounterWaiters(ctx actor.Context, ws []cntWaiter) {
	e := errToPB(rooms.Errorf(rooms.CodeUnavailable, "the room moved; the add may not have counted"))
	for _, w := range append(ws, g.cnt.waiting...) {
		switch w.reply.(type) {
		case *pb.CounterReply:
			ctx.Send(w.to, &pb.CounterReply{Error: e})
		default:
			ctx.Send(w.to, &pb.CounterAddsReply{Error: e})
		}
	}
	g.cnt.waiting = nil
}

// stopCounters writes every total at passivation or shutdown (bounded by c) and answers the
// waiters. It reports whether the room holds a counter worth keeping.
func (g *roomGrain) stopCounters(ctx actor.Context, c context.Context) bool {
	if g.cnt.saving != nil { // an older write landing after this one would undo it
		select {
		case <-g.cnt.saving.done:
		case <-c.Done():
		}
	}
	if g.loaded && (len(g.cnt.dirty) > 0 || g.cnt.saving != nil) && len(g.cnt.totals) > 0 {
		err := g.node.cfg.Store.SaveCounters(c, g.id, g.cnt.totals, g.fence)
		if err != nil && !errors.Is(err, rooms.ErrFenced) {
			g.node.storeFailed("room counters not saved at stop", err)
		}
	}
	ws := g.cnt.waiting
	if g.cnt.saving != nil {
		ws = append(g.cnt.saving.waiters, ws...)
	}
	for _, w := range ws {
		ctx.Send(w.to, w.reply)
	}
	g.cnt.waiting, g.cnt.saving = nil, nil
	return g.cnt.totals.NonZero()
}

// pruneFlushMarks forgets the flush serials of replicas not heard of for three renewals.
func (g *roomGrain) pruneFlushMarks(deadline time.Time) {
	for k, m := range g.cnt.seen {
		if m.at.Before(deadline) {
			delete(g.cnt.seen, k)
		}
	}
}

// sortedCounters is a counter set as the wire writes it: by name.
func sortedCounters(m map[string]int64) []wire.Counter {
	out := make([]wire.Counter, 0, len(m))
	for k, v := range m {
		out = append(out, wire.Counter{Name: k, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// repeatable reports whether a request to a grain may be sent again after an attempt timed
// out: not a message without cmid, nor a backend's counter add (either could count twice).
// A replica's CounterAdds may: the grain counts each (replica, serial) once.
func repeatable(msg any) bool {
	switch m := msg.(type) {
	case *pb.SendRequest:
		return m.Cmid != ""
	case *pb.CounterRequest:
		return m.Set
	}
	return true
}
