package actors

import (
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// subscriber is one node's RoomReplica as the grain knows it.
type subscriber struct {
	node    string
	pid     *actor.PID
	viewers int64
	renewed time.Time
}

// subscribers is the grain's subscribed nodes, one entry per node. A slice, not a map: a room
// is watched by a few nodes (one, for most small rooms), a lookup walks at most the cluster's
// nodes, and a map of one entry cost ~200 B per room.
type subscribers []*subscriber

// get returns node's subscriber, nil if it has none.
func (ss subscribers) get(node string) *subscriber {
	for _, s := range ss {
		if s.node == node {
			return s
		}
	}
	return nil
}

// put adds s, replacing the subscriber of the same node.
func (ss *subscribers) put(s *subscriber) {
	for i, old := range *ss {
		if old.node == s.node {
			(*ss)[i] = s
			return
		}
	}
	*ss = append(*ss, s)
}

// drop forgets node's subscriber.
func (ss *subscribers) drop(node string) {
	ss.keep(func(s *subscriber) bool { return s.node != node })
}

// keep forgets the subscribers for which f is false.
func (ss *subscribers) keep(f func(*subscriber) bool) {
	*ss = slices.DeleteFunc(*ss, func(s *subscriber) bool { return !f(s) })
}
