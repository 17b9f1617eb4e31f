package actors

import (
	"context"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"

	"github.com/liveroom/liveroom/actors/pb"
	"github.com/liveroom/liveroom/ring"
)

// replicaActor is the single writer of a Replica: it applies deltas, keeps the members, runs
// the dispatch rounds and renews the node's subscription with the room grain.
type replicaActor struct {
	r       *Replica
	members []*Member

	grain    *actor.PID
	lastTS   int64 // newest ts in the set (a copy, so rounds need no lock)
	roundTS  int64 // lastTS as of the previous round
	marked   int   // members holding a mark after the previous round (0: skip idle rounds)
	frame    *SharedFrame
	reported int64 // viewers last reported to the grain
	lastRenw time.Time
	stop     chan struct{}
}

type roundTick struct{}

var roundMsg = &roundTick{}

func (roundTick) NotInfluenceReceiveTimeout() {}

func (a *replicaActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		a.start(ctx)
	case *pb.Delta:
		a.apply(ctx, msg)
	case *roundTick:
		a.r.tickQueued.Store(false)
		a.tick(ctx, time.Now())
	case *Member:
		if msg.gone.Load() {
			a.remove(msg)
		} else {
			a.add(msg)
		}
	case *pb.Kick:
		a.kick(msg.Uid, msg.Reason)
	case *pb.SubscribeReply:
		a.r.remoteOnline.Store(max(0, msg.Online-a.reported))
	case *actor.Stopping:
		close(a.stop)
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
	err := a.resync(ctx)
	if err != nil {
		r.readyErr = err
		close(r.ready)
		ctx.Stop(ctx.Self())
		return
	}
	close(r.ready)
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

// resync subscribes with a snapshot and replaces the local content with it.
func (a *replicaActor) resync(ctx actor.Context) error {
	r := a.r
	res, err := r.node.cluster.Request(r.room, roomKind, a.subscribeMsg(true),
		cluster.WithTimeout(r.node.cfg.RequestTimeout), cluster.WithRetryCount(3))
	if err != nil {
		return err
	}
	reply, ok := res.(*pb.SubscribeReply)
	if !ok || reply.Snapshot == nil {
		return errUnexpected(res)
	}
	a.grain = r.node.cluster.Get(r.room, roomKind)
	sn := snapshotFromPB(reply.Snapshot)
	caps, ok := capsFromPB(reply.Snapshot.Caps)
	if !ok {
		return errUnexpected(res)
	}
	set := ring.NewSet(caps)
	if err := set.Import(sn); err != nil {
		return err
	}
	r.mu.Lock()
	r.set = set
	r.epoch = reply.Snapshot.Epoch
	r.gen++
	r.expectSeq.Store(0)
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
	a.lastTS = set.LastTS()
	a.lastRenw = time.Now()
	r.remoteOnline.Store(max(0, reply.Online-a.reported))
	return nil
}

func (a *replicaActor) subscribeMsg(snapshot bool) *pb.Subscribe {
	a.reported = a.r.local.Load()
	pid := a.r.pid
	return &pb.Subscribe{Node: a.r.node.cfg.Node, ReplicaAddress: pid.Address, ReplicaId: pid.Id,
		Viewers: a.reported, WantSnapshot: snapshot}
}

// apply appends a delta's new messages; anything inconsistent (new epoch, a seq gap) resyncs.
func (a *replicaActor) apply(ctx actor.Context, d *pb.Delta) {
	r := a.r
	r.mu.RLock()
	epoch, lastSeq := r.epoch, r.set.LastSeq()
	r.mu.RUnlock()
	if d.Epoch != epoch {
		a.resyncOrLog(ctx)
		return
	}
	msgs := make([]*ring.Message, 0, len(d.Msgs))
	for _, p := range d.Msgs {
		if p.Seq > lastSeq { // the first delta after a snapshot may repeat what it held
			msgs = append(msgs, fromPB(p))
		}
	}
	if len(msgs) > 0 && msgs[0].Seq != lastSeq+1 {
		a.resyncOrLog(ctx)
		return
	}
	caps, capsChanged := capsFromPB(d.Caps)
	if len(msgs) == 0 && !capsChanged {
		return
	}
	r.mu.Lock()
	if capsChanged {
		r.set.Resize(caps)
		r.gen++
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
		r.node.log.Warn("replica append failed; resyncing", "room", r.room, "err", err)
		a.resyncOrLog(ctx)
		return
	}
	if r.node.cfg.PushEach {
		a.pushEach(msgs)
	}
}

// pushEach is the baseline broadcaster: every message to every member, one frame each.
func (a *replicaActor) pushEach(msgs []*ring.Message) {
	for _, m := range msgs {
		f := pushFrame(a.r.room, m)
		for _, mem := range a.members {
			mem.sess.Push(f)
		}
	}
	for _, mem := range a.members {
		mem.pulledTS.Store(a.lastTS) // nothing left to notify
	}
}

func (a *replicaActor) resyncOrLog(ctx actor.Context) {
	if err := a.resync(ctx); err != nil {
		a.r.node.log.Warn("replica resync failed", "room", a.r.room, "err", err)
	}
}

func (a *replicaActor) add(m *Member) {
	m.idx = len(a.members)
	a.members = append(a.members, m)
	a.marked++ // the next round looks at everyone: the new member may hold a join-time mark
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

func (a *replicaActor) tick(ctx actor.Context, now time.Time) {
	a.round(now)
	a.reportStats(ctx)
	r := a.r
	if a.r.local.Load() != a.reported || now.Sub(a.lastRenw) >= r.node.cfg.RenewInterval {
		a.renew(ctx, now)
	}
	if len(a.members) == 0 && now.UnixNano()-r.lastUse.Load() > r.node.cfg.ReplicaIdle.Nanoseconds() {
		if r.node.retireReplica(r) {
			ctx.Stop(ctx.Self())
		}
	}
}

func (a *replicaActor) renew(ctx actor.Context, now time.Time) {
	a.lastRenw = now
	a.reportStats(ctx)
	if a.grain == nil {
		return
	}
	// The grain answers into our mailbox (SubscribeReply). If it moved or restarted, the
	// renewal re-registers this node with the new activation.
	a.grain = a.r.node.cluster.Get(a.r.room, roomKind)
	if a.grain != nil {
		ctx.Request(a.grain, a.subscribeMsg(false))
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
	b = append(b, `{"op":"msgs","room":"`...)
	b = append(b, a.r.room...)
	b = append(b, `","epoch":"`...)
	b = append(b, res.Epoch...)
	b = append(b, `",`...)
	b = append(b, res.Body...)
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
				marked--
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
}
