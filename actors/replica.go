package actors

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/hashicorp/golang-lru/v2/simplelru"

	"github.com/liveroom/liveroom/ring"
	"github.com/liveroom/liveroom/wire"
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
	gen     uint64           // bumps when the content is replaced (epoch change, resync)
	changed chan struct{}    // closed and replaced whenever the set advances
	bans    map[string]int64 // uid -> until (unix ms, 0 = forever): banned uids may not read

	cmu   sync.Mutex // guards cache and bytes
	cache *simplelru.LRU[windowKey, *encodedWindow]
	bytes int // encoded bytes the cache holds

	expectSeq    atomic.Uint64 // a send through this node was stamped with this seq: pulls wait for it
	local        atomic.Int64  // members on this node
	remoteOnline atomic.Int64  // viewers on other nodes, from the grain's last answer
	pulls        atomic.Uint64 // since the actor last reported them
	dropped      atomic.Uint64
	encodes      atomic.Uint64 // windows encoded (cache misses): shows encode-once in benchmarks
	lastUse      atomic.Int64  // unix nanos of the last join, leave or pull
	tickQueued   atomic.Bool   // a round tick is in the actor's mailbox
	headTS       atomic.Int64  // newest ts in the set (the actor stores it after each change)
	recheck      atomic.Bool   // a member pulled and is still behind headTS: the next visit runs a round
	slot         schedSlot     // the replica's place in the node's scheduler

	cnt replicaCounters // viewers' adds not yet flushed, the grain's totals (replica_counters.go)

	refs    int // members + pulls in flight; guarded by node.mu
	retired bool

	ready    chan struct{} // closed once the first snapshot is in (or failed)
	readyErr error
}

// windowKey names an encoded window by what it holds (ring.Set.WindowKey), so that a client
// cannot multiply the cache's entries by asking for the same window with other since or
// limit values.
type windowKey struct {
	base    uint64
	limit   int
	lastSeq uint64
	gen     uint64
}

// encodedWindow is a pull answer encoded once and shared by every session asking for the same
// window at the same ring state.
type encodedWindow struct {
	body    wire.Window
	next    int64
	nextSeq uint64
	dropped uint64
	count   int
}

// PullResult is what a pull returns. Body is shared and read-only.
type PullResult struct {
	Epoch   string
	Body    wire.Window // framed by wire.AppendMsgs or wire.AppendPullBody
	Next    int64
	NextSeq uint64 // the seq of the message at Next (PROTOCOL.md section 8.1)
	Dropped uint64
	Count   int
}

var windowPool = sync.Pool{New: func() any { return new(ring.Window) }}

// The encoded-window cache of one replica is bounded in entries and in bytes: a big room's
// members sit at a few points of the room, so a few entries serve them; a client asking for
// many different windows (each up to pull_limit x max_body, 800 KB) only evicts, and the node's
// whole cache stays under nodeCacheBytes however many rooms it serves.
const (
	windowCacheSize  = 64
	windowCacheBytes = 2 << 20
	nodeCacheBytes   = 256 << 20
)

