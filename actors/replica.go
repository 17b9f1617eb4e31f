package actors

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/liveroom/liveroom/ring"
)

// Replica is a node's copy of one room: the rings fed by the grain's deltas, read concurrently
// by the sessions that pull. The replica actor (replicaActor) is its single writer.
type Replica struct {
	room string
	node *Node
	pid  *actor.PID

	mu      sync.RWMutex
	set     *ring.Set
	epoch   string
	gen     uint64        // bumps when the content is replaced (epoch change, resync)
	changed chan struct{} // closed and replaced whenever the set advances

	cache *lru.Cache[windowKey, *encodedWindow]

	expectSeq    atomic.Uint64 // a send through this node was stamped with this seq: pulls wait for it
	local        atomic.Int64  // members on this node
	remoteOnline atomic.Int64  // viewers on other nodes, from the grain's last answer
	pulls        atomic.Uint64 // since the actor last reported them
	dropped      atomic.Uint64
	encodes      atomic.Uint64 // windows encoded (cache misses): shows encode-once in benchmarks
	lastUse      atomic.Int64  // unix nanos of the last join, leave or pull
	tickQueued   atomic.Bool   // a round tick is in the actor's mailbox

	refs    int // members + pulls in flight; guarded by node.mu
	retired bool

	ready    chan struct{} // closed once the first snapshot is in (or failed)
	readyErr error
}

type windowKey struct {
	since   int64
	limit   int
	lastSeq uint64
	gen     uint64
}

// encodedWindow is a pull answer encoded once and shared by every session asking for the same
// (since, limit) at the same ring state: `"msgs":[...],"dropped":D,"next":N,"more":B}`.
type encodedWindow struct {
	body    []byte
	next    int64
	dropped uint64
	count   int
}

// PullResult is what a pull returns. Body is shared and read-only.
type PullResult struct {
	Epoch   string
	Body    []byte // `"msgs":[...],"dropped":D,"next":N,"more":B}`: the caller writes its own prefix
	Next    int64
	Dropped uint64
	Count   int
}

var windowPool = sync.Pool{New: func() any { return new(ring.Window) }}

const windowCacheSize = 64

func newReplica(n *Node, room string) *Replica {
	c, _ := lru.New[windowKey, *encodedWindow](windowCacheSize)
	r := &Replica{room: room, node: n, cache: c, changed: make(chan struct{}), ready: make(chan struct{})}
	r.lastUse.Store(time.Now().UnixNano())
	return r
}

// head returns the replica's epoch, newest ts and seq.
func (r *Replica) head() (string, int64, uint64) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.epoch, r.set.LastTS(), r.set.LastSeq()
}

// expect records that a message with this seq was stamped through this node, so that a pull
// right after the send sees it (read-your-writes on one node).
func (r *Replica) expect(seq uint64) {
	for {
		cur := r.expectSeq.Load()
		if seq <= cur || r.expectSeq.CompareAndSwap(cur, seq) {
			return
		}
	}
}

// catchUp waits (bounded) until the replica holds the message with seq want (0: no wait).
func (r *Replica) catchUp(ctx context.Context, want uint64) {
	if want == 0 {
		return
	}
	var timer *time.Timer
	for {
		r.mu.RLock()
		have, ch := r.set.LastSeq(), r.changed
		r.mu.RUnlock()
		if have >= want {
			return
		}
		if timer == nil {
			timer = time.NewTimer(time.Second)
			defer timer.Stop()
		}
		select {
		case <-ch:
		case <-timer.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// pull serves the window (since, next] from the local copy, encoded once per ring state,
// after waiting (bounded) for seq want to arrive.
func (r *Replica) pull(ctx context.Context, since int64, limit int, want uint64) PullResult {
	r.catchUp(ctx, want)
	r.lastUse.Store(time.Now().UnixNano())
	r.pulls.Add(1)
	r.mu.RLock()
	key := windowKey{since: since, limit: limit, lastSeq: r.set.LastSeq(), gen: r.gen}
	epoch := r.epoch
	ew, ok := r.cache.Get(key)
	if !ok {
		r.encodes.Add(1)
		w := windowPool.Get().(*ring.Window)
		r.set.Window(since, limit, w)
		size := 64
		for _, m := range w.Msgs {
			size += len(m.Encoded) + 1
		}
		body := ring.AppendWindowJSON(make([]byte, 0, size), w)
		ew = &encodedWindow{body: append(body, '}'), next: w.Next, dropped: w.Dropped, count: len(w.Msgs)}
		clear(w.Msgs) // do not pin messages in the pool
		w.Msgs = w.Msgs[:0]
		windowPool.Put(w)
	}
	r.mu.RUnlock()
	if !ok {
		r.cache.Add(key, ew)
	}
	r.dropped.Add(ew.dropped)
	return PullResult{Epoch: epoch, Body: ew.body, Next: ew.next, Dropped: ew.dropped, Count: ew.count}
}

// waitNew returns when the replica holds a message newer than since, or ctx is done.
func (r *Replica) waitNew(ctx context.Context, since int64) error {
	for {
		r.mu.RLock()
		ts, ch := r.set.LastTS(), r.changed
		r.mu.RUnlock()
		if ts > since {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// online is the room's viewer count as this node sees it: its live local count plus what the
// other nodes last reported to the grain.
func (r *Replica) online() int64 { return r.local.Load() + r.remoteOnline.Load() }

// Sent records that the session's own send was stamped seq: its next pull waits for it
// (read-your-writes).
func (m *Member) Sent(seq uint64) {
	for {
		cur := m.sentSeq.Load()
		if seq <= cur || m.sentSeq.CompareAndSwap(cur, seq) {
			return
		}
	}
}

// Pull answers a session's pull and clears its pull-in-progress mark (PROTOCOL.md section 3).
// A pull that answers a notify never waits (the notify came from the replica's own state);
// a spontaneous one waits (bounded) for the sends stamped through this node, so that a pull
// right after a send sees it.
func (m *Member) Pull(ctx context.Context, since int64, limit int) PullResult {
	want := m.sentSeq.Swap(0)
	if m.markAt.Load() == 0 {
		want = max(want, m.r.expectSeq.Load())
	}
	res := m.r.pull(ctx, since, limit, want)
	if res.Next > m.pulledTS.Load() {
		m.pulledTS.Store(res.Next)
	}
	m.unanswered.Store(0)
	m.markAt.Store(0)
	return res
}
