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

// userActor holds one uid's sessions on this node, oldest first, and enforces the per-uid
// session cap: the oldest session is kicked with reason "replaced". In a cluster the cap is
// cluster-wide: each attach records the session in the store's uid directory, which lists the
// uid's sessions on every node, and the oldest ones over the cap are closed wherever they are
// (DESIGN.md section 3). When the store fails the cap falls back to this node's sessions.
type userActor struct {
	uid      string
	cap      int
	sessions []userSession
	node     *Node
}

type userSession struct {
	s      Session
	serial uint64
	at     time.Time
}

type attach struct {
	s      Session
	uid    string // names the actor on its first attach (one Props serves every user actor)
	serial uint64
}
type detach struct{ s Session }
type kickSerial struct{ serial uint64 }

// userEntry is the node's handle on a user actor; count is guarded by node.mu so that a uid's
// last detach and a new attach cannot race the actor's stop.
type userEntry struct {
	pid   *actor.PID
	count int
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

func (u *userActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *attach:
		u.uid = msg.uid
		u.sessions = append(u.sessions, userSession{s: msg.s, serial: msg.serial, at: time.Now()})
		if !u.node.clustered || !u.capCluster(msg.serial) {
			for len(u.sessions) > u.cap {
				u.kickAt(0)
			}
		}
	case *detach:
		for i, s := range u.sessions {
			if s.s == msg.s {
				u.sessions = append(u.sessions[:i], u.sessions[i+1:]...)
				if u.node.clustered {
					u.node.dirDetach(u.uid, u.node.dirID(s.serial))
				}
				break
			}
		}
	case *kickSerial:
		for i, s := range u.sessions {
			if s.serial == msg.serial {
				u.kickAt(i)
				break
			}
		}
	}
}

// kickAt closes the i-th session (replaced) and forgets it; its Disconnect follows.
func (u *userActor) kickAt(i int) {
	s := u.sessions[i]
	u.sessions = append(u.sessions[:i], u.sessions[i+1:]...)
	s.s.Kick("", "replaced")
	u.node.metrics.Kicks.WithLabelValues("replaced").Inc()
}

// capCluster records the new session in the uid directory and closes the uid's oldest
// sessions over the cap on whichever nodes hold them. It returns false when the directory
// could not be reached (the caller applies the cap to this node's sessions).
func (u *userActor) capCluster(serial uint64) bool {
	n := u.node
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	entries, err := n.cfg.Store.AttachSession(ctx, u.uid, n.dirID(serial), time.Now(), dirTTL)
	if err != nil {
		n.storeFailed("uid directory", err)
		return false
	}
	members := n.memberAddrs()
	var live, stale []string
	for _, e := range entries {
		addr, inc, _, ok := parseDirID(e.ID)
		switch {
		case !ok, addr == n.addr && inc != n.incarnation,
			!members[addr] && time.Since(time.UnixMicro(e.At)) > dirGrace:
			stale = append(stale, e.ID)
		default:
			live = append(live, e.ID)
		}
	}
	var victims []string
	if over := len(live) - u.cap; over > 0 {
		victims = live[:over]
	}
	for _, id := range victims {
		addr, inc, serial, _ := parseDirID(id)
		if addr == n.addr && inc == n.incarnation {
			for i, s := range u.sessions {
				if s.serial == serial {
					u.kickAt(i)
					break
				}
			}
			continue
		}
		n.system.Root.Send(actor.NewPID(addr, usersName), &pb.KickSession{Uid: u.uid, Incarnation: inc, Serial: serial})
	}
	if gone := append(stale, victims...); len(gone) > 0 {
		if err := n.cfg.Store.DetachSessions(ctx, u.uid, gone...); err != nil {
			n.storeFailed("uid directory", err)
		}
	}
	return true
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

// memberAddrs is the set of the cluster members' actor addresses.
func (n *Node) memberAddrs() map[string]bool {
	ms := n.cluster.MemberList.Members().Members()
	out := make(map[string]bool, len(ms))
	for _, m := range ms {
		out[net.JoinHostPort(m.Host, strconv.Itoa(int(m.Port)))] = true
	}
	return out
}

func (n *Node) dirDetach(uid, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := n.cfg.Store.DetachSessions(ctx, uid, id); err != nil {
		n.storeFailed("uid directory", err)
	}
}

// storeFailed logs a store failure at most once per 10 s per node (a Redis outage fails every
// connect and disconnect; live traffic goes on) and counts every one.
func (n *Node) storeFailed(what string, err error) {
	n.metrics.StoreErrors.Inc()
	now := time.Now().UnixNano()
	last := n.storeLogAt.Load()
	if now-last > int64(10*time.Second) && n.storeLogAt.CompareAndSwap(last, now) {
		n.log.Warn(what+" not updated (logged once per 10 s)", "err", err)
	}
}

// usersRouter is the node's named actor that remote nodes address to close a session of a uid
// that went over its cluster-wide cap.
type usersRouter struct{ node *Node }

func (r *usersRouter) Receive(ctx actor.Context) {
	msg, ok := ctx.Message().(*pb.KickSession)
	if !ok || msg.Incarnation != r.node.incarnation {
		return // not one of this incarnation's sessions: it is gone already
	}
	n := r.node
	n.mu.Lock()
	e := n.users[msg.Uid]
	n.mu.Unlock()
	if e != nil {
		n.system.Root.Send(e.pid, &kickSerial{serial: msg.Serial})
	}
}

// Connect registers a new session of sess.UID() with the uid's user actor on this node.
func (n *Node) Connect(sess Session) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return errShuttingDown
	}
	uid := sess.UID()
	e := n.users[uid]
	if e == nil {
		e = &userEntry{pid: n.system.Root.Spawn(n.userProps)}
		n.users[uid] = e
	}
	e.count++
	n.system.Root.Send(e.pid, &attach{s: sess, uid: uid, serial: n.serial.Add(1)})
	n.metrics.Sessions.Inc()
	return nil
}

// Disconnect unregisters a closed session; the session must have left its rooms (Leave).
// The last session's detach is followed by a poison, which the mailbox delivers after it.
func (n *Node) Disconnect(sess Session) {
	n.mu.Lock()
	defer n.mu.Unlock()
	uid := sess.UID()
	e := n.users[uid]
	if e == nil {
		return
	}
	n.metrics.Sessions.Dec()
	e.count--
	n.system.Root.Send(e.pid, &detach{s: sess})
	if e.count <= 0 {
		delete(n.users, uid)
		n.system.Root.Poison(e.pid)
	}
}
