package actors

import (
	"context"
	"errors"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/liveroom/liveroom/actors/pb"
	"github.com/liveroom/liveroom/ring"
	"github.com/liveroom/liveroom/wire"
)

// replicaActor is the single writer of a Replica: it applies deltas, keeps the members, runs
// the dispatch rounds and keeps the node subscribed with the room's grain (the link).
//
// The link: the replica subscribes by the room's identity (so whichever node hosts the grain
// now answers, activating it if needed) on a goroutine of its own, and renews every
// RenewInterval, at once when its viewer count changes or the cluster's members change, and
// after a failure with a backoff (100 ms doubling to RenewInterval). Nothing in Receive waits
// for the grain: a lookup that hangs while a dead node's partition times out delays the link,
// never the rounds. The reply carries the grain's delivered head: a replica behind it (a lost
// delta) or on another epoch gets a snapshot.
type replicaActor struct {
	r       *Replica
	members []*Member

	grain     *actor.PID // the grain as of the last reply (for fire-and-forget messages)
	linking   bool       // a subscribe is in flight
	relink    bool       // subscribe again once it answers
	relinkSn  bool       // ... asking for a snapshot
	ready     bool       // the first snapshot is in
	lastLink  time.Time  // when the last subscribe began
	linkFails int        // subscribes failed in a row
	nextLink  time.Time  // not before (backoff after failures)

	lastTS   int64 // newest ts in the set (a copy, so rounds need no lock)
	roundTS  int64 // lastTS as of the previous round
	marked   int   // members holding a mark after the previous round (0: skip idle rounds)
	frame    *SharedFrame
	reported int64 // viewers last reported to the grain
	stop     chan struct{}
	cnt      replicaCountersState // replica_counters.go
}

type roundTick struct{}

// linkResult is a subscribe's answer, delivered into the replica's mailbox.
type linkResult struct {
	reply *pb.SubscribeReply
	err   error
}

// linkNow: the cluster's members changed; renew at once (the grain may have moved).
type linkNow struct{}

var (
	roundMsg   = &roundTick{}
	linkNowMsg = &linkNow{}
)

func (roundTick) NotInfluenceReceiveTimeout()  {}
func (linkResult) NotInfluenceReceiveTimeout() {}
func (linkNow) NotInfluenceReceiveTimeout()    {}

func (a *replicaActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		a.start(ctx)
	case *pb.Delta:
		a.apply(ctx, msg)
	case *roundTick:
		a.r.tickQueued.Store(false)
		a.tick(ctx, time.Now())
	case *linkResult:
		a.linked(ctx, msg)
	case *linkNow:
		if a.ready {
			a.link(ctx, false)
		}
	case *Member:
		if msg.gone.Load() {
			a.remove(msg)
		} else {
			a.add(msg)
		}
	case *pb.Kick:
		a.kick(msg.Uid, msg.Reason)
	case *pb.CounterTotals:
		a.counterTotals(msg)
	case *countersFlushed:
		a.countersFlushed(msg)
	case *actor.Stopping:
		a.flushCountersAtStop(ctx)
		close(a.stop)
		a.r.dropCache()
		if a.grain != nil {
			ctx.Send(a.grain, &pb.Unsubscribe{Node: a.r.node.cfg.Node})
		}
		a.reportStats(ctx)
	}
}

func (a *replicaActor) start(ctx actor.Context) {
	r := a.r
	r.pid = ctx.Self()
	a.stop = make(chan struct{})
	r.set = ring.NewSet([ring.NumPriorities]int{1, 1, 1, 1}) // replaced by the first snapshot
	a.link(ctx, true)
	go func(stop chan struct{}, self *actor.PID, root *actor.RootContext, every time.Duration) {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				// At most one tick waits in the mailbox: a round slower than the tick (a big
				// room under load) must not pile ticks up in front of the deltas.
				if r.tickQueued.CompareAndSwap(false, true) {
					root.Send(self, roundMsg)
				}
			}
		}
	}(a.stop, ctx.Self(), ctx.ActorSystem().Root, r.node.cfg.DispatchInterval)
}

// link subscribes (or renews) with the room's grain on a goroutine; the answer comes back as a
// linkResult. One subscribe is in flight at a time; a second request waits for it.
func (a *replicaActor) link(ctx actor.Context, snapshot bool) {
	if a.linking {
		a.relink, a.relinkSn = true, a.relinkSn || snapshot
		return
	}
	a.linking = true
	a.lastLink = time.Now()
	msg := a.subscribeMsg(snapshot || !a.ready)
	n, room := a.r.node, a.r.room
	self, root := ctx.Self(), ctx.ActorSystem().Root
	go func() {
		c, cancel := context.WithTimeout(context.Background(), n.cfg.RequestTimeout)
		res, err := n.request(c, room, msg)
		cancel()
		reply, ok := res.(*pb.SubscribeReply)
		if err == nil && !ok {
			err = errUnexpected(res)
		}
		root.Send(self, &linkResult{reply: reply, err: err})
	}()
}

