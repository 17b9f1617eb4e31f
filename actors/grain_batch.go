package actors

import (
	"context"
	"errors"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/liveroom/liveroom/actors/pb"
	"github.com/liveroom/liveroom/ring"
	"github.com/liveroom/liveroom/rooms"
)

// The grain's way from a stamped message to the viewers: accepted messages gather in a batch
// for one flush tick; a flushed batch waits for the store to make its stamps durable (with a
// shared store, DurableStamps), then it is delivered: appended to the grain's rings, sent to
// every subscribed node in one Delta, and acknowledged to its senders.
//
// Why this way: a stamp delivered but not saved could be stamped again by the room's next
// activation after a crash. Why not wait for the store inside Receive: a store that hangs
// would freeze the room (every post, join and pull behind one write). So the save runs on its
// own goroutine and answers into the mailbox; one save is in flight per room, and the batches
// flushed meanwhile ride on the next one. A save that takes longer than StoreWait lets its
// batches (and every later one) go out without it: the room is undurable, counted, until a
// save covers everything it delivered. A save refused because a newer activation claimed the
// room (rooms.ErrFenced) stops this activation without delivering what it had not saved.

// batch is what one flush tick delivers.
type batch struct {
	msgs    []*ring.Message
	waiters []waiter  // senders acknowledged when the batch is delivered (durable mode)
	bans    []*pb.Ban // ban list changes for the replicas
	caps    bool      // the ring capacities changed
}

// waiter is a sender whose accepted message msgs[idx] is acknowledged on delivery.
type waiter struct {
	to    *actor.PID
	reply *pb.SendReply
	idx   int
}

func (b *batch) empty() bool { return len(b.msgs) == 0 && len(b.bans) == 0 && !b.caps }

// lastSeq is the seq of the batch's last message (0 when it has none).
func (b *batch) lastSeq() uint64 {
	if len(b.msgs) == 0 {
		return 0
	}
	return b.msgs[len(b.msgs)-1].Seq
}

// saveJob is one write of the room to the store.
type saveJob struct {
	seq     uint64 // the stamps up to this seq are durable once it succeeds
	full    bool   // the whole state (protected messages, config, moderation), not only the head
	protGen uint64 // the protected messages it holds: g.protGen when it was built
	modGen  uint64 // the config and moderation it holds: g.modGen when it was built
	started time.Time
	waited  bool          // its saveSlow came late once and was given another StoreWait
	done    chan struct{} // closed when the store has answered (stop waits for it)
	err     error         // the store's answer, once done is closed
}

// Self-messages of the save cycle.
type saveDone struct {
	job *saveJob
	err error
}
type saveSlow struct{ job *saveJob }
type saveRetry struct{}
type fenceChecked struct{ err error }
type loadDone struct {
	st    rooms.State
	found bool
	fence uint64
	err   error
}

var saveRetryMsg = &saveRetry{}

// The save cycle must not keep an idle grain alive.
func (saveDone) NotInfluenceReceiveTimeout()     {}
func (saveSlow) NotInfluenceReceiveTimeout()     {}
func (saveRetry) NotInfluenceReceiveTimeout()    {}
func (fenceChecked) NotInfluenceReceiveTimeout() {}
func (loadDone) NotInfluenceReceiveTimeout()     {}

// send decides on one offered message; nil means the answer comes at delivery.
func (g *roomGrain) send(ctx actor.Context, req *pb.SendRequest) *pb.SendReply {
	m, stamp, err := g.room.Accept(rooms.SendRequest{
		UID: req.Uid, Kind: req.Kind, Pri: ring.Priority(req.Pri), Body: req.Body, CMID: req.Cmid,
		Source: rooms.Source(req.Source), Name: req.Name, Meta: req.Meta, PinS: int(req.PinS),
	}, time.Now())
	return g.accepted(ctx, ring.Priority(req.Pri), m, stamp, err)
}

// unpin ends a pin with an unpin notice, answered as a send.
func (g *roomGrain) unpin(ctx actor.Context, req *pb.UnpinRequest) *pb.SendReply {
	m, stamp, err := g.room.Unpin(req.Ts, time.Now())
	return g.accepted(ctx, ring.System, m, stamp, err)
}

