package actors

import (
	"context"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/liveroom/liveroom/actors/pb"
)

// userEntry holds one uid's sessions on this node, oldest first, under node.mu, and enforces
// the per-uid session cap: the oldest session is kicked with reason "replaced". In a cluster
// the cap is cluster-wide: every connect records the session in the store's uid directory,
// which lists the uid's sessions on every node, and the oldest ones over the cap are closed
// wherever they are (DESIGN.md section 3); when the store fails, the cap falls back to this
// node's sessions. It is DESIGN.md's user actor without a protoactor process: a process cost
// ~0.9 KB per connected uid (registry entry, mailbox, context), a tenth of an idle viewer's
// budget, for work that is a few appends under the node's lock (docs/decisions.md).
type userEntry struct {
	sessions []userSession // open and not kicked, oldest first
	count    int           // connected and not yet disconnected (kicked ones included)
}

// take removes and returns the first session that match accepts.
func (e *userEntry) take(match func(userSession) bool) (userSession, bool) {
	for i, us := range e.sessions {
		if match(us) {
			e.sessions = append(e.sessions[:i], e.sessions[i+1:]...)
			return us, true
		}
	}
	return userSession{}, false
}

type userSession struct {
	s      Session
	serial uint64
}

// dirOp is one change of the uid directory, applied in order by the node's directory
// goroutine (a session's detach never overtakes its attach).
type dirOp struct {
	attach bool
	uid    string
	serial uint64
	at     time.Time
}

// dirTTL bounds how long a uid's directory entries outlive its last connect (entries of a node
// that died are dropped sooner, when a later attach finds their node gone).
const dirTTL = 24 * time.Hour

// dirGrace: an entry whose node is not (yet) in this node's member list is stale only when
// older than this, so a node that has just joined is not mistaken for a dead one.
const dirGrace = 10 * time.Second

// usersName is the name of each node's users router, which remote nodes address by the
// member's actor address to close a session (pb.KickSession).
const usersName = "liveroom-users"

// Connect registers a new session of sess.UID() on this node.
func (n *Node) Connect(sess Session) error {
	uid := sess.UID()
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return errShuttingDown
	}
	if n.bans.banned(uid, time.Now()) { // under mu: a ban applied after this finds the session (bans.go)
		n.mu.Unlock()
		return errBannedAll
	}
	e := n.users[uid]
	if e == nil {
		e = &userEntry{}
		n.users[uid] = e
	}
	serial := n.serial.Add(1)
	e.count++
	e.sessions = append(e.sessions, userSession{s: sess, serial: serial})
	if !n.clustered {
		n.capLocal(e)
	}
	n.metrics.Sessions.Inc()
	n.mu.Unlock()
	if n.clustered {
		n.dirSend(dirOp{attach: true, uid: uid, serial: serial, at: time.Now()})
	}
	return nil
}

// Disconnect unregisters a closed session; the session must have left its rooms (Leave).
// A session kicked over the cap has left the list already; it is counted until here.
func (n *Node) Disconnect(sess Session) {
	uid := sess.UID()
	n.mu.Lock()
	e := n.users[uid]
	if e == nil {
		n.mu.Unlock()
		return
	}
	e.count--
	n.metrics.Sessions.Dec()
	us, listed := e.take(func(us userSession) bool { return us.s == sess })
	if e.count <= 0 {
		delete(n.users, uid)
	}
	n.mu.Unlock()
	if listed && n.clustered { // a kicked session's entry was removed by its kicker
		n.dirSend(dirOp{uid: uid, serial: us.serial})
	}
}

// capLocal kicks the uid's oldest sessions on this node over the cap; the caller holds n.mu.
// A kicked session leaves the list now; its Disconnect follows.
func (n *Node) capLocal(e *userEntry) {
	for len(e.sessions) > n.cfg.SessionsPerUID {
		oldest := e.sessions[0]
		e.sessions = e.sessions[1:]
		oldest.s.Kick("", "replaced") // asynchronous: the session closes on its own goroutine
		n.metrics.Kicks.WithLabelValues("replaced").Inc()
	}
}

// kickSerial closes this node's session serial of uid (over the cluster-wide cap).
func (n *Node) kickSerial(uid string, serial uint64) {
	n.mu.Lock()
	var us userSession
	var found bool
	if e := n.users[uid]; e != nil {
		us, found = e.take(func(us userSession) bool { return us.serial == serial })
	}
	n.mu.Unlock()
	if found {
		us.s.Kick("", "replaced")
		n.metrics.Kicks.WithLabelValues("replaced").Inc()
	}
}

// dirSend queues a directory change (dropped once the node has shut down).
func (n *Node) dirSend(op dirOp) {
	select {
	case n.dirOps <- op:
	case <-n.dirQuit:
	}
}

// directory applies the uid directory changes in order; at Shutdown it applies those queued
// (the sessions the shutdown closed) and returns.
func (n *Node) directory() {
	defer close(n.dirDone)
	for {
		select {
		case op := <-n.dirOps:
			n.applyDir(op)
		case <-n.dirQuit:
			for {
				select {
				case op := <-n.dirOps:
					n.applyDir(op)
				default:
					return
				}
			}
		}
	}
}