func (a *replicaActor) subscribeMsg(snapshot bool) *pb.Subscribe {
	r := a.r
	a.reported = r.local.Load()
	m := &pb.Subscribe{Node: r.node.cfg.Node, ReplicaAddress: r.pid.Address, ReplicaId: r.pid.Id,
		Viewers: a.reported, WantSnapshot: snapshot}
	if a.ready { // the actor is the set's only writer: no lock needed to read it here
		m.Epoch, m.LastSeq, m.LastTs = r.epoch, r.set.LastSeq(), r.set.LastTS()
	}
	return m
}

// linked takes a subscribe's answer: the grain's pid, the online count, a snapshot if one came,
// and whether the replica missed a delta.
func (a *replicaActor) linked(ctx actor.Context, lr *linkResult) {
	r := a.r
	a.linking = false
	if lr.err != nil {
		a.linkFails++
		a.nextLink = time.Now().Add(min(100*time.Millisecond<<min(a.linkFails-1, 8), r.node.cfg.RenewInterval))
		if !a.ready { // the first subscribe failed: this replica cannot serve
			r.readyErr = lr.err
			close(r.ready)
			ctx.Stop(ctx.Self())
			return
		}
		r.node.linkFailed(r.room, lr.err)
		a.relinkIfAsked(ctx)
		return
	}
	a.linkFails = 0
	reply := lr.reply
	a.grain = actor.NewPID(reply.GrainAddress, reply.GrainId)
	r.remoteOnline.Store(max(0, reply.Online-reply.NodeViewers))
	if reply.Counters != nil {
		a.counterTotals(reply.Counters)
	}
	if reply.Snapshot != nil {
		if err := a.importSnapshot(reply.Snapshot); errors.Is(err, errDiverged) {
			// The subscribe carries this replica's head: the grain sees the divergence and
			// answers with a new epoch, which viewers take as a reset.
			a.link(ctx, true)
			return
		} else if err != nil {
			r.node.log.Warn("replica snapshot refused", "room", r.room, "err", err)
		}
	}
	if !a.ready {
		if reply.Snapshot == nil {
			r.readyErr = errUnexpected(reply)
			close(r.ready)
			ctx.Stop(ctx.Self())
			return
		}
		a.ready = true
		close(r.ready)
	}
	if reply.Epoch == r.epoch && reply.LastSeq > r.set.LastSeq() {
		// Every delta sent before the reply came before it: this replica missed one.
		a.link(ctx, true)
		return
	}
	a.relinkIfAsked(ctx)
}

func (a *replicaActor) relinkIfAsked(ctx actor.Context) {
	if a.relink {
		snap := a.relinkSn
		a.relink, a.relinkSn = false, false
		a.link(ctx, snap)
	}
}

// errDiverged: a snapshot in the replica's epoch holds another message at a seq the replica
// has served, so two activations of the room stamped the same seqs (a split during a
// membership change).
var errDiverged = errors.New("the snapshot's stamps differ from the replica's in the same epoch")

// importSnapshot replaces the local content with the grain's, unless the replica is already
// past it in the same epoch (a snapshot older than deltas applied since it was taken). A
// snapshot in the same epoch must agree with the replica's newest message: deltas from an
// earlier activation may have reached the replica while the snapshot was on its way, and
// replacing them silently would hand viewers a second message at a seq they already counted.
func (a *replicaActor) importSnapshot(p *pb.Snapshot) error {
	r := a.r
	sameEpoch := a.ready && p.Epoch == r.epoch
	if sameEpoch && p.LastSeq < r.set.LastSeq() {
		return nil
	}
	caps, ok := capsFromPB(p.Caps)
	if !ok {
		return errUnexpected(p)
	}
	set := ring.NewSet(caps)
	if err := set.Import(snapshotFromPB(p)); err != nil {
		return err
	}
	if last := r.set.LastSeq(); sameEpoch && last > 0 {
		if ts, known := set.TSOf(last); known && ts != r.set.LastTS() {
			return errDiverged
		}
	}
	bans := make(map[string]int64, len(p.Bans))
	for _, b := range p.Bans {
		bans[b.Uid] = b.UntilMs
	}
	r.mu.Lock()
	if r.epoch != p.Epoch {
		r.expectSeq.Store(0) // a seq of another epoch is nothing to wait for
	}
	r.set, r.epoch, r.bans = set, p.Epoch, bans
	r.gen++
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
	a.lastTS = set.LastTS()
	return nil
}

