package actors

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/liveroom/liveroom/actors/pb"
)

// When a room grain does its timed work: the flush of a batch, the renew check (subscribers
// that stopped renewing, config and moderation saves, the room's claim) and the idle stop. The
// grain holds no timer of its own: it asks the node's scheduler (sched.go) for a visit at the
// earliest of what is due, and a visit (grainVisit) runs whatever has come due.
//
// Why: a grain kept a renew-check timer every RenewInterval and protoactor's receive-timeout
// timer, reset on every message, whether anything happened or not; 19,000 idle rooms did not
// even connect. Now a quiet grain (nothing unsaved, not undurable) checks once per
// LinkKeepAlive, a busy one every RenewInterval as before, and the idle stop (RoomIdle without
// subscribers or requests) is one more due time of the same visit.
//
// The first message after a quiet spell is flushed at once (leading edge): a small room's
// message goes to the replicas within the Receive that accepted it; the messages that follow
// within FlushInterval share the next flush, so a busy room still sends one delta per tick.
// A room on many nodes ticks less often (FlushPerNode): its deltas cost per node.

type grainVisit struct{}

var grainVisitMsg = &grainVisit{}

// A visit must not keep an idle grain alive.
func (grainVisit) NotInfluenceReceiveTimeout() {}

// quietMsg is a message that does not count as use of the room (self-messages of its cycles).
type quietMsg interface{ NotInfluenceReceiveTimeout() }

// startVisits gives the grain its place in the scheduler; init calls it.
func (g *roomGrain) startVisits(ctx actor.Context, now time.Time) {
	self, root := ctx.Self(), ctx.ActorSystem().Root
	g.slot.fire = func() { root.Send(self, grainVisitMsg) }
	g.lastUse = now.UnixNano()
	g.checkAt = now.Add(g.node.cfg.RenewInterval).UnixNano()
}

// visit runs what has come due.
func (g *roomGrain) visit(ctx actor.Context, now time.Time) {
	nowN := now.UnixNano()
	if g.flushArmed && nowN >= g.flushAt {
		g.flush(ctx)
	}
	if nowN >= g.checkAt {
		g.renewCheck(ctx)
		g.checked(now)
	}
	if len(g.subs) == 0 && nowN-g.lastUse >= g.node.cfg.RoomIdle.Nanoseconds() && !g.stopped {
		ctx.Poison(ctx.Self())
	}
}

// busy reports whether the renew check must come every RenewInterval: a save to retry, config
// or moderation changes or protected messages not saved yet, or deliveries without the store.
func (g *roomGrain) busy() bool {
	return g.undurable || g.retryArmed || g.checkingFence || g.modGen != g.savedMod || g.protGen != g.savedProt
}

// plan asks for the grain's next visit; Receive calls it after every message.
func (g *roomGrain) plan(now time.Time) {
	if g.stopped || g.slot.fire == nil {
		return
	}
	nowN := now.UnixNano()
	if g.busy() {
		g.checkAt = min(g.checkAt, nowN+g.node.cfg.RenewInterval.Nanoseconds())
	}
	next := g.checkAt
	if g.flushArmed {
		next = min(next, g.flushAt)
	}
	if len(g.subs) == 0 {
		next = min(next, g.lastUse+g.node.cfg.RoomIdle.Nanoseconds())
	}
	g.node.sched.at(&g.slot, next)
}

// checked: the renew check ran; the next one is due in RenewInterval when the grain is busy,
// else in LinkKeepAlive (the subscribers' renewals come that often).
func (g *roomGrain) checked(now time.Time) {
	every := g.node.cfg.LinkKeepAlive
	if g.busy() {
		every = g.node.cfg.RenewInterval
	}
	g.checkAt = now.Add(every).UnixNano()
}

// stalled reports whether the renew check is overdue by more than a RenewInterval: the process
// was stopped or starved, and a newer activation may own the room.
func (g *roomGrain) stalled() bool {
	return time.Now().UnixNano()-g.checkAt > g.node.cfg.RenewInterval.Nanoseconds()
}

// armFlush asks for the flush of the pending batch: at once after a quiet spell (the flush runs
// at the end of this Receive), else FlushInterval after the previous one, so that the
// messages accepted until then share one delta.
func (g *roomGrain) armFlush(ctx actor.Context) {
	if g.flushArmed {
		return
	}
	g.flushArmed = true
	g.flushAt = g.lastFlush + g.flushEvery()
}

// flushEvery is the room's tick: FlushInterval, stretched for a room on many nodes.
func (g *roomGrain) flushEvery() int64 {
	cfg := &g.node.cfg
	return max(cfg.FlushInterval, time.Duration(len(g.subs))*cfg.FlushPerNode).Nanoseconds()
}

// flushIfDue runs an armed flush that is due now, at the end of a Receive (the sender's answer,
// when there is one, has gone first).
func (g *roomGrain) flushIfDue(ctx actor.Context, now time.Time) {
	if g.flushArmed && !g.stopped && now.UnixNano() >= g.flushAt {
		g.flush(ctx)
	}
}

// membersLeft forgets the subscribers on nodes that left the cluster, or whose connection
// ended, unless they renewed since: a dead node will not renew, and its viewers are no longer
// online; a live one whose connection blipped relinks when it sees the same event.
func (g *roomGrain) membersLeft(ctx actor.Context, gone *membersGone) {
	g.subs.keep(func(s *subscriber) bool { return !gone.addrs[s.pid.Address] || !s.renewed.Before(gone.at) })
	g.onlineChanged(ctx)
}

// tellSubscribersGone: the grain stops with subscribers; each replica subscribes again at once
// (reaching the room's next activation) instead of at its next keep-alive. An Unsubscribe from
// the grain to a replica means "this activation dropped you".
//
// A node shutting down does not: its leaving the cluster relinks every replica anyway, and a
// relink now would activate the room here again while the node saves its rooms.
func (g *roomGrain) tellSubscribersGone(ctx actor.Context) {
	if len(g.subs) == 0 || g.node.shuttingDown() {
		return
	}
	msg := &pb.Unsubscribe{Node: g.node.cfg.Node}
	for _, s := range g.subs {
		ctx.Send(s.pid, msg)
	}
}

// membersGone is the node's word to its grains that members left (node.go).
// membersGone: the nodes at addrs left the member list, or (edges, which are not members) the
// connection to them ended, at `at`; a subscription renewed since is a live node's again.
type membersGone struct {
	addrs map[string]bool
	at    time.Time
}

func (membersGone) NotInfluenceReceiveTimeout() {}
