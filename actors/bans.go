package actors

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/liveroom/liveroom/actors/pb"
	"github.com/liveroom/liveroom/rooms"
	"github.com/liveroom/liveroom/wire"
)

// Global moderation (PROTOCOL.md section 8.7): bans from every room and kicks of a uid's
// sessions on every node.
//
// A ban is written to the store first (it survives restarts with --redis), then applied to
// this node's ban cache, then told to every other member's users router (pb.UserBan), each of
// which applies it to its own cache and closes the uid's sessions there. Every node checks its
// cache on each WebSocket upgrade (a map read under a read lock), so an upgrade never waits for
// the store. A message to a member that is lost (a node that was starting, a broken link) is
// healed by the cache's reload from the store every banSyncEvery, which also closes sessions
// of uids it finds newly banned.

// banSyncEvery is how often a node reads the global bans from the store.
const banSyncEvery = 10 * time.Second

var errBannedAll = rooms.Errorf(rooms.CodeBanned, "banned from every room")

// banCache is a node's copy of the global bans.
type banCache struct {
	mu       sync.RWMutex
	m        map[string]int64 // uid -> until, unix nanos; 0 = forever
	gen      uint64           // changes applied since start: a reload read before one is dropped
	n        atomic.Int64     // len(m): a node with no bans checks one atomic
	syncedAt time.Time        // last reload (heartbeat goroutine only)
}

// banned reports whether uid is banned everywhere at now.
func (c *banCache) banned(uid string, now time.Time) bool {
	if c.n.Load() == 0 {
		return false
	}
	c.mu.RLock()
	until, ok := c.m[uid]
	c.mu.RUnlock()
	return ok && (until == 0 || now.UnixNano() < until)
}

// apply sets (until: unix nanos, 0 forever) or lifts uid's ban.
func (c *banCache) apply(uid string, until int64, set bool) {
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[string]int64)
	}
	if set {
		c.m[uid] = until
	} else {
		delete(c.m, uid)
	}
	c.gen++
	c.n.Store(int64(len(c.m)))
	c.mu.Unlock()
}

// replace installs the bans read from the store unless a change was applied since gen (the
// read may predate it); it returns the uids banned now that were not before.
func (c *banCache) replace(bans []rooms.GlobalBan, gen uint64) (added []string, ok bool) {
	m := make(map[string]int64, len(bans))
	for _, b := range bans {
		m[b.UID] = untilNanos(b.Until)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return nil, false
	}
	for uid := range m {
		if _, had := c.m[uid]; !had {
			added = append(added, uid)
		}
	}
	c.m = m
	c.n.Store(int64(len(m)))
	return added, true
}

