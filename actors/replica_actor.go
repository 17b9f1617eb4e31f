package actors

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/liveroom/liveroom/actors/pb"
	"github.com/liveroom/liveroom/ring"
	"github.com/liveroom/liveroom/wire"
)

// replicaActor is the single writer of a Replica: it applies deltas, keeps the members, runs
// the dispatch rounds and keeps the node subscribed with the room's grain (the link).
//
// It has no timer of its own: the node's scheduler (sched.go) visits it (a roundTick) when
// something is due, and after every message it handles the actor asks for its next visit
// (plan): a round for members whose notify, retry or pace comes due, a renewal, counters to
// flush or write, an idle replica to stop. A small room (members x RoundPerMember within one
// DispatchInterval) runs its round as soon as a delta brings a message, so its viewers hear of
// it within a few loopback round trips; a big room runs at most one round per
// DispatchInterval, its members paced as before.
//
// The link: the replica subscribes by the room's identity (so whichever node hosts the grain
// now answers, activating it if needed) on a goroutine of its own, and renews every
// LinkKeepAlive; at once when its viewer count changes (at most every 250 ms), the cluster's
// members change, the connection to another node ends or the grain says it stopped; and after
// a failure with a backoff (100 ms doubling to RenewInterval). Nothing in Receive waits
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

	lastTS    int64 // newest ts in the set (a copy, so rounds need no lock)
	roundTS   int64 // lastTS as of the previous round
	roundAt   int64 // unix nanos of the previous round
	roundNext int64 // unix nanos when a round is due (math.MaxInt64: none)
	frame     *SharedFrame
	reported  int64                // viewers last reported to the grain
	notified  uint64               // notifies sent since the last stats report
	statsAt   int64                // unix nanos: report them then
	cnt       replicaCountersState // replica_counters.go
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
		return
	case *pb.Delta:
		a.apply(ctx, msg)
	case *roundTick:
		a.r.tickQueued.Store(false)
		if a.tick(ctx, time.Now()) {
			return // stopping
		}
	case *linkResult:
		a.linked(ctx, msg)
	case *linkNow, *pb.Unsubscribe: // an Unsubscribe from the grain: it stopped, its next activation needs a renewal
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
		a.r.node.sched.cancel(&a.r.slot)
		a.flushCountersAtStop(ctx)
		a.r.dropCache()
		if a.grain != nil {
			ctx.Send(a.grain, &pb.Unsubscribe{Node: a.r.node.cfg.Node})
		}
		a.reportStats(ctx)
		return
	default:
		return
	}
	a.plan(time.Now())
}

func (a *replicaActor) start(ctx actor.Context) {
	r := a.r
	r.pid = ctx.Self()
	r.set = ring.NewSet([ring.NumPriorities]int{1, 1, 1, 1}) // replaced by the first snapshot
	a.roundNext = math.MaxInt64
	self, root := ctx.Self(), ctx.ActorSystem().Root
	r.slot.fire = func() {
		// At most one tick waits in the mailbox: a round slower than its pace (a big room
		// under load) must not pile ticks up in front of the deltas.
		if r.tickQueued.CompareAndSwap(false, true) {
			root.Send(self, roundMsg)
		}
	}
	a.link(ctx, true)
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
	var bans map[string]int64 // nil while the room bans nobody (apply makes it)
	if len(p.Bans) > 0 {
		bans = make(map[string]int64, len(p.Bans))
	}
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
	r.headTS.Store(a.lastTS)
	a.roundSoon(time.Now()) // members may be behind the new content
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
			if r.bans == nil {
				r.bans = make(map[string]int64)
			}
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
	r.headTS.Store(a.lastTS)
	r.mu.Unlock()
	if err != nil {
		r.node.log.Warn("replica append failed; asking for a snapshot", "room", r.room, "err", err)
		a.link(ctx, true)
		return
	}
	a.baseline(msgs)
	if len(msgs) > 0 {
		a.roundSoon(time.Now())
	}
}

