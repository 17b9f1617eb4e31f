// Package actors runs liveroom's rooms and viewers on protoactor-go.
//
// Three kinds of actor (DESIGN.md section 2):
//   - the room grain (cluster kind "room", identity = room id): owns the room's domain state
//     (rooms.Room), the authoritative rings, and the set of subscribed nodes; stamps messages and
//     sends one Delta per subscribed node per flush tick;
//   - the RoomReplica (a local actor, one per room per node with local viewers or pullers): keeps
//     a copy of the rings fed by the deltas, the local members, and runs the notify dispatch
//     rounds (PROTOCOL.md section 3);
//   - the user actor (a local actor per uid per node): the uid's sessions on this node, the
//     per-uid session cap.
//
// Concurrency contract. Actor state is touched only inside the actor's Receive. Two things are
// shared on purpose, for the hot path: a Replica's ring copy (ring.Set behind a sync.RWMutex:
// the replica actor is the single writer, session goroutines read it to serve pulls), and a
// Member's notify marks (atomics: the replica's round sets them, the session's pull clears
// them). A round therefore costs O(1) per member with no allocation and no message per viewer.
// Node's methods are safe for concurrent use; Session implementations must be too.
package actors