// apply appends a delta's new messages and ban changes; a new epoch or a seq gap asks for a
// snapshot. A message at a seq the replica holds with another ts shows that the room's stamps
// diverged: the next subscribe tells the grain, which starts a new epoch.
func (a *replicaActor) apply(ctx actor.Context, d *pb.Delta) {
	r := a.r
	if !a.ready {
		return // the first snapshot, still to come, holds it
	}
	if d.Epoch != r.epoch {
		a.link(ctx, true)
		return
	}
	lastSeq := r.set.LastSeq()
	msgs := make([]*ring.Message, 0, len(d.Msgs))
	for _, p := range d.Msgs {
		if p.Seq > lastSeq {
			msgs = append(msgs, fromPB(p))
		} else if ts, ok := r.set.TSOf(p.Seq); ok && ts != p.Ts {
			a.link(ctx, true)
			return
		}
	}
	if len(msgs) > 0 && msgs[0].Seq != lastSeq+1 {
		a.link(ctx, true)
		return
	}
	caps, capsChanged := capsFromPB(d.Caps)
	if len(msgs) == 0 && !capsChanged && len(d.Bans) == 0 {
		return
	}
	r.mu.Lock()
	if capsChanged {
		r.set.Resize(caps)
		r.gen++
	}
	for _, b := range d.Bans {
		if b.Set {
			r.bans[b.Uid] = b.UntilMs
		} else {
			delete(r.bans, b.Uid)
		}
	}
	var err error
	for _, m := range msgs {
		if _, err = r.set.Append(m); err != nil {
			break
		}
	}
	close(r.changed)
	r.changed = make(chan struct{})
	a.lastTS = r.set.LastTS()
	r.mu.Unlock()
	if err != nil {
		r.node.log.Warn("replica append failed; asking for a snapshot", "room", r.room, "err", err)
		a.link(ctx, true)
		return
	}
	a.baseline(msgs)
}

func (a *replicaActor) add(m *Member) {
	m.idx = len(a.members)
	a.members = append(a.members, m)
	a.marked++ // the next round looks at everyone: the new member may hold a join-time mark
	a.cnt.due = 0
}

func (a *replicaActor) remove(m *Member) {
	i := m.idx
	if i < 0 || i >= len(a.members) || a.members[i] != m {
		return
	}
	last := len(a.members) - 1
	a.members[i] = a.members[last]
	a.members[i].idx = i
	a.members[last] = nil
	a.members = a.members[:last]
	m.idx = -1
}

// kick removes every member of uid (a ban or a kick by the room) and tells their sessions.
func (a *replicaActor) kick(uid, reason string) {
	for i := 0; i < len(a.members); i++ {
		m := a.members[i]
		if m.sess.UID() != uid || !a.r.node.retireMember(m) {
			continue
		}
		a.remove(m)
		i--
		m.sess.Kick(a.r.room, reason)
		a.r.node.metrics.Kicks.WithLabelValues(reason).Inc()
	}
}

// countRenew: a changed viewer count is reported at most this often.
const countRenew = 250 * time.Millisecond

func (a *replicaActor) tick(ctx actor.Context, now time.Time) {
	if !a.ready {
		return
	}
	a.round(now)
	a.counterRound(now)
	a.flushCounters(ctx)
	a.reportStats(ctx)
	r := a.r
	since := now.Sub(a.lastLink)
	if !a.linking && !now.Before(a.nextLink) &&
		(since >= r.node.cfg.RenewInterval || a.linkFails > 0 || (r.local.Load() != a.reported && since >= countRenew)) {
		a.link(ctx, false)
	}
	if len(a.members) == 0 && now.UnixNano()-r.lastUse.Load() > r.node.cfg.ReplicaIdle.Nanoseconds() {
		if r.node.retireReplica(r) {
			ctx.Stop(ctx.Self())
		}
	}
}

func (a *replicaActor) reportStats(ctx actor.Context) {
	pulls, dropped := a.r.pulls.Swap(0), a.r.dropped.Swap(0)
	if pulls == 0 {
		return
	}
	met := a.r.node.metrics
	met.Pulls.Add(float64(pulls))
	met.DroppedInPull.Add(float64(dropped))
	if a.grain != nil {
		ctx.Send(a.grain, &pb.StatsAdd{Pulls: pulls})
	}
}

// pushWindow is one round's window for the push members at the same since.
type pushWindow struct {
	frame   *SharedFrame
	next    int64
	dropped uint64
}