func (c *banCache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

func untilNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// syncBans reloads the ban cache from the store (at start, then every banSyncEvery from the
// heartbeat) and closes the sessions of uids banned meanwhile that this node missed.
func (n *Node) syncBans() {
	now := time.Now()
	if now.Sub(n.bans.syncedAt) < banSyncEvery {
		return
	}
	gen := n.bans.generation()
	c, cancel := context.WithTimeout(context.Background(), time.Second)
	bans, err := n.cfg.Store.GlobalBans(c)
	cancel()
	if err != nil {
		n.storeFailed("global bans", err)
		return
	}
	n.bans.syncedAt = now
	added, ok := n.bans.replace(bans, gen)
	if !ok {
		n.bans.syncedAt = time.Time{} // changed while reading: read again next beat
	}
	for _, uid := range added {
		n.kickLocal(uid, "banned")
	}
}

// UserBanned reports whether uid is banned from every room (this node's cache).
func (n *Node) UserBanned(uid string) bool { return n.bans.banned(uid, time.Now()) }

// BanUser bans uid from every room for ttl (0 = forever) and closes its sessions on every
// node with kick banned.
func (n *Node) BanUser(ctx context.Context, uid string, ttl time.Duration) error {
	var until time.Time
	if ttl > 0 {
		until = time.Now().Add(ttl)
	}
	if err := n.cfg.Store.SetGlobalBan(ctx, uid, until); err != nil {
		return unavailable(err)
	}
	n.applyUserBan(&pb.UserBan{Uid: uid, UntilMs: banToPB(uid, until, true).UntilMs, Set: true})
	return nil
}

// UnbanUser lifts uid's global ban.
func (n *Node) UnbanUser(ctx context.Context, uid string) error {
	if err := n.cfg.Store.LiftGlobalBan(ctx, uid); err != nil {
		return unavailable(err)
	}
	n.applyUserBan(&pb.UserBan{Uid: uid})
	return nil
}

// applyUserBan applies a ban change here and tells the other members.
func (n *Node) applyUserBan(b *pb.UserBan) {
	n.onUserBan(b)
	n.tellNodes(b)
}

// onUserBan applies a ban change to this node's cache, then closes the uid's sessions here
// (after: a session that connects meanwhile either sees the ban in Connect or is found here).
func (n *Node) onUserBan(b *pb.UserBan) {
	n.bans.apply(b.Uid, b.UntilMs*int64(time.Millisecond), b.Set)
	if b.Set {
		n.kickLocal(b.Uid, "banned")
	}
}

// KickUser closes uid's sessions on every node (kick kicked, close 1000).
func (n *Node) KickUser(ctx context.Context, uid string) error {
	n.kickLocal(uid, "kicked")
	n.tellNodes(&pb.UserKick{Uid: uid, Reason: "kicked"})
	return nil
}

// tellNodes sends msg to every other node's users router.
func (n *Node) tellNodes(msg any) {
	for addr := range n.nodeAddrs() {
		if addr != n.addr {
			n.system.Root.Send(actor.NewPID(addr, usersName), msg)
		}
	}
}

// kickLocal closes every session of uid on this node with a whole-session kick.
func (n *Node) kickLocal(uid, reason string) {
	n.mu.Lock()
	var ss []Session
	if e := n.users[uid]; e != nil {
		for _, us := range e.sessions {
			ss = append(ss, us.s)
		}
	}
	n.mu.Unlock()
	for _, s := range ss {
		s.Kick("", reason) // asynchronous: the session closes on its own goroutine
		n.metrics.Kicks.WithLabelValues(reason).Inc()
	}
}

// GlobalBanPage returns up to limit global bans with uid > after, by uid, and whether more
// follow. It reads the store, the list every node shares.
func (n *Node) GlobalBanPage(ctx context.Context, after string, limit int) ([]wire.ListItem, bool, error) {
	bans, err := n.cfg.Store.GlobalBans(ctx)
	if err != nil {
		return nil, false, unavailable(err)
	}
	i := sort.Search(len(bans), func(i int) bool { return bans[i].UID > after })
	bans = bans[i:]
	more := len(bans) > limit
	if more {
		bans = bans[:limit]
	}
	out := make([]wire.ListItem, len(bans))
	for i, b := range bans {
		out[i] = wire.ListItem{UID: b.UID, Until: untilSeconds(untilNanos(b.Until))}
	}
	return out, more, nil
}

// untilSeconds is an expiry in unix seconds, rounded up (0 stays forever): the entry is in
// force until at least then.
func untilSeconds(nanos int64) int64 {
	if nanos == 0 {
		return 0
	}
	return (nanos + int64(time.Second) - 1) / int64(time.Second)
}

// ModerationPage returns up to limit entries of the room's list with uid > after, by uid,
// and whether more follow.
func (n *Node) ModerationPage(ctx context.Context, room string, list rooms.List, after string, limit int) ([]wire.ListItem, bool, error) {
	res, err := n.request(ctx, room, &pb.ListRequest{List: int32(list), After: after, Limit: int32(limit)})
	if err != nil {
		return nil, false, unavailable(err)
	}
	reply, ok := res.(*pb.ListReply)
	if !ok {
		return nil, false, errUnexpected(res)
	}
	if err := errFromPB(reply.Error); err != nil {
		return nil, false, err
	}
	out := make([]wire.ListItem, len(reply.Items))
	for i, b := range reply.Items {
		out[i] = wire.ListItem{UID: b.Uid, Until: untilSeconds(b.UntilMs * int64(time.Millisecond))}
	}
	return out, reply.More, nil
}

// list answers a ListRequest in the room's grain.
func (g *roomGrain) list(req *pb.ListRequest) *pb.ListReply {
	page, more := g.room.ModerationPage(rooms.List(req.List), req.After, int(req.Limit), time.Now())
	r := &pb.ListReply{More: more, Items: make([]*pb.Ban, len(page))}
	for i, e := range page {
		r.Items[i] = banToPB(e.UID, e.Until, true)
	}
	return r
}

// RoomsPage returns up to limit active rooms of the cluster with id > after, by id, with
// their cluster-wide viewer counts, and whether more follow. The rooms are those the store
// lists as active and this node's own grains; each count is asked of the room's grain (16 at
// a time), and a room whose grain does not answer within a second is listed with 0.
func (n *Node) RoomsPage(ctx context.Context, after string, limit int) ([]wire.RoomItem, bool, error) {
	seen := map[string]bool{}
	n.mu.Lock()
	for id := range n.grains {
		seen[id] = true
	}
	n.mu.Unlock()
	listed, err := n.cfg.Store.ActiveRooms(ctx)
	if err != nil {
		return nil, false, unavailable(err)
	}
	for _, id := range listed {
		seen[id] = true
	}
	ids := make([]string, 0, len(seen))
	for id := range seen {
		if id > after {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	more := len(ids) > limit
	if more {
		ids = ids[:limit]
	}
	out := make([]wire.RoomItem, len(ids))
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i, id := range ids {
		out[i].Room = id
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			if info, err := n.Info(c, id); err == nil {
				out[i].Online = info.Online
			}
		}()
	}
	wg.Wait()
	return out, more, nil
}