// applyDir applies one directory change. Each store call is bounded (dirTimeout), and after a
// failure the directory does not ask the store again for dirPause: a store that hangs would
// otherwise hold every connect behind the one before (attaches then fall back to the node's
// own cap; a detach left out is dropped from the directory by the uid's next attach here).
func (n *Node) applyDir(op dirOp) {
	if time.Now().UnixNano() < n.dirPausedUntil.Load() {
		n.metrics.StoreErrors.Inc()
		if op.attach {
			n.mu.Lock()
			if e := n.users[op.uid]; e != nil {
				n.capLocal(e)
			}
			n.mu.Unlock()
		}
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), dirTimeout)
	defer cancel()
	if op.attach {
		n.capCluster(ctx, op)
	} else if err := n.cfg.Store.DetachSessions(ctx, op.uid, n.dirID(op.serial)); err != nil {
		n.dirFailed(err)
	}
}

// The uid directory's bounds on a failing store.
const (
	dirTimeout = 500 * time.Millisecond
	dirPause   = time.Second
)

func (n *Node) dirFailed(err error) {
	n.dirPausedUntil.Store(time.Now().Add(dirPause).UnixNano())
	n.storeFailed("uid directory", err)
}

// capCluster records a new session in the uid directory and closes the uid's oldest sessions
// over the cap on whichever nodes hold them; if the directory cannot be reached, the cap
// applies to this node's sessions.
func (n *Node) capCluster(ctx context.Context, op dirOp) {
	entries, err := n.cfg.Store.AttachSession(ctx, op.uid, n.dirID(op.serial), op.at, dirTTL)
	if err != nil {
		n.dirFailed(err)
		n.mu.Lock()
		if e := n.users[op.uid]; e != nil {
			n.capLocal(e)
		}
		n.mu.Unlock()
		return
	}
	members := n.nodeAddrs()
	n.mu.Lock()
	local := map[uint64]bool{}
	if e := n.users[op.uid]; e != nil {
		for _, us := range e.sessions {
			local[us.serial] = true
		}
	}
	n.mu.Unlock()
	var live, stale []string
	for _, e := range entries {
		addr, inc, serial, ok := parseDirID(e.ID)
		mine := ok && addr == n.addr && inc == n.incarnation
		switch {
		case !ok, addr == n.addr && inc != n.incarnation, mine && !local[serial],
			!members[addr] && time.Since(time.UnixMicro(e.At)) > dirGrace:
			stale = append(stale, e.ID)
		default:
			live = append(live, e.ID)
		}
	}
	var victims []string
	if over := len(live) - n.cfg.SessionsPerUID; over > 0 {
		victims = live[:over]
	}
	for _, id := range victims {
		addr, inc, serial, _ := parseDirID(id)
		if addr == n.addr && inc == n.incarnation {
			n.kickSerial(op.uid, serial)
			continue
		}
		n.system.Root.Send(actor.NewPID(addr, usersName), &pb.KickSession{Uid: op.uid, Incarnation: inc, Serial: serial})
	}
	if gone := append(stale, victims...); len(gone) > 0 {
		if err := n.cfg.Store.DetachSessions(ctx, op.uid, gone...); err != nil {
			n.dirFailed(err)
		}
	}
}

// dirID names a session of this node in the uid directory: actor address, incarnation, serial.
func (n *Node) dirID(serial uint64) string {
	return n.addr + "|" + n.incarnation + "|" + strconv.FormatUint(serial, 10)
}

func parseDirID(id string) (addr, inc string, serial uint64, ok bool) {
	addr, rest, ok1 := strings.Cut(id, "|")
	inc, num, ok2 := strings.Cut(rest, "|")
	serial, err := strconv.ParseUint(num, 10, 64)
	if !ok1 || !ok2 || err != nil {
		return "", "", 0, false
	}
	return addr, inc, serial, true
}

// nodeAddrs is the set of the actor addresses of every live node: the cluster members in the
// member list and the nodes of the store's directory as the heartbeat last read it (edges are
// not members; a member that cannot reach the store is still in the member list).
func (n *Node) nodeAddrs() map[string]bool {
	ms := n.cluster.MemberList.Members().Members()
	out := make(map[string]bool, len(ms))
	for _, m := range ms {
		out[net.JoinHostPort(m.Host, strconv.Itoa(int(m.Port)))] = true
	}
	n.routeMu.Lock()
	for _, at := range n.routeNodes {
		if at.Actor != "" {
			out[at.Actor] = true
		}
	}
	n.routeMu.Unlock()
	return out
}

// storeFailed logs a store failure at most once per 10 s per node (a Redis outage fails every
// connect and disconnect; live traffic goes on) and counts every one.
func (n *Node) storeFailed(what string, err error) {
	n.metrics.StoreErrors.Inc()
	if logEvery(&n.storeLogAt, 10*time.Second) {
		n.log.Warn(what+": store failed (logged once per 10 s)", "err", err)
	}
}

// usersRouter is the node's named actor that remote nodes address to close a session of a uid
// that went over its cluster-wide cap, and to apply global bans and kicks (bans.go).
type usersRouter struct{ node *Node }

func (r *usersRouter) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *pb.KickSession:
		if msg.Incarnation == r.node.incarnation { // else: a predecessor's session, gone already
			r.node.kickSerial(msg.Uid, msg.Serial)
		}
	case *pb.UserBan:
		r.node.onUserBan(msg)
	case *pb.UserKick:
		r.node.kickLocal(msg.Uid, msg.Reason)
	}
}
