package actors

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/liveroom/liveroom/actors/pb"
	"github.com/liveroom/liveroom/ring"
	"github.com/liveroom/liveroom/rooms"
	"github.com/liveroom/liveroom/wire"
)

// This file implements transport.Engine on Node.

// Send offers one message to the room grain.
func (n *Node) Send(ctx context.Context, room string, req rooms.SendRequest) (rooms.Stamp, error) {
	if req.Source != rooms.FromViewer && req.UID != "" && n.bans.banned(req.UID, time.Now()) {
		return rooms.Stamp{}, errBannedAll // a viewer's own sessions cannot exist (Connect)
	}
	return n.stamped(ctx, room, &pb.SendRequest{Uid: req.UID, Kind: req.Kind, Pri: int32(req.Pri), Body: req.Body,
		Cmid: req.CMID, Source: int32(req.Source), Name: req.Name, Meta: req.Meta, PinS: int32(req.PinS)})
}

// Unpin ends the pin of the room's message at ts with an unpin notice (PROTOCOL.md 8.3):
// not_found when no message is pinned there.
func (n *Node) Unpin(ctx context.Context, room string, ts int64) (rooms.Stamp, error) {
	return n.stamped(ctx, room, &pb.UnpinRequest{Ts: ts})
}

// stamped asks the room grain to stamp a message and waits for its stamp.
func (n *Node) stamped(ctx context.Context, room string, msg any) (rooms.Stamp, error) {
	res, err := n.request(ctx, room, msg)
	if err != nil {
		return rooms.Stamp{}, unavailable(err)
	}
	reply, ok := res.(*pb.SendReply)
	if !ok {
		return rooms.Stamp{}, errUnexpected(res)
	}
	if err := errFromPB(reply.Error); err != nil {
		return rooms.Stamp{}, err
	}
	if !reply.Dup {
		if r := n.localReplica(room); r != nil {
			r.expect(reply.Seq)
		}
	}
	return rooms.Stamp{TS: reply.Ts, Seq: reply.Seq, Dup: reply.Dup}, nil
}

