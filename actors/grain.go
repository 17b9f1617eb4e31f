package actors

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"

	"github.com/liveroom/liveroom/actors/pb"
	"github.com/liveroom/liveroom/ring"
	"github.com/liveroom/liveroom/rooms"
)

// roomKind is the cluster kind of the room grain.
const roomKind = "room"

// roomGrain is the room's single writer: stamping, limits, moderation, the authoritative rings,
// and the fan-out of deltas to subscribed nodes. State is touched only inside Receive. How a
// stamped message reaches the store and the viewers is in grain_batch.go.
type roomGrain struct {
	node *Node
	id   string

	room *rooms.Room
	set  *ring.Set   // the delivered messages (with a shared store; else every accepted one): what replicas may hold
	subs subscribers // grain_subs.go

	fence  uint64 // this activation's claim on the room in the store
	loaded bool   // the state was read from the store (or it has none); false: a new epoch after a failed read
	fenced bool   // a newer activation claimed the room: this one is stopping

	pending       batch   // accepted since the last flush
	queue         []batch // flushed, waiting for the store (durable mode), oldest first
	saving        *saveJob
	undurable     bool // the store did not answer in time: batches go out without waiting
	durableSeq    uint64
	indexedSeq    uint64 // the store's history index has the ts of the stamps up to this seq
	retryArmed    bool
	retryDelay    time.Duration
	checkingFence bool

	// What the store has: protGen counts protected messages accepted (and protected ones
	// delivered undurably), modGen config and moderation changes; saved* is what the last
	// successful full save held.
	protGen, savedProt uint64
	modGen, savedMod   uint64
	lastFull           time.Time
	configSet          bool // the config was changed in this activation

	flushArmed bool
	flushAt    int64 // unix nanos: the armed flush is due (grain_visits.go)
	lastFlush  int64 // unix nanos of the previous flush
	checkAt    int64 // unix nanos: the next renew check is due
	lastUse    int64 // unix nanos of the last request (the idle stop counts from it)
	slot       schedSlot
	stopped    bool

	cnt grainCounters // grain_counters.go
}

func newRoomGrain(n *Node) actor.Actor { return &roomGrain{node: n} }

// logger is the node's logger with the room: made when the grain logs (rarely), not kept (a
// logger with an attribute costs ~150 B per room).
func (g *roomGrain) logger() *slog.Logger { return g.node.log.With("room", g.id) }

func (g *roomGrain) Receive(ctx actor.Context) {
	msg := ctx.Message()
	now := time.Now()
	if _, quiet := msg.(quietMsg); !quiet {
		g.lastUse = now.UnixNano()
	}
	g.receive(ctx, msg)
	switch msg.(type) {
	case *actor.Started, *actor.Stopping, *actor.Stopped, *actor.Restarting:
		return
	}
	g.flushIfDue(ctx, now)
	g.plan(now)
}

func (g *roomGrain) receive(ctx actor.Context, msg any) {
	switch msg := msg.(type) {
	case *cluster.ClusterInit:
		g.init(ctx, msg.Identity.Identity)
	case *pb.SendRequest:
		if r := g.send(ctx, msg); r != nil {
			ctx.Respond(r)
		}
	case *pb.UnpinRequest:
		if r := g.unpin(ctx, msg); r != nil {
			ctx.Respond(r)
		}
	case *grainVisit:
		g.visit(ctx, time.Now())
	case *membersGone:
		g.membersLeft(ctx, msg)
	case *saveDone:
		g.saveDone(ctx, msg)
	case *saveSlow:
		g.saveSlow(ctx, msg)
	case *saveRetry:
		g.retryArmed = false
		g.startSave(ctx)
	case *fenceChecked:
		g.checkingFence = false
		if msg.err == rooms.ErrFenced {
			g.fenceOff(ctx)
		}
	case *loadDone:
		g.loadedLate(ctx, msg)
	case *pb.Subscribe:
		ctx.Respond(g.subscribe(ctx, msg))
	case *pb.Unsubscribe:
		g.subs.drop(msg.Node)
		g.onlineChanged(ctx)
	case *pb.JoinCheck:
		ctx.Respond(g.joinCheck(msg))
	case *pb.ConfigRequest:
		ctx.Respond(g.config(ctx, msg))
	case *pb.ModerateRequest:
		ctx.Respond(g.moderate(ctx, msg))
	case *pb.KickRequest:
		g.broadcast(ctx, &pb.Kick{Uid: msg.Uid, Reason: "kicked"})
		ctx.Respond(&pb.Ack{})
	case *pb.InfoRequest:
		ctx.Respond(g.info(msg))
	case *pb.ListRequest:
		ctx.Respond(g.list(msg))
	case *pb.StatsAdd:
		st := g.room.StatsRef()
		st.Notifies += msg.Notifies
		st.Pulls += msg.Pulls
	case *actor.Stopping:
		g.stop(ctx)
	default:
		g.receiveCounters(ctx, msg)
	}
}