func newReplica(n *Node, room string) *Replica {
	r := &Replica{room: room, node: n, changed: make(chan struct{}), ready: make(chan struct{})}
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
// right after the send sees it (read-your-writes on one node: HTTP pulls and sessions both
// wait for this mark, the one such mechanism).
func (r *Replica) expect(seq uint64) {
	for {
		cur := r.expectSeq.Load()
		if seq <= cur || r.expectSeq.CompareAndSwap(cur, seq) {
			return
		}
	}
}

// banned reports whether uid is banned from the room at now (as the grain last told).
func (r *Replica) banned(uid string, now time.Time) bool {
	if uid == "" {
		return false
	}
	r.mu.RLock()
	until, ok := r.bans[uid]
	r.mu.RUnlock()
	return ok && (until == 0 || now.UnixMilli() < until)
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

// pull serves the window (since, next] from the local copy, encoded once per ring state and
// window, after waiting (bounded) for seq want to arrive. Every pull of the room goes through
// it: sessions', pushed windows and HTTP pulls.
func (r *Replica) pull(ctx context.Context, since int64, limit int, want uint64) PullResult {
	r.catchUp(ctx, want)
	now := time.Now().UnixNano()
	r.lastUse.Store(now)
	if r.pulls.Add(1) == 1 { // the first since the last report: ask for the visit that reports them
		r.node.sched.at(&r.slot, now+statsDelay.Nanoseconds())
	}
	r.mu.RLock()
	base, effLimit, cacheable := r.set.WindowKey(since, limit)
	key := windowKey{base: base, limit: effLimit, lastSeq: r.set.LastSeq(), gen: r.gen}
	epoch := r.epoch
	var ew *encodedWindow
	var hit bool
	if cacheable {
		r.cmu.Lock()
		if r.cache != nil {
			ew, hit = r.cache.Get(key)
		}
		r.cmu.Unlock()
	}
	if !hit {
		ew = r.encode(since, limit)
	}
	r.mu.RUnlock()
	if cacheable && !hit {
		r.remember(key, ew)
	}
	r.dropped.Add(ew.dropped)
	return PullResult{Epoch: epoch, Body: ew.body, Next: ew.next, NextSeq: ew.nextSeq, Dropped: ew.dropped, Count: ew.count}
}

// encode builds the window's answer; the caller holds r.mu.
func (r *Replica) encode(since int64, limit int) *encodedWindow {
	r.encodes.Add(1)
	w := windowPool.Get().(*ring.Window)
	r.set.Window(since, limit, w)
	size := 64
	for _, m := range w.Msgs {
		size += len(m.Encoded) + 1
	}
	ew := &encodedWindow{body: w.Encode(make([]byte, 0, size)), next: w.Next, nextSeq: w.NextSeq, dropped: w.Dropped,
		count: len(w.Msgs)}
	clear(w.Msgs) // do not pin messages in the pool
	w.Msgs = w.Msgs[:0]
	windowPool.Put(w)
	return ew
}

// remember caches ew unless it would take the replica or the node over their byte bounds.
func (r *Replica) remember(key windowKey, ew *encodedWindow) {
	size := len(ew.body)
	if size > windowCacheBytes/2 {
		return
	}
	r.cmu.Lock()
	defer r.cmu.Unlock()
	if r.cache == nil { // made on the first window worth keeping: an idle room has none
		r.cache, _ = simplelru.NewLRU[windowKey, *encodedWindow](windowCacheSize, func(_ windowKey, ew *encodedWindow) {
			r.bytes -= len(ew.body)
			r.node.cacheBytes.Add(-int64(len(ew.body)))
		})
	}
	if r.cache.Contains(key) {
		return
	}
	for r.bytes+size > windowCacheBytes && r.cache.Len() > 0 {
		r.cache.RemoveOldest()
	}
	if r.node.cacheBytes.Load()+int64(size) > nodeCacheBytes {
		return
	}
	r.bytes += size
	r.node.cacheBytes.Add(int64(size))
	r.cache.Add(key, ew)
}

// dropCache empties the window cache (the replica stops).
func (r *Replica) dropCache() {
	r.cmu.Lock()
	if r.cache != nil {
		r.cache.Purge()
	}
	r.cmu.Unlock()
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

// Sent records that the session's own send was stamped: its next pull waits for it
// (read-your-writes). The seq it waits for is the replica's one mark of the sends through this
// node (Replica.expect, set by Node.Send), which covers this one.
func (m *Member) Sent() { m.sent.Store(true) }

// Pull answers a session's pull and clears its pull-in-progress mark (PROTOCOL.md section 3).
// A pull that answers a notify waits only if the session sent since its last pull (the
// notify came from the replica's own state); a spontaneous one waits (bounded) for the sends
// stamped through this node, so that a pull right after a send sees it.
func (m *Member) Pull(ctx context.Context, since int64, limit int) PullResult {
	var want uint64
	if m.sent.Swap(false) || m.markAt.Load() == 0 {
		want = m.r.expectSeq.Load()
	}
	res := m.r.pull(ctx, since, limit, want)
	if res.Next > m.pulledTS.Load() {
		m.pulledTS.Store(res.Next)
	}
	m.unanswered.Store(0)
	m.markAt.Store(0)
	if res.Next < m.r.headTS.Load() {
		// A message came while this pull was on its way and its round found the mark still
		// set: without a visit now the member would hear of it only at the retry.
		m.r.recheck.Store(true)
		m.r.node.sched.at(&m.r.slot, time.Now().UnixNano())
	}
	return res
}
