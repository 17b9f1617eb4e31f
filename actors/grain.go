package actors

import (
	"context"
	"encoding/json"
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

// subscriber is one node's RoomReplica as the grain knows it.
type subscriber struct {
	pid     *actor.PID
	viewers int64
	renewed time.Time
}

// roomGrain is the room's single writer: stamping, limits, moderation, the authoritative rings,
// and the fan-out of deltas to subscribed nodes. State is touched only inside Receive.
type roomGrain struct {
	node *Node
	id   string
	log  *slog.Logger

	room *rooms.Room
	set  *ring.Set
	subs map[string]*subscriber

	pending     []*pb.Msg // accepted since the last flush
	waiting     []waiter  // durable mode: senders answered once the flush has saved the head
	capsChanged bool
	flushArmed  bool
	dirty       bool // protected messages or config/moderation changed since the last save
	lastSave    time.Time
	stopped     bool
}

// waiter is a sender whose accepted message is acknowledged at the next flush.
type waiter struct {
	to    *actor.PID
	reply *pb.SendReply
}

// Internal self-messages. Pointers to package-level values: sending them allocates nothing.
type flushTick struct{}
type renewCheck struct{}

var (
	flushMsg = &flushTick{}
	renewMsg = &renewCheck{}
)

// The periodic check must not keep an idle grain alive.
func (renewCheck) NotInfluenceReceiveTimeout() {}

func newRoomGrain(n *Node) actor.Actor { return &roomGrain{node: n} }

func (g *roomGrain) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *cluster.ClusterInit:
		g.init(ctx, msg.Identity.Identity)
	case *pb.SendRequest:
		if r := g.send(ctx, msg); r != nil {
			ctx.Respond(r)
		}
	case *flushTick:
		g.flushArmed = false
		g.flush(ctx)
	case *pb.Subscribe:
		ctx.Respond(g.subscribe(msg))
	case *pb.Unsubscribe:
		delete(g.subs, msg.Node)
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
	case *pb.StatsAdd:
		st := g.room.StatsRef()
		st.Notifies += msg.Notifies
		st.Pulls += msg.Pulls
	case *renewCheck:
		g.expireSubscribers(ctx)
	case *actor.ReceiveTimeout:
		if len(g.subs) == 0 {
			ctx.Poison(ctx.Self())
		}
	case *actor.Stopping:
		g.stop(ctx)
	}
}

func (g *roomGrain) init(ctx actor.Context, id string) {
	g.id = id
	g.log = g.node.log.With("room", id)
	g.subs = make(map[string]*subscriber)
	now := time.Now()
	c, cancel := context.WithTimeout(context.Background(), g.node.cfg.RequestTimeout)
	st, found, err := g.node.cfg.Store.LoadRoom(c, id)
	cancel()
	if err != nil {
		// The store is unreachable: start a new history rather than refuse the room; the new
		// epoch tells clients to reset their seq accounting.
		g.log.Warn("room state not loaded; starting a new epoch", "err", err)
		found = false
	}
	if found {
		g.room = rooms.RestoreRoom(id, st, now)
		g.set = ring.NewSet(g.room.Config().Caps())
		protected := make([]*ring.Message, 0, len(st.Protected))
		for _, sm := range st.Protected {
			protected = append(protected, sm.Message())
		}
		if err := g.set.Import(ring.Snapshot{LastTS: st.LastTS, LastSeq: st.LastSeq, IndexFirstSeq: st.LastSeq + 1, Msgs: protected}); err != nil {
			g.log.Warn("protected messages not restored", "err", err)
			_ = g.set.Import(ring.Snapshot{LastTS: st.LastTS, LastSeq: st.LastSeq, IndexFirstSeq: st.LastSeq + 1})
		}
	} else {
		g.room = rooms.NewRoom(id, rooms.DefaultConfig())
		g.set = ring.NewSet(g.room.Config().Caps())
	}
	g.lastSave = now
	g.markActive(true)
	g.node.grainStarted(id, ctx.Self())
	ctx.SetReceiveTimeout(g.node.cfg.RoomIdle)
	g.scheduleRenewCheck(ctx)
}