// accepted takes the room's decision on a message offered at pri into the pending batch; nil
// means the answer comes at delivery.
func (g *roomGrain) accepted(ctx actor.Context, pri ring.Priority, m *ring.Message, stamp rooms.Stamp, err error) *pb.SendReply {
	if err != nil {
		if rooms.CodeOf(err) == rooms.CodeRateLimited {
			g.node.metrics.RateLimited.Inc(pri)
		}
		return &pb.SendReply{Error: errToPB(err)}
	}
	if m == nil { // a repeated cmid
		return &pb.SendReply{Ts: stamp.TS, Seq: stamp.Seq, Dup: true}
	}
	g.node.metrics.Accepted.Inc(m.Pri)
	if m.Pri.Protected() {
		g.protGen++
	}
	if !g.node.cfg.DurableStamps {
		// Nothing to wait for: the message is in the rings at once (a pull or join right after
		// the send's answer sees it) and goes to the replicas with the next flush.
		g.appendToSet(m)
	}
	g.pending.msgs = append(g.pending.msgs, m)
	g.armFlush(ctx)
	reply := &pb.SendReply{Ts: stamp.TS, Seq: stamp.Seq}
	if g.node.cfg.DurableStamps && ctx.Sender() != nil {
		g.pending.waiters = append(g.pending.waiters, waiter{to: ctx.Sender(), reply: reply, idx: len(g.pending.msgs) - 1})
		return nil
	}
	return reply
}

// flush closes the pending batch and delivers what may go: everything at once without a
// shared store or while undurable, else what the store has made durable.
func (g *roomGrain) flush(ctx actor.Context) {
	g.flushArmed, g.lastFlush = false, time.Now().UnixNano()
	if !g.pending.empty() {
		g.queue = append(g.queue, g.pending)
		g.pending = batch{}
	}
	switch {
	case !g.node.cfg.DurableStamps:
		g.deliver(ctx, len(g.queue), false)
	case g.undurable && g.stalled():
		// Delivering without the store now could acknowledge, in a stale activation, what the
		// room's owner never sees: these batches wait for the store (and its claim) again.
		g.endUndurable()
		g.checkFence(ctx)
		g.deliverDurable(ctx)
		g.startSave(ctx)
	case g.undurable:
		g.deliver(ctx, len(g.queue), true)
		g.startSave(ctx)
	default:
		g.deliverDurable(ctx) // a save that began after these were stamped may cover them already
		g.startSave(ctx)
	}
	g.startCounterSave(ctx)
}

// deliverDurable delivers the queued batches whose stamps the store has.
func (g *roomGrain) deliverDurable(ctx actor.Context) {
	n := 0
	for n < len(g.queue) && g.queue[n].lastSeq() <= g.durableSeq {
		n++
	}
	g.deliver(ctx, n, false)
}

// needFull reports whether the next save must write the whole state: a protected message
// not saved yet, or config or moderation changes not saved for SaveInterval.
func (g *roomGrain) needFull(now time.Time) bool {
	return g.protGen != g.savedProt || (g.modGen != g.savedMod && now.Sub(g.lastFull) >= g.node.cfg.SaveInterval)
}