func (a *replicaActor) add(m *Member) {
	m.idx = len(a.members)
	a.members = append(a.members, m)
	a.countersJoined(m)
	if a.ready {
		a.roundSoon(time.Now()) // the new member may be behind the head, or hold a join-time mark
	}
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

// statsDelay: the pulls served are reported (metrics, the grain's stats) this long after the
// first one since the last report.
const statsDelay = time.Second

// small reports whether the room's members fit in one round's budget: a round over them costs
// at most what one DispatchInterval allows (members x RoundPerMember), so it may run as soon as
// there is something to tell them.
func (a *replicaActor) small() bool {
	cfg := &a.r.node.cfg
	return time.Duration(len(a.members))*cfg.RoundPerMember <= cfg.DispatchInterval
}

// pace is how often a member is notified (or pushed) at most on average: DispatchInterval, or
// members x RoundPerMember in a big room (unix nanos).
func (a *replicaActor) pace() int64 {
	cfg := &a.r.node.cfg
	return max(cfg.DispatchInterval, time.Duration(len(a.members))*cfg.RoundPerMember).Nanoseconds()
}

// roundSoon: new messages, new content or a new member. A small room runs its round now; a big
// one at most once per DispatchInterval.
func (a *replicaActor) roundSoon(now time.Time) {
	if !a.ready {
		return // the first snapshot brings everything
	}
	if a.small() {
		a.round(now)
		return
	}
	a.roundNext = min(a.roundNext, max(now.UnixNano(), a.roundAt+a.r.node.cfg.DispatchInterval.Nanoseconds()))
}

// tick is a visit of the scheduler: whatever is due runs. It reports whether the replica is
// stopping (idle).
func (a *replicaActor) tick(ctx actor.Context, now time.Time) (stopping bool) {
	if !a.ready {
		return false
	}
	r := a.r
	if r.recheck.Swap(false) {
		a.roundSoon(now) // a member pulled and is still behind the head
	}
	if now.UnixNano() >= a.roundNext {
		a.round(now)
	}
	a.counterRound(now)
	a.flushCounters(ctx)
	a.reportStats(ctx)
	since := now.Sub(a.lastLink)
	if !a.linking && !now.Before(a.nextLink) &&
		(since >= a.renewEvery() || a.linkFails > 0 || (r.local.Load() != a.reported && since >= countRenew)) {
		a.link(ctx, false)
	}
	if len(a.members) == 0 && now.UnixNano()-r.lastUse.Load() > r.node.cfg.ReplicaIdle.Nanoseconds() {
		if r.node.retireReplica(r) {
			ctx.Stop(ctx.Self())
			return true
		}
	}
	return false
}

// renewEvery is how often the replica renews its subscription.
func (a *replicaActor) renewEvery() time.Duration { return a.r.node.cfg.LinkKeepAlive }

// plan asks the scheduler for the replica's next visit: the earliest of what its state holds
// pending (a round, counters to write, a renewal, the idle stop). Adds to flush and pulls to
// report ask for their own visits (Member.Add, Replica.pull). Nothing pending: no visit.
func (a *replicaActor) plan(now time.Time) {
	if !a.ready {
		return // the subscribe's answer comes as a message
	}
	r := a.r
	next := a.roundNext
	if st := &a.cnt; st.interval > 0 {
		if st.dirty || st.online != st.remote+r.local.Load() {
			next = now.UnixNano()
		} else {
			next = min(next, st.due) // 0: at once (a member joined)
		}
	}
	if !a.linking {
		at := a.lastLink.Add(a.renewEvery())
		if a.linkFails > 0 {
			at = a.nextLink
		} else if r.local.Load() != a.reported {
			at = a.lastLink.Add(countRenew)
		}
		if at.Before(a.nextLink) {
			at = a.nextLink
		}
		next = min(next, at.UnixNano())
	}
	if len(a.members) == 0 {
		next = min(next, r.lastUse.Load()+r.node.cfg.ReplicaIdle.Nanoseconds()+1)
	}
	if a.notified > 0 {
		next = min(next, a.statsAt)
	}
	r.node.sched.at(&r.slot, next)
}

// reportStats hands the pulls served and the notifies sent since the last report to the
// metrics and the grain's stats (one message for all of them).
func (a *replicaActor) reportStats(ctx actor.Context) {
	pulls, notified := a.r.pulls.Swap(0), a.notified
	if pulls == 0 && notified == 0 {
		return
	}
	a.notified = 0
	met := a.r.node.metrics
	met.Pulls.Add(float64(pulls))
	met.DroppedInPull.Add(float64(a.r.dropped.Swap(0)))
	if a.grain != nil {
		ctx.Send(a.grain, &pb.StatsAdd{Pulls: pulls, Notifies: notified})
	}
}

// pushWindow is one round's window for the push members at the same since.
type pushWindow struct {
	frame   *SharedFrame
	next    int64
	dropped uint64
	inside  *SharedFrame // the frame with the round's counters as its "counters" (made when first needed)
	pair    *SharedFrame // the frame followed by the round's counters frame (the same)
}

// pushWindow encodes the window (since, latest] once as a `msgs` frame without id.
func (a *replicaActor) pushWindow(since int64) *pushWindow {
	res := a.r.pull(context.Background(), since, a.r.node.cfg.PushLimit, 0)
	b := make([]byte, 0, 48+len(a.r.room)+len(res.Epoch)+len(res.Body))
	b = wire.AppendMsgs(b, a.r.room, nil, res.Epoch, res.Body)
	return &pushWindow{frame: &SharedFrame{Data: b}, next: res.Next, dropped: res.Dropped}
}

// withCounters is the window's frame for m carrying the round's counters (PROTOCOL.md 8.4):
// inside, as its "counters", when m's online count is the room's; else followed by the
// counters frame, which carries online too.
func (pw *pushWindow) withCounters(a *replicaActor, m *Member) *SharedFrame {
	st := &a.cnt
	if m.cntOnline == st.online {
		if pw.inside == nil {
			pw.inside = &SharedFrame{Data: wire.WithCounters(append([]byte(nil), pw.frame.Data...), st.values)}
		}
		return pw.inside
	}
	if pw.pair == nil {
		pw.pair = &SharedFrame{Data: pw.frame.Data, Then: st.frame}
	}
	return pw.pair
}

// round is one notify dispatch round (PROTOCOL.md section 3): at most one notify per member,
// none while its pull is in progress, a retry after notify_retry, the kick after kick_after.
// A member is notified at most once per pace on average (DispatchInterval, or members x
// RoundPerMember in big rooms), so a room's dispatch CPU stays bounded whatever its size; one
// notify of slack (DispatchInterval) lets a message that follows a quiet spell go at once
// instead of waiting out the previous one's pace. Per member a round is a few atomic loads and
// at most one write of the shared frame. The round records when the next one is due: the
// earliest retry, pace or busy member.
func (a *replicaActor) round(now time.Time) {
	latest := a.lastTS
	fresh := latest != a.roundTS
	a.roundTS = latest
	if fresh {
		a.frame = nil // made by the first notify of the round (notifyNow): an idle room holds none
	}
	cfg := &a.r.node.cfg
	pace := a.pace()
	slack, busy := cfg.DispatchInterval.Nanoseconds(), cfg.DispatchInterval.Nanoseconds()
	nowN, retry, kickAfter := now.UnixNano(), cfg.NotifyRetry.Nanoseconds(), int32(cfg.KickAfter)
	due := int64(math.MaxInt64)
	var sent, merged int
	var pushed map[int64]*pushWindow // this round's windows by since: shared by the push members
	rc := roundCounters{on: a.prepareCounters()}
	if rc.on {
		rc.every = a.countersEvery()
	}
	for i := 0; i < len(a.members); i++ {
		m := a.members[i]
		if m.push {
			since := m.pulledTS.Load()
			if since >= latest {
				continue
			}
			if at := m.paceAt - slack; nowN < at {
				due = min(due, at)
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
			f, withCnt := pw.frame, rc.on && a.countersDue(m, nowN, rc.every)
			if withCnt {
				f = pw.withCounters(a, m)
			}
			if m.sess.Notify(f) {
				rc.sent(a, m, nowN, withCnt)
				m.paceAt = max(m.paceAt, nowN) + pace
				m.pulledTS.Store(pw.next)
				a.r.dropped.Add(pw.dropped)
				sent++
				if pw.next < latest {
					due = min(due, m.paceAt-slack) // a window cut short (more) continues, with nothing new
				}
			} else {
				due = min(due, nowN+busy)
			}
			continue
		}
		mark := m.markAt.Load()
		if mark == 0 {
			if m.pulledTS.Load() >= latest {
				continue
			}
			if at := m.paceAt - slack; nowN < at {
				due = min(due, at) // paced: look again then even if nothing new arrives
				continue
			}
			if !m.markAt.CompareAndSwap(0, nowN) {
				due = min(due, nowN+busy) // marked meanwhile: look again
				continue
			}
			f, withCnt := a.notifyWith(m, nowN, &rc)
			if m.sess.Notify(f) {
				rc.sent(a, m, nowN, withCnt)
				m.paceAt = max(m.paceAt, nowN) + pace
				sent++
				due = min(due, nowN+retry)
			} else {
				m.markAt.CompareAndSwap(nowN, 0) // busy: try again soon
				due = min(due, nowN+busy)
			}
			continue
		}
		if nowN-mark < retry {
			if fresh {
				merged++
			}
			due = min(due, mark+retry)
			continue
		}
		if m.unanswered.Add(1) >= kickAfter {
			if a.r.node.retireMember(m) {
				a.remove(m)
				i--
				m.sess.Kick("", "unresponsive")
				a.r.node.metrics.Kicks.WithLabelValues("unresponsive").Inc()
			}
			continue
		}
		if m.markAt.CompareAndSwap(mark, nowN) {
			if f, withCnt := a.notifyWith(m, nowN, &rc); m.sess.Notify(f) {
				rc.sent(a, m, nowN, withCnt)
				m.paceAt = max(m.paceAt, nowN) + pace
				sent++
			}
			due = min(due, nowN+retry)
		} else {
			due = min(due, nowN+busy) // it pulled meanwhile: it may still be behind
		}
	}
	if !a.small() { // a big room: one round per DispatchInterval at most, whatever comes due
		due = max(due, nowN+cfg.DispatchInterval.Nanoseconds())
	}
	a.roundAt, a.roundNext = nowN, due
	if sent > 0 {
		a.r.node.metrics.NotifiesSent.Add(float64(sent))
		if a.notified == 0 {
			a.statsAt = nowN + statsDelay.Nanoseconds()
		}
		a.notified += uint64(sent)
	}
	if merged > 0 {
		a.r.node.metrics.NotifiesMerged.Add(float64(merged))
	}
	if rc.n > 0 {
		a.r.node.metrics.CounterFrames.Add(float64(rc.n))
		a.r.node.metrics.CounterFramesShared.Add(float64(rc.n))
	}
	a.observeRound(now, fresh && sent > 0, latest)
}

// notifyNow is the round's notify frame for latest, encoded on first use.
func (a *replicaActor) notifyNow(latest int64) *SharedFrame {
	if a.frame == nil {
		a.frame = notifyFrame(a.r.room, latest)
	}
	return a.frame
}

// roundCounters is a round's share of the counters: the members due for them get them in the
// write of their notify or window (replica_counters.go).
type roundCounters struct {
	on    bool         // the grain's totals are known: there is a counters frame
	every int64        // countersEvery
	pair  *SharedFrame // the round's notify followed by the counters frame (made when first needed)
	n     int          // members that got counters with their notify or window
}

// sent records a write to m that carried the counters (withCnt).
func (rc *roundCounters) sent(a *replicaActor, m *Member, nowN int64, withCnt bool) {
	if withCnt {
		a.countersSent(m, nowN)
		rc.n++
	}
}

// notifyWith is the frame of m's notify: the round's notify, followed by the counters frame
// when m is due for counters.
func (a *replicaActor) notifyWith(m *Member, nowN int64, rc *roundCounters) (*SharedFrame, bool) {
	f := a.notifyNow(a.roundTS)
	if !rc.on || !a.countersDue(m, nowN, rc.every) {
		return f, false
	}
	if rc.pair == nil {
		rc.pair = &SharedFrame{Data: f.Data, Then: a.cnt.frame}
	}
	return rc.pair, true
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