func (g *roomGrain) send(ctx actor.Context, req *pb.SendRequest) *pb.SendReply {
	m, stamp, err := g.room.Accept(rooms.SendRequest{
		UID: req.Uid, Kind: req.Kind, Pri: ring.Priority(req.Pri), Body: req.Body, CMID: req.Cmid,
		Source: rooms.Source(req.Source),
	}, time.Now())
	if err != nil {
		if rooms.CodeOf(err) == rooms.CodeRateLimited {
			g.node.metrics.RateLimited.Inc()
		}
		return &pb.SendReply{Error: errToPB(err)}
	}
	if m == nil { // a repeated cmid
		return &pb.SendReply{Ts: stamp.TS, Seq: stamp.Seq, Dup: true}
	}
	evicted, err := g.set.Append(m)
	if err != nil {
		g.log.Error("append refused", "err", err)
		return &pb.SendReply{Error: errToPB(err)}
	}
	g.node.metrics.Accepted.Inc()
	if evicted != nil {
		g.room.StatsRef().Evicted++
		g.node.metrics.Evicted.Inc()
	}
	if m.Pri.Protected() {
		g.dirty = true
	}
	g.pending = append(g.pending, toPB(m))
	g.armFlush(ctx)
	reply := &pb.SendReply{Ts: stamp.TS, Seq: stamp.Seq}
	if g.node.cfg.DurableStamps && ctx.Sender() != nil {
		g.waiting = append(g.waiting, waiter{to: ctx.Sender(), reply: reply})
		return nil
	}
	return reply
}

// armFlush schedules one flush tick; messages accepted until it fires share one delta.
func (g *roomGrain) armFlush(ctx actor.Context) {
	if g.flushArmed {
		return
	}
	g.flushArmed = true
	self, root := ctx.Self(), ctx.ActorSystem().Root
	time.AfterFunc(g.node.cfg.FlushInterval, func() { root.Send(self, flushMsg) })
}

// flush sends the pending messages to every subscribed node: one Delta per node per tick.
func (g *roomGrain) flush(ctx actor.Context) {
	if len(g.pending) == 0 && !g.capsChanged {
		return
	}
	if g.node.cfg.DurableStamps && len(g.pending) > 0 {
		g.saveHead()
	}
	d := &pb.Delta{Epoch: g.room.Epoch(), Msgs: g.pending, Online: g.online()}
	if g.capsChanged {
		d.Caps = capsToPB(g.room.Config().Caps())
		g.capsChanged = false
	}
	g.pending = nil
	for _, s := range g.subs {
		ctx.Send(s.pid, d)
	}
	g.node.metrics.DeltasSent.Add(float64(len(g.subs)))
	for _, w := range g.waiting {
		ctx.Send(w.to, w.reply)
	}
	clear(g.waiting)
	g.waiting = g.waiting[:0]
	if g.dirty && time.Since(g.lastSave) >= g.node.cfg.SaveInterval {
		g.save()
	}
}

// saveHead makes the batch's stamps durable before they are acknowledged or delivered (durable
// mode: a shared store). Protected messages in the batch are saved with the whole state. A
// failing store is logged and traffic goes on: availability first, as DESIGN.md asks.
func (g *roomGrain) saveHead() {
	if g.dirty {
		g.save()
		if !g.dirty {
			return
		}
	}
	c, cancel := context.WithTimeout(context.Background(), g.node.cfg.RequestTimeout)
	defer cancel()
	err := g.node.cfg.Store.SaveHead(c, g.id, rooms.Head{Epoch: g.room.Epoch(), LastTS: g.set.LastTS(), LastSeq: g.set.LastSeq()})
	if err != nil {
		g.log.Warn("room head not saved", "err", err)
	}
}

func (g *roomGrain) online() int64 {
	var n int64
	for _, s := range g.subs {
		n += s.viewers
	}
	return n
}