// startSave writes the room to the store unless a write is in flight or waiting to be retried,
// or there is nothing to write.
func (g *roomGrain) startSave(ctx actor.Context) {
	if g.saving != nil || g.retryArmed || g.fenced || !g.node.cfg.DurableStamps {
		return
	}
	now := time.Now()
	full := g.needFull(now)
	if len(g.queue) == 0 && !full && g.durableSeq >= g.room.LastSeq() {
		return
	}
	if !g.loaded {
		// The state could not be read: writing now would replace it. Deliver without the store
		// until the background load has succeeded (loadDone).
		g.goUndurable(ctx)
		return
	}
	job := &saveJob{seq: g.room.LastSeq(), full: full, protGen: g.protGen, modGen: g.modGen, started: now, done: make(chan struct{})}
	var st rooms.State
	var h rooms.Head
	if full {
		st = g.room.State(g.protectedAll(), now)
		st.Index = g.indexRun(job.seq)
	} else {
		ts, seq := g.room.Last()
		h = rooms.Head{Epoch: g.room.Epoch(), LastTS: ts, LastSeq: seq, Index: g.indexRun(job.seq)}
	}
	g.saving = job
	store, room, fence, timeout := g.node.cfg.Store, g.id, g.fence, g.node.cfg.RequestTimeout
	self, root := ctx.Self(), ctx.ActorSystem().Root
	go func() {
		c, cancel := context.WithTimeout(context.Background(), timeout)
		var err error
		if job.full {
			err = store.SaveRoom(c, room, st, fence)
		} else {
			err = store.SaveHead(c, room, h, fence)
		}
		cancel()
		job.err = err
		close(job.done)
		root.Send(self, &saveDone{job: job, err: err})
	}()
	g.armSaveSlow(ctx, job)
}

func (g *roomGrain) armSaveSlow(ctx actor.Context, job *saveJob) {
	self, root := ctx.Self(), ctx.ActorSystem().Root
	time.AfterFunc(g.node.cfg.StoreWait, func() { root.Send(self, &saveSlow{job: job}) })
}

// indexRun is the ts of the stamps after the last one the store's history index has, up to
// seq: from the rings' index for what was delivered, from the batches for what waits.
func (g *roomGrain) indexRun(seq uint64) rooms.Index {
	from := g.indexedSeq + 1
	if seq < from {
		return rooms.Index{}
	}
	for from <= seq && from <= g.set.LastSeq() {
		if _, ok := g.set.TSOf(from); ok {
			break
		}
		from++ // beyond the rings' index: the store's index starts over here
	}
	run := rooms.Index{From: from, TS: make([]int64, 0, seq-from+1)}
	for s := from; s <= min(seq, g.set.LastSeq()); s++ {
		ts, _ := g.set.TSOf(s)
		run.TS = append(run.TS, ts)
	}
	if g.node.cfg.DurableStamps {
		for _, b := range append(g.queue, g.pending) {
			for _, m := range b.msgs {
				if m.Seq >= from && m.Seq <= seq && m.Seq > g.set.LastSeq() {
					run.TS = append(run.TS, m.TS)
				}
			}
		}
	}
	if uint64(len(run.TS)) != seq-from+1 {
		return rooms.Index{} // a gap: a bug; the store keeps what it has
	}
	return run
}

// protectedAll is what a full save keeps: the delivered protected messages and those waiting.
func (g *roomGrain) protectedAll() []*ring.Message {
	out := g.set.Protected()
	if !g.node.cfg.DurableStamps {
		return out // accepted messages are in the set already
	}
	for _, b := range append(g.queue, g.pending) {
		for _, m := range b.msgs {
			if m.Pri.Protected() {
				out = append(out, m)
			}
		}
	}
	return out
}

func (g *roomGrain) saveDone(ctx actor.Context, d *saveDone) {
	if d.job != g.saving {
		return
	}
	g.saving = nil
	switch {
	case errors.Is(d.err, rooms.ErrFenced):
		g.fenceOff(ctx)
		return
	case d.err != nil:
		g.node.storeFailed("room state", d.err)
		if time.Since(d.job.started) > g.node.cfg.RequestTimeout+g.node.cfg.StoreWait {
			// The failure came late: this process was stopped or starved past the request's
			// timeout (see saveSlow). Check the claim and try again before delivering without
			// the store.
			g.checkFence(ctx)
		} else {
			g.goUndurable(ctx)
		}
		g.armRetry(ctx)
		return
	}
	g.retryDelay = 0
	g.durableSeq = max(g.durableSeq, d.job.seq)
	g.indexedSeq = max(g.indexedSeq, d.job.seq)
	if d.job.full {
		g.savedProt, g.savedMod, g.lastFull = d.job.protGen, d.job.modGen, time.Now()
	}
	// The store answers again: batches wait for it from now on, and the next save (started
	// below) covers what went out without it.
	g.endUndurable()
	g.deliverDurable(ctx)
	g.startSave(ctx)
}