func (g *roomGrain) init(ctx actor.Context, id string) {
	g.id = id
	now := time.Now()
	c, cancel := context.WithTimeout(context.Background(), g.node.cfg.LoadTimeout)
	st, found, fence, err := g.node.cfg.Store.LoadRoom(c, id)
	cancel()
	g.fence, g.loaded = fence, err == nil
	g.initCounters(st.Counters)
	if err != nil {
		// The store does not answer: start a new history rather than refuse the room (the new
		// epoch tells clients to reset their seq accounting), and read the state again in the
		// background for its config and moderation (loadedLate).
		g.node.storeFailed("room state not loaded; the room starts a new epoch", err)
		found = false
		g.loadAgain(ctx, time.Second)
	}
	if found {
		g.room = rooms.RestoreRoom(id, st, now)
		g.set = ring.NewSet(g.room.Config().Caps())
		protected := make([]*ring.Message, 0, len(st.Protected))
		for _, sm := range st.Protected {
			protected = append(protected, sm.Message())
		}
		sn := ring.Snapshot{LastTS: st.LastTS, LastSeq: st.LastSeq, IndexFirstSeq: st.LastSeq + 1, Msgs: protected}
		if len(st.Index.TS) > 0 { // the stored history index: dropped stays exact across the move
			sn.IndexFirstSeq, sn.IndexTS = st.Index.From, st.Index.TS
		}
		if err := g.set.Import(sn); err != nil {
			g.logger().Warn("stored history not restored whole; the protected messages only", "err", err)
			sn.IndexFirstSeq, sn.IndexTS = st.LastSeq+1, nil
			if err := g.set.Import(sn); err != nil {
				g.logger().Warn("protected messages not restored", "err", err)
				_ = g.set.Import(ring.Snapshot{LastTS: st.LastTS, LastSeq: st.LastSeq, IndexFirstSeq: st.LastSeq + 1})
			}
		}
	} else {
		g.room = rooms.NewRoom(id, rooms.DefaultConfig())
		g.set = ring.NewSet(g.room.Config().Caps())
	}
	g.durableSeq, g.indexedSeq = g.room.LastSeq(), g.room.LastSeq()
	g.lastFull = now
	g.markActive(true)
	g.node.grainStarted(id, ctx.Self())
	g.startVisits(ctx, now)
}

func (g *roomGrain) online() int64 {
	var n int64
	for _, s := range g.subs {
		n += s.viewers
	}
	return n
}

// subscribe registers or renews a node's replica. A replica on another epoch (or asking) gets a
// snapshot of what was delivered; the reply's head tells a replica in the same epoch whether it
// missed a delta (every delta sent before the reply reaches it first: one ordered stream per
// pair of nodes). A replica ahead of the grain in the same epoch proves that an earlier
// activation delivered stamps this one does not know, and the room takes a new epoch (diverge).
func (g *roomGrain) subscribe(ctx actor.Context, s *pb.Subscribe) *pb.SubscribeReply {
	pid := actor.NewPID(s.ReplicaAddress, s.ReplicaId)
	sub := g.subs.get(s.Node)
	if sub == nil || !sub.pid.Equal(pid) {
		sub = &subscriber{node: s.Node, pid: pid}
		g.subs.put(sub)
	}
	sub.viewers = s.Viewers
	sub.renewed = time.Now()
	g.onlineChanged(ctx)
	if s.Epoch == g.room.Epoch() && s.LastSeq > 0 {
		ts, known := g.set.TSOf(s.LastSeq)
		if s.LastSeq > g.set.LastSeq() || known && ts != s.LastTs {
			g.diverge()
			g.armFlush(ctx)
		}
	}
	self := ctx.Self()
	reply := &pb.SubscribeReply{Online: g.online(), NodeViewers: s.Viewers, GrainAddress: self.Address, GrainId: self.Id,
		Epoch: g.room.Epoch(), LastSeq: g.set.LastSeq(), Counters: g.counterTotals()}
	if s.WantSnapshot || s.Epoch != g.room.Epoch() {
		reply.Snapshot = snapshotToPB(g.room.Epoch(), g.set.Snapshot(), g.room.Config().Caps())
		reply.Snapshot.Online = reply.Online
		reply.Snapshot.Bans = g.bans(time.Now())
	}
	return reply
}