// NoticeAll sends a system notice to every active room of the cluster: the rooms the store
// lists as active, and this node's own.
func (n *Node) NoticeAll(ctx context.Context, kind string, body json.RawMessage) (int, error) {
	seen := map[string]bool{}
	n.mu.Lock()
	for id := range n.grains {
		seen[id] = true
	}
	n.mu.Unlock()
	lc, cancel := context.WithTimeout(ctx, time.Second)
	listed, err := n.cfg.Store.ActiveRooms(lc)
	cancel()
	if err != nil {
		n.log.Warn("active rooms not listed by the store; notice goes to this node's rooms", "err", err)
	}
	for _, id := range listed {
		seen[id] = true
	}
	ids := make([]string, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	count := 0
	for _, id := range ids {
		if _, err := n.Send(ctx, id, rooms.SendRequest{Kind: kind, Pri: ring.System, Body: body, Source: rooms.FromAdmin}); err != nil {
			if ctx.Err() != nil {
				return count, unavailable(ctx.Err())
			}
			n.log.Warn("notice not delivered to room", "room", id, "err", err)
			continue
		}
		count++
	}
	return count, nil
}

// Pull serves a pull from this node's replica of the room (started on demand), as a session's
// pull is served: the same window cache, and read-your-writes for sends through this node. uid
// is the viewer pulling ("" for the app's backend): a banned viewer may not read the room.
func (n *Node) Pull(ctx context.Context, room, uid string, since int64, limit int) (PullResult, error) {
	r, err := n.acquireReplica(ctx, room, uid)
	if err != nil {
		return PullResult{}, unavailable(err)
	}
	defer n.releaseReplica(r)
	if r.banned(uid, time.Now()) || (uid != "" && n.bans.banned(uid, time.Now())) {
		return PullResult{}, errBanned
	}
	return r.pull(ctx, since, limit, r.expectSeq.Load()), nil
}

// WaitNew returns once the room has a message newer than since; uid as for Pull.
func (n *Node) WaitNew(ctx context.Context, room, uid string, since int64) error {
	r, err := n.acquireReplica(ctx, room, uid)
	if err != nil {
		return unavailable(err)
	}
	defer n.releaseReplica(r)
	if r.banned(uid, time.Now()) || (uid != "" && n.bans.banned(uid, time.Now())) {
		return errBanned
	}
	return r.waitNew(ctx, since)
}

var errBanned = rooms.Errorf(rooms.CodeBanned, "banned from this room")

// Info returns the room's state; online counts this node's live viewers.
func (n *Node) Info(ctx context.Context, room string) (rooms.Info, error) {
	var info rooms.Info
	res, err := n.request(ctx, room, &pb.InfoRequest{Node: n.cfg.Node})
	if err != nil {
		return info, unavailable(err)
	}
	reply, ok := res.(*pb.InfoReply)
	if !ok {
		return info, errUnexpected(res)
	}
	if err := json.Unmarshal(reply.InfoJson, &info); err != nil {
		return info, err
	}
	if r := n.localReplica(room); r != nil {
		info.Online += r.local.Load() - reply.NodeViewers
	} else {
		info.Online -= reply.NodeViewers
	}
	info.Online = max(info.Online, 0)
	return info, nil
}

// SetConfig patches the room's config and returns the whole new config.
func (n *Node) SetConfig(ctx context.Context, room string, patch rooms.ConfigPatch) (rooms.Config, error) {
	var cfg rooms.Config
	b, err := json.Marshal(patch)
	if err != nil {
		return cfg, err
	}
	if patch.Empty() {
		b = nil // nothing to change: read
	}
	res, err := n.request(ctx, room, &pb.ConfigRequest{PatchJson: b})
	if err != nil {
		return cfg, unavailable(err)
	}
	reply, ok := res.(*pb.ConfigReply)
	if !ok {
		return cfg, errUnexpected(res)
	}
	if err := errFromPB(reply.Error); err != nil {
		return cfg, err
	}
	return cfg, json.Unmarshal(reply.ConfigJson, &cfg)
}

// Moderate changes a moderation list of the room; a ban kicks the uid on every node.
func (n *Node) Moderate(ctx context.Context, room string, op rooms.ModOp) error {
	res, err := n.request(ctx, room, &pb.ModerateRequest{List: int32(op.List), Uid: op.UID, Set: op.Set, TtlMs: op.TTL.Milliseconds()})
	if err != nil {
		return unavailable(err)
	}
	return ackErr(res)
}

// KickViewer kicks the uid's sessions from the room on every node.
func (n *Node) KickViewer(ctx context.Context, room, uid string) error {
	res, err := n.request(ctx, room, &pb.KickRequest{Uid: uid})
	if err != nil {
		return unavailable(err)
	}
	return ackErr(res)
}

// Ready reports whether the node is a cluster member and its store answers.
func (n *Node) Ready(ctx context.Context) error {
	n.mu.Lock()
	closed := n.closed
	n.mu.Unlock()
	if closed {
		return rooms.Errorf(rooms.CodeUnavailable, "shutting down")
	}
	if err := n.cfg.Store.Ping(ctx); err != nil {
		return rooms.Errorf(rooms.CodeUnavailable, "store: "+err.Error())
	}
	if len(n.cluster.MemberList.Members().Members()) == 0 {
		return rooms.Errorf(rooms.CodeUnavailable, "not a cluster member yet")
	}
	if u := n.undurableRooms.Load(); u > 0 {
		return rooms.Errorf(rooms.CodeUnavailable, fmt.Sprintf("store: %d rooms deliver without it (it did not answer within the store wait)", u))
	}
	return nil
}

func ackErr(res any) error {
	ack, ok := res.(*pb.Ack)
	if !ok {
		return errUnexpected(res)
	}
	return errFromPB(ack.Error)
}

// unavailable wraps a failure to reach a room in the contract's `unavailable` code.
func unavailable(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(*rooms.Error); ok {
		return err
	}
	return rooms.Errorf(rooms.CodeUnavailable, err.Error())
}

// JoinOptions are a join's options (PROTOCOL.md sections 3 and 8.2-8.3).
type JoinOptions struct {
	Since  int64 // where the session starts; < 0: not given
	Recent int   // without Since: start before the room's Recent newest messages (0: at the head)
	// Push: the replica writes the window itself each round (a `msgs` frame without id)
	// instead of a notify: one frame per round instead of three (see docs/decisions.md).
	Push bool
}

// JoinResult is the answer to a session's join.
type JoinResult struct {
	Member    Membership // a *Member
	Epoch     string
	TS        int64
	Seq       uint64
	Online    int64
	Counters  []wire.Counter // the room's totals, by name
	NotifyNow bool           // the session starts before the head: send the notify right after joined
	Since     int64          // where the session starts (Since, or where Recent put it)
	// Pinned are the room's pinned messages in force, oldest first (shared, read-only).
	Pinned []*ring.Message
}

// Join adds sess to room (PROTOCOL.md section 3 `join`).
func (n *Node) Join(ctx context.Context, sess Session, room string, opt JoinOptions) (JoinResult, error) {
	r, err := n.acquireReplica(ctx, room, sess.UID())
	if err != nil {
		return JoinResult{}, unavailable(err)
	}
	recent := 0
	if opt.Since < 0 {
		recent = opt.Recent
	}
	jr, err := n.joinCheck(ctx, room, sess.UID(), recent)
	if err != nil {
		n.releaseReplica(r)
		return JoinResult{}, err
	}
	since, push := opt.Since, opt.Push
	if recent > 0 {
		since = jr.Since
	}
	m := &Member{r: r, sess: sess, idx: -1, push: push}
	out := JoinResult{Member: m, Epoch: jr.Epoch, TS: jr.Ts, Seq: jr.Seq, Since: jr.Ts}
	for _, p := range jr.Pinned {
		out.Pinned = append(out.Pinned, fromPB(p))
	}
	if since >= 0 {
		out.Since = since
		m.pulledTS.Store(since)
		if since < jr.Ts && !push {
			out.NotifyNow = true
			m.markAt.Store(time.Now().UnixNano())
		}
	} else {
		m.pulledTS.Store(jr.Ts)
	}
	local := r.local.Add(1)
	r.lastUse.Store(time.Now().UnixNano())
	out.Online = max(jr.Online-jr.NodeViewers, 0) + local
	out.Counters = sortedCounters(jr.Counters)
	m.joinCounters(out.Counters, out.Online, time.Now())
	n.system.Root.Send(r.pid, m)
	return out, nil
}

// joinCheck asks the room's grain whether uid may join, and its head.
func (n *Node) joinCheck(ctx context.Context, room, uid string, recent int) (*pb.JoinReply, error) {
	res, err := n.request(ctx, room, &pb.JoinCheck{Uid: uid, Node: n.cfg.Node, Recent: int32(recent)})
	if err != nil {
		return nil, unavailable(err)
	}
	jr, ok := res.(*pb.JoinReply)
	if !ok {
		return nil, errUnexpected(res)
	}
	return jr, errFromPB(jr.Error)
}

// Leave removes a membership Join returned (the session left the room or closed).
func (n *Node) Leave(ms Membership) {
	m, ok := ms.(*Member)
	if !ok {
		return // not this node's: nothing of it is here to remove
	}
	if n.retireMember(m) {
		n.system.Root.Send(m.r.pid, m)
	}
}
