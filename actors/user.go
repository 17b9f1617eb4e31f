package actors

import (
	"github.com/asynkron/protoactor-go/actor"
)

// userActor holds one uid's sessions on this node, oldest first, and enforces the per-uid
// session cap: the oldest session is kicked with reason "replaced".
type userActor struct {
	cap      int
	sessions []Session
	node     *Node
}

type attach struct{ s Session }
type detach struct{ s Session }

// userEntry is the node's handle on a user actor; count is guarded by node.mu so that a uid's
// last detach and a new attach cannot race the actor's stop.
type userEntry struct {
	pid   *actor.PID
	count int
}

func (u *userActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *attach:
		u.sessions = append(u.sessions, msg.s)
		for len(u.sessions) > u.cap {
			oldest := u.sessions[0]
			u.sessions = u.sessions[1:]
			oldest.Kick("", "replaced")
			u.node.metrics.Kicks.WithLabelValues("replaced").Inc()
		}
	case *detach:
		for i, s := range u.sessions {
			if s == msg.s {
				u.sessions = append(u.sessions[:i], u.sessions[i+1:]...)
				break
			}
		}
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
	n.system.Root.Send(e.pid, &attach{s: sess})
	n.metrics.Sessions.Inc()
	return nil
}

// Disconnect unregisters a closed session; the session must have left its rooms (Leave).
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
	if e.count <= 0 {
		delete(n.users, uid)
		n.system.Root.Stop(e.pid)
		return
	}
	n.system.Root.Send(e.pid, &detach{s: sess})
}
