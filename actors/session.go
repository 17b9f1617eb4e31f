package actors

import (
	"context"
	"sync/atomic"

	"github.com/liveroom/liveroom/rooms"
	"github.com/liveroom/liveroom/wire"
)

// Session is a viewer's connection as the actors see it (transport implements it).
// Every method must be safe for concurrent use and must not block for long: Notify is called
// from a replica's dispatch round for every dirty member in turn.
type Session interface {
	// UID is the authenticated user id.
	UID() string
	// Notify writes the shared notify frame f and, when f.Then is set, f.Then right after it
	// in the same write. It returns false if nothing was written (the session is busy writing
	// or closed); the round then tries again next time.
	Notify(f *SharedFrame) bool
	// Notify must not wait for a slow peer: a round writes to every member in turn.
	// Kick tells the session it was removed: from room with reason, or, with room "", that the
	// whole session must close (reasons: banned, kicked, unresponsive, replaced, shutdown).
	Kick(room, reason string)
}

// Membership is a session's membership of one room as the session uses it between join and
// leave: what it pulls through and tells about its own sends. *Member implements it; the
// transport's tests give their sessions a fake. Every method is safe for concurrent use.
type Membership interface {
	// Room returns the room id.
	Room() string
	// Pull answers the session's pull of (since, next] (limit already clamped) and clears its
	// pull-in-progress mark.
	Pull(ctx context.Context, since int64, limit int) PullResult
	// Sent records that the session's own send was stamped: its next pull sees it.
	Sent()
	// Add adds delta to the room's counter name for the session (PROTOCOL.md 8.4), within
	// its add limit; with ack it returns once the room accepted it.
	Add(ctx context.Context, name string, delta int64, ack bool) error
}

var _ Membership = (*Member)(nil)

// SharedFrame is an encoded server frame that many sessions write unchanged (one notify per
// room per round). Prepared and Wire let the transport cache its own encodings of Data once
// (Wire: of Data and Then together).
//
// Then is a second frame written with this one, in the same write: a member's counters frame
// when it is due in the round that notifies the member or pushes its window, so that the two
// cost one syscall instead of two (a write of a counters frame cost ~14 us of the server's CPU
// at 10k viewers tapping likes: docs/benchmarks.md "Likes"). A pair is a SharedFrame of its
// own, made once per round and shared by the members that get both.
type SharedFrame struct {
	Data     []byte
	Then     *SharedFrame
	Prepared atomic.Value
	Wire     atomic.Pointer[[]byte]
}

func notifyFrame(room string, ts int64) *SharedFrame {
	return &SharedFrame{Data: wire.AppendNotify(make([]byte, 0, 64+len(room)), room, ts)}
}

// Member is one session's membership of one room on this node. The session holds it between
// join and leave and pulls through it.
type Member struct {
	r    *Replica
	sess Session
	idx  int  // position in the replica actor's member slice; owned by that actor
	push bool // the replica pushes windows to this member instead of notifying

	pulledTS atomic.Int64 // newest ts the session has covered (pull's next, or the join point)
	markAt   atomic.Int64 // unix nanos of the unanswered notify; 0 = no pull in progress
	// paceAt is when the member may next be notified (unix nanos, less one DispatchInterval
	// of slack): a notify moves it one pace past max(paceAt, now). Owned by the replica actor.
	paceAt     int64
	unanswered atomic.Int32 // notify retries since the last pull
	sent       atomic.Bool  // the session sent since its last pull: that pull waits for the node's sends
	gone       atomic.Bool  // left or kicked; set once by whoever removes it

	adds rooms.Bucket // the session's add limiter in this room; guarded by r.cnt.mu
	// The last counters the member got (joined, a counters frame, a pushed window carrying
	// them), owned by the replica actor: the hash of the counters object, the online count
	// (a pushed window carries the object only) and when (unix nanos).
	cntVals   uint64
	cntOnline int64
	cntAt     int64
}

// Room returns the room id.
func (m *Member) Room() string { return m.r.room }