func (g *roomGrain) subscribe(s *pb.Subscribe) *pb.SubscribeReply {
	pid := actor.NewPID(s.ReplicaAddress, s.ReplicaId)
	sub := g.subs[s.Node]
	if sub == nil || !sub.pid.Equal(pid) {
		sub = &subscriber{pid: pid}
		g.subs[s.Node] = sub
	}
	sub.viewers = s.Viewers
	sub.renewed = time.Now()
	reply := &pb.SubscribeReply{Online: g.online()}
	if s.WantSnapshot {
		// Pending messages are in the snapshot and will come again in the next delta;
		// the replica skips what it already has.
		reply.Snapshot = snapshotToPB(g.room.Epoch(), g.set.Snapshot(), g.room.Config().Caps())
		reply.Snapshot.Online = reply.Online
	}
	return reply
}

func (g *roomGrain) scheduleRenewCheck(ctx actor.Context) {
	self, root := ctx.Self(), ctx.ActorSystem().Root
	time.AfterFunc(g.node.cfg.RenewInterval, func() { root.Send(self, renewMsg) })
}

// expireSubscribers forgets nodes that stopped renewing (crashed or left without a word).
func (g *roomGrain) expireSubscribers(ctx actor.Context) {
	if g.stopped {
		return
	}
	deadline := time.Now().Add(-3 * g.node.cfg.RenewInterval)
	for node, s := range g.subs {
		if s.renewed.Before(deadline) {
			delete(g.subs, node)
		}
	}
	if g.dirty && time.Since(g.lastSave) >= g.node.cfg.SaveInterval {
		g.save()
	}
	g.scheduleRenewCheck(ctx)
}

func (g *roomGrain) joinCheck(j *pb.JoinCheck) *pb.JoinReply {
	if j.Uid != "" && g.room.Banned(j.Uid, time.Now()) {
		return &pb.JoinReply{Error: errToPB(rooms.Errorf(rooms.CodeBanned, "banned from this room"))}
	}
	r := &pb.JoinReply{Epoch: g.room.Epoch(), Ts: g.set.LastTS(), Seq: g.set.LastSeq(), Online: g.online()}
	if s := g.subs[j.Node]; s != nil {
		r.NodeViewers = s.viewers
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
			g.capsChanged = true
			g.armFlush(ctx)
		}
		cfg = next
		g.dirty = true
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return &pb.ConfigReply{Error: errToPB(err)}
	}
	return &pb.ConfigReply{ConfigJson: b}
}

func (g *roomGrain) moderate(ctx actor.Context, req *pb.ModerateRequest) *pb.Ack {
	op := rooms.ModOp{List: rooms.List(req.List), UID: req.Uid, Set: req.Set, TTL: time.Duration(req.TtlMs) * time.Millisecond}
	if err := g.room.Moderate(op, time.Now()); err != nil {
		return &pb.Ack{Error: errToPB(err)}
	}
	g.dirty = true
	if op.List == rooms.Bans && op.Set {
		g.broadcast(ctx, &pb.Kick{Uid: req.Uid, Reason: "banned"})
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
		Config: g.room.Config(), Stats: *g.room.StatsRef(),
	}
	b, _ := json.Marshal(info)
	r := &pb.InfoReply{InfoJson: b}
	if s := g.subs[req.Node]; s != nil {
		r.NodeViewers = s.viewers
	}
	return r
}

func (g *roomGrain) stop(ctx actor.Context) {
	if g.room == nil || g.stopped {
		return
	}
	g.stopped = true
	g.flush(ctx)
	g.save()
	g.markActive(false)
	g.node.grainStopped(g.id, ctx.Self())
}

// markActive lists the room among the active ones (POST /v1/notices reaches them all).
func (g *roomGrain) markActive(active bool) {
	c, cancel := context.WithTimeout(context.Background(), g.node.cfg.RequestTimeout)
	defer cancel()
	if err := g.node.cfg.Store.MarkActive(c, g.id, active); err != nil {
		g.log.Warn("room activity not recorded", "err", err)
	}
}

// save writes the room's durable state: config, moderation, protected messages, last ts/seq.
func (g *roomGrain) save() {
	protected := g.set.Protected()
	c, cancel := context.WithTimeout(context.Background(), g.node.cfg.RequestTimeout)
	defer cancel()
	if err := g.node.cfg.Store.SaveRoom(c, g.id, g.room.State(protected, time.Now())); err != nil {
		g.log.Warn("room state not saved", "err", err)
		return
	}
	g.dirty = false
	g.lastSave = time.Now()
}