// bans is the room's ban list as replicas keep it.
func (g *roomGrain) bans(now time.Time) []*pb.Ban {
	entries := g.room.Entries(rooms.Bans, now)
	out := make([]*pb.Ban, 0, len(entries))
	for _, e := range entries {
		out = append(out, banToPB(e.UID, e.Until, true))
	}
	return out
}

// renewCheck runs every RenewInterval while the grain is busy, every LinkKeepAlive when it is
// quiet (grain_visits.go): it forgets nodes that stopped renewing (crashed or left without a
// word), saves config and moderation changes, and checks the room's claim.
func (g *roomGrain) renewCheck(ctx actor.Context) {
	if g.stopped || g.fenced {
		return
	}
	if g.stalled() {
		// This check itself came late (the process was stopped): later batches wait for the
		// store and the claim checked below, as flush does when it sees the stall first.
		g.endUndurable()
	}
	now := time.Now()
	deadline := now.Add(-3 * g.node.cfg.LinkKeepAlive)
	g.subs.keep(func(s *subscriber) bool { return !s.renewed.Before(deadline) })
	g.onlineChanged(ctx)
	g.pruneFlushMarks(deadline)
	g.startSave(ctx)
	g.checkFence(ctx)
}

func (g *roomGrain) joinCheck(j *pb.JoinCheck) *pb.JoinReply {
	if j.Uid != "" && g.room.Banned(j.Uid, time.Now()) {
		return &pb.JoinReply{Error: errToPB(rooms.Errorf(rooms.CodeBanned, "banned from this room"))}
	}
	r := &pb.JoinReply{Epoch: g.room.Epoch(), Ts: g.set.LastTS(), Seq: g.set.LastSeq(), Online: g.online(),
		Counters: g.cnt.totals.Clone()}
	if s := g.subs.get(j.Node); s != nil {
		r.NodeViewers = s.viewers
	}
	if j.Recent > 0 {
		r.Since = g.set.SinceRecent(int(j.Recent))
	}
	for _, m := range g.room.Pinned(time.Now()) {
		if m.TS <= r.Ts { // delivered (a pin still waiting for the store comes with its window)
			r.Pinned = append(r.Pinned, toPB(m))
		}
	}
	return r
}

func (g *roomGrain) config(ctx actor.Context, req *pb.ConfigRequest) *pb.ConfigReply {
	cfg := g.room.Config()
	if len(req.PatchJson) > 0 {
		var patch rooms.ConfigPatch
		if err := json.Unmarshal(req.PatchJson, &patch); err != nil {
			return &pb.ConfigReply{Error: errToPB(rooms.Errorf(rooms.CodeBadRequest, "config: "+err.Error()))}
		}
		next, err := patch.Apply(cfg)
		if err != nil {
			return &pb.ConfigReply{Error: errToPB(err)}
		}
		g.room.SetConfig(next, time.Now())
		if next.Caps() != cfg.Caps() {
			evicted := g.set.Resize(next.Caps())
			g.room.StatsRef().Evicted += uint64(evicted)
			g.pending.caps = true
			g.armFlush(ctx)
		}
		if next.CountersIntervalMS != cfg.CountersIntervalMS {
			g.cnt.changed = true
			g.armCounterBroadcast(ctx)
		}
		cfg = next
		g.configSet = true
		g.modGen++
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return &pb.ConfigReply{Error: errToPB(err)}
	}
	return &pb.ConfigReply{ConfigJson: b}
}

func (g *roomGrain) moderate(ctx actor.Context, req *pb.ModerateRequest) *pb.Ack {
	op := rooms.ModOp{List: rooms.List(req.List), UID: req.Uid, Set: req.Set, TTL: time.Duration(req.TtlMs) * time.Millisecond}
	now := time.Now()
	if err := g.room.Moderate(op, now); err != nil {
		return &pb.Ack{Error: errToPB(err)}
	}
	g.modGen++
	if op.List == rooms.Bans {
		var until time.Time
		if op.Set && op.TTL > 0 {
			until = now.Add(op.TTL)
		}
		g.pending.bans = append(g.pending.bans, banToPB(op.UID, until, op.Set))
		g.armFlush(ctx)
		if op.Set {
			g.broadcast(ctx, &pb.Kick{Uid: req.Uid, Reason: "banned"})
		}
	}
	return &pb.Ack{}
}