func (g *roomGrain) endUndurable() {
	if g.undurable {
		g.undurable = false
		g.node.undurableRooms.Add(-1)
		g.node.metrics.UndurableRooms.Dec()
	}
}

// saveSlow: the save has not answered within StoreWait. Its batches go out without it, unless
// the timer itself came late (by more than StoreWait): then this process was stopped or
// starved (SIGSTOP, a VM pause) and a newer activation may own the room by now, so the store
// gets one more StoreWait to answer, and the claim is checked meanwhile. Delivering at once
// would acknowledge, in a stale activation, messages the room's owner never sees.
func (g *roomGrain) saveSlow(ctx actor.Context, s *saveSlow) {
	if s.job != g.saving {
		return
	}
	if late := time.Since(s.job.started) - g.node.cfg.StoreWait; late > g.node.cfg.StoreWait && !s.job.waited {
		s.job.waited = true
		g.checkFence(ctx)
		g.armSaveSlow(ctx, s.job)
		return
	}
	g.goUndurable(ctx)
}

// goUndurable delivers everything queued without waiting for the store, and every later batch
// until a save covers what was delivered (saveDone).
func (g *roomGrain) goUndurable(ctx actor.Context) {
	if !g.undurable {
		g.undurable = true
		g.node.undurableRooms.Add(1)
		g.node.metrics.UndurableRooms.Inc()
		g.node.storeSlow("the store did not answer in time: messages are delivered without it (undurable) until it does")
	}
	g.deliver(ctx, len(g.queue), true)
}

// armRetry schedules the next save after a failed one (250 ms, doubling to 2 s).
func (g *roomGrain) armRetry(ctx actor.Context) {
	if g.retryArmed {
		return
	}
	g.retryArmed = true
	g.retryDelay = min(max(2*g.retryDelay, 250*time.Millisecond), 2*time.Second)
	self, root := ctx.Self(), ctx.ActorSystem().Root
	time.AfterFunc(g.retryDelay, func() { root.Send(self, saveRetryMsg) })
}

// deliver appends the first n queued batches to the rings, sends them to every subscribed node
// in one Delta and acknowledges their senders.
func (g *roomGrain) deliver(ctx actor.Context, n int, undurable bool) {
	if n == 0 {
		return
	}
	var d *pb.Delta
	for _, b := range g.queue[:n] {
		if d == nil {
			d = &pb.Delta{Epoch: g.room.Epoch()}
		}
		for _, m := range b.msgs {
			if g.node.cfg.DurableStamps && !g.appendToSet(m) {
				continue
			}
			if undurable {
				g.node.metrics.Undurable.WithLabelValues(m.Pri.String()).Inc()
				if m.Pri.Protected() {
					g.protGen++ // it must reach the store with the next full save
				}
			}
			d.Msgs = append(d.Msgs, toPB(m))
		}
		d.Bans = append(d.Bans, b.bans...)
		if b.caps {
			d.Caps = capsToPB(g.room.Config().Caps())
		}
	}
	d.Online = g.online()
	for _, s := range g.subs {
		ctx.Send(s.pid, d)
	}
	g.node.metrics.DeltasSent.Add(float64(len(g.subs)))
	for _, b := range g.queue[:n] {
		for _, w := range b.waiters {
			ctx.Send(w.to, w.reply)
		}
	}
	clear(g.queue[:n])
	g.queue = g.queue[n:]
	if len(g.queue) == 0 {
		g.queue = nil
	}
}

// appendToSet adds an accepted message to the grain's rings, counting what it evicts.
func (g *roomGrain) appendToSet(m *ring.Message) bool {
	evicted, err := g.set.Append(m)
	if err != nil {
		g.logger().Error("append refused", "err", err) // a bug: stamps are gapless by construction
		return false
	}
	if evicted != nil {
		g.room.StatsRef().Evicted++
		g.node.metrics.Evicted.Inc(evicted.Pri)
	}
	return true
}