// pushWindow encodes the window (since, latest] once as a `msgs` frame without id.
func (a *replicaActor) pushWindow(since int64) *pushWindow {
	res := a.r.pull(context.Background(), since, a.r.node.cfg.PushLimit, 0)
	b := make([]byte, 0, 48+len(a.r.room)+len(res.Epoch)+len(res.Body))
	b = wire.AppendMsgs(b, a.r.room, nil, res.Epoch, res.Body)
	return &pushWindow{frame: &SharedFrame{Data: b}, next: res.Next, dropped: res.Dropped}
}

// round is one notify dispatch round (PROTOCOL.md section 3): at most one notify per member,
// none while its pull is in progress, a retry after notify_retry, the kick after kick_after.
// A member is notified at most once per pace (DispatchInterval, or members x RoundPerMember in
// big rooms), so a room's dispatch CPU stays bounded whatever its size. Per member a round is
// a few atomic loads and at most one write of the shared frame.
func (a *replicaActor) round(now time.Time) {
	latest := a.lastTS
	fresh := latest != a.roundTS
	if !fresh && a.marked == 0 {
		return
	}
	a.roundTS = latest
	if a.frame == nil || fresh {
		a.frame = notifyFrame(a.r.room, latest)
	}
	cfg := &a.r.node.cfg
	pace := max(cfg.DispatchInterval, time.Duration(len(a.members))*cfg.RoundPerMember).Nanoseconds()
	nowN, retry, kickAfter := now.UnixNano(), cfg.NotifyRetry.Nanoseconds(), int32(cfg.KickAfter)
	var sent, merged, marked int
	var pushed map[int64]*pushWindow // this round's windows by since: shared by the push members
	for i := 0; i < len(a.members); i++ {
		m := a.members[i]
		if m.push {
			since := m.pulledTS.Load()
			if since >= latest {
				continue
			}
			marked++ // until its window is written
			if nowN-m.notifiedAt < pace {
				continue
			}
			if pushed == nil {
				pushed = make(map[int64]*pushWindow, 2)
			}
			pw := pushed[since]
			if pw == nil {
				pw = a.pushWindow(since)
				pushed[since] = pw
			}
			if m.sess.Notify(pw.frame) {
				m.notifiedAt = nowN
				m.pulledTS.Store(pw.next)
				a.r.dropped.Add(pw.dropped)
				sent++
				if pw.next >= latest {
					marked-- // a window cut short (more) continues next round, with nothing new
				}
			}
			continue
		}
		mark := m.markAt.Load()
		if mark == 0 {
			if m.pulledTS.Load() >= latest {
				continue
			}
			if nowN-m.notifiedAt < pace {
				marked++ // paced: look again next round even if nothing new arrives
				continue
			}
			if m.markAt.CompareAndSwap(0, nowN) {
				if m.sess.Notify(a.frame) {
					m.notifiedAt = nowN
					sent++
				} else {
					m.markAt.CompareAndSwap(nowN, 0) // busy: try again next round
				}
				marked++
			}
			continue
		}
		marked++
		if nowN-mark < retry {
			if fresh {
				merged++
			}
			continue
		}
		if m.unanswered.Add(1) >= kickAfter {
			if a.r.node.retireMember(m) {
				a.remove(m)
				i--
				marked--
				m.sess.Kick("", "unresponsive")
				a.r.node.metrics.Kicks.WithLabelValues("unresponsive").Inc()
			}
			continue
		}
		if m.markAt.CompareAndSwap(mark, nowN) && m.sess.Notify(a.frame) {
			m.notifiedAt = nowN
			sent++
		}
	}
	a.marked = marked
	if sent > 0 {
		a.r.node.metrics.NotifiesSent.Add(float64(sent))
		if a.grain != nil {
			a.r.node.system.Root.Send(a.grain, &pb.StatsAdd{Notifies: uint64(sent)})
		}
	}
	if merged > 0 {
		a.r.node.metrics.NotifiesMerged.Add(float64(merged))
	}
	a.observeRound(now, fresh && sent > 0, latest)
}

// observeRound samples the round's cost and, when the round wrote the first frames covering
// the newest message, that message's delivery lag (its ts is unix microseconds): one sample of
// each per replica round, whatever the number of viewers.
func (a *replicaActor) observeRound(began time.Time, delivered bool, latestTS int64) {
	met := a.r.node.metrics
	end := time.Now()
	met.RoundSeconds.Observe(end.Sub(began).Seconds())
	if delivered {
		if lag := end.UnixMicro() - latestTS; lag >= 0 {
			met.DeliveryLag.Observe(float64(lag) / 1e6)
		}
	}
}