func (g *roomGrain) broadcast(ctx actor.Context, msg any) {
	for _, s := range g.subs {
		ctx.Send(s.pid, msg)
	}
}

func (g *roomGrain) info(req *pb.InfoRequest) *pb.InfoReply {
	info := rooms.Info{
		Room: g.id, Node: g.node.cfg.Node, Epoch: g.room.Epoch(), Online: g.online(), TS: g.set.LastTS(), Seq: g.set.LastSeq(),
		Config: g.room.Config(), Stats: *g.room.StatsRef(), Undurable: g.undurable, Counters: g.cnt.totals.Clone(),
	}
	if info.Counters == nil {
		info.Counters = rooms.Counters{} // always present: "counters":{}
	}
	b, _ := json.Marshal(info)
	r := &pb.InfoReply{InfoJson: b}
	if s := g.subs.get(req.Node); s != nil {
		r.NodeViewers = s.viewers
	}
	return r
}

// stop delivers what is pending, saves the room (bounded by StoreWait: a passivating or
// shutting-down grain does not wait long for a store that hangs), or forgets it when it holds
// nothing worth keeping.
func (g *roomGrain) stop(ctx actor.Context) {
	if g.room == nil || g.stopped {
		return
	}
	g.stopped = true
	g.node.sched.cancel(&g.slot)
	defer g.tellSubscribersGone(ctx)
	if g.undurable {
		g.node.undurableRooms.Add(-1)
		g.node.metrics.UndurableRooms.Dec()
	}
	defer g.node.grainStopped(g.id, ctx.Self())
	if g.fenced {
		return
	}
	if !g.pending.empty() {
		g.queue = append(g.queue, g.pending)
		g.pending = batch{}
	}
	now := time.Now()
	c, cancel := context.WithTimeout(context.Background(), max(g.node.cfg.StoreWait, 2*time.Second))
	defer cancel()
	counted := g.stopCounters(ctx, c)
	var err error
	if g.saving != nil {
		// A save on its way holds an older head or state: landing after the final one, it
		// would undo it, and the next activation would stamp again seqs delivered here (or
		// lose the newest notices). It is waited for; one that does not answer in time leaves
		// this stop without the store.
		select {
		case <-g.saving.done:
			if errors.Is(g.saving.err, rooms.ErrFenced) {
				g.fenceOff(ctx)
				return
			}
			if g.saving.err == nil { // what saveDone would have recorded: the final save follows it
				g.durableSeq = max(g.durableSeq, g.saving.seq)
				g.indexedSeq = max(g.indexedSeq, g.saving.seq)
			}
		case <-c.Done():
			err = rooms.Errorf(rooms.CodeUnavailable, "a save of the room's state did not answer")
		}
	}
	switch {
	case err != nil:
	case !g.loaded:
		err = rooms.Errorf(rooms.CodeUnavailable, "the room's state was never read")
	case g.room.Empty(now) && !counted:
		err = g.node.cfg.Store.DeleteRoom(c, g.id, g.fence)
	default:
		st := g.room.State(g.protectedAll(), now)
		st.Index = g.indexRun(g.room.LastSeq())
		err = g.node.cfg.Store.SaveRoom(c, g.id, st, g.fence)
	}
	if err == rooms.ErrFenced {
		g.fenceOff(ctx)
		return
	}
	if err != nil {
		g.node.storeFailed("room state not saved at stop", err)
	}
	g.deliver(ctx, len(g.queue), err != nil && g.node.cfg.DurableStamps)
	g.markActive(false)
}

// markActive lists the room among the active ones (POST /v1/notices reaches them all), on a
// goroutine of its own: a store that hangs does not hold up the room.
func (g *roomGrain) markActive(active bool) {
	store, room, timeout, node := g.node.cfg.Store, g.id, g.node.cfg.RequestTimeout, g.node
	go func() {
		c, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		if err := store.MarkActive(c, room, active); err != nil {
			node.storeFailed("room activity", err)
		}
	}()
}