// fenceOff stops an activation that a newer one has replaced: what it had not delivered is
// refused to its senders (they retry and reach the newer activation) and nothing more is saved.
func (g *roomGrain) fenceOff(ctx actor.Context) {
	if g.fenced {
		return
	}
	g.fenced = true
	g.logger().Warn("a newer activation of the room claimed it: this one stops")
	g.node.metrics.Fenced.Inc()
	refuse := &pb.SendReply{Error: errToPB(rooms.Errorf(rooms.CodeUnavailable, "the room moved; retry"))}
	for _, b := range append(g.queue, g.pending) {
		for _, w := range b.waiters {
			ctx.Send(w.to, refuse)
		}
	}
	g.queue, g.pending = nil, batch{}
	g.refuseCounterWaiters(ctx, nil)
	ctx.Poison(ctx.Self())
}

// diverge: a replica holds stamps of this epoch that this activation does not know (an earlier
// activation delivered them without the store, then crashed). Continuing would stamp those
// seqs again, so the room starts a new epoch (its history is lost, as PROTOCOL.md section 1
// lets an epoch say) and restamps what it has not delivered yet.
func (g *roomGrain) diverge() {
	g.logger().Warn("a replica holds stamps this activation never saw (delivered while the store did not answer): starting a new epoch")
	g.node.metrics.Epochs.Inc()
	g.room.NewEpoch()
	g.set = ring.NewSet(g.room.Config().Caps())
	now := time.Now()
	restamp := func(b *batch) {
		for i, m := range b.msgs {
			b.msgs[i] = g.room.Restamp(m, now)
		}
		for _, w := range b.waiters {
			w.reply.Ts, w.reply.Seq = b.msgs[w.idx].TS, b.msgs[w.idx].Seq
		}
	}
	for i := range g.queue {
		restamp(&g.queue[i])
	}
	restamp(&g.pending)
	g.durableSeq, g.indexedSeq = 0, 0
	g.protGen++
	g.modGen++
}

// checkFence asks the store whether a newer activation has claimed the room (a node frozen
// while its rooms moved, then resumed, finds out here even if it stamps nothing).
func (g *roomGrain) checkFence(ctx actor.Context) {
	if !g.node.clustered || !g.loaded || g.fenced || g.checkingFence {
		return
	}
	g.checkingFence = true
	store, room, fence, timeout := g.node.cfg.Store, g.id, g.fence, g.node.cfg.RequestTimeout
	self, root := ctx.Self(), ctx.ActorSystem().Root
	go func() {
		c, cancel := context.WithTimeout(context.Background(), timeout)
		err := store.CheckFence(c, room, fence)
		cancel()
		root.Send(self, &fenceChecked{err: err})
	}()
}

// loadAgain retries reading the room's state after it failed at activation.
func (g *roomGrain) loadAgain(ctx actor.Context, after time.Duration) {
	store, room, timeout := g.node.cfg.Store, g.id, g.node.cfg.LoadTimeout
	self, root := ctx.Self(), ctx.ActorSystem().Root
	time.AfterFunc(after, func() {
		c, cancel := context.WithTimeout(context.Background(), timeout)
		st, found, fence, err := store.LoadRoom(c, room)
		cancel()
		root.Send(self, &loadDone{st: st, found: found, fence: fence, err: err})
	})
}

// loaded: the state read after a failed first load. The room keeps its new epoch (its
// history is already a new one) and takes the stored config and moderation, so that a store
// outage at activation loses no ban.
func (g *roomGrain) loadedLate(ctx actor.Context, l *loadDone) {
	if g.loaded || g.stopped {
		return
	}
	if l.err != nil {
		g.loadAgain(ctx, time.Second)
		return
	}
	g.loaded, g.fence = true, l.fence
	if l.found {
		now := time.Now()
		if !g.configSet {
			g.room.SetConfig(l.st.Config, now)
			if g.set.Caps() != g.room.Config().Caps() {
				g.set.Resize(g.room.Config().Caps())
				g.pending.caps = true
				g.armFlush(ctx)
			}
		}
		g.room.MergeModeration(l.st.Moderation, now)
	}
	g.countersLoadedLate(ctx, l.st.Counters)
	g.modGen++
	g.logger().Info("room state read after all; its config and moderation are kept", "found", l.found)
	g.startSave(ctx)
}
