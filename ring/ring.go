package ring

import "sort"

// Ring is a bounded ring of messages in ascending ts order (nats-server server/ring.go style):
// a slice and a growing total; message number k (from 0) lives at k % len(buf), so the newest
// is at (total-1) % len(buf) and the oldest retained one at (total-Len()) % len(buf). Pushing
// into a full ring evicts the oldest. The caller pushes in ascending ts (Set.Append checks
// it); firstAfter relies on it.
//
// The slice is allocated on the first push and grows (doubling from minRingBuf) until it
// reaches the capacity, so a ring costs what it holds: most rooms of a platform are small and
// quiet, and four rings of the default capacities at full size are 16 KiB per room per copy
// (the grain's and every replica's). While it grows the ring has never evicted (total <=
// len(buf)), so message k is at index k and growing is one copy; from full size on, pushes
// allocate nothing.
type Ring struct {
	buf   []*Message
	cap   int    // the most messages it holds
	total uint64 // messages ever pushed
}

// minRingBuf is the first allocation of a ring's slice (one 64-byte size class of pointers).
const minRingBuf = 8

// NewRing returns an empty ring holding at most capacity messages (at least 1). It allocates
// nothing until the first push.
func NewRing(capacity int) *Ring {
	return &Ring{cap: max(capacity, 1)}
}

// Cap is the capacity.
func (r *Ring) Cap() int { return r.cap }

// Len is the number of retained messages.
func (r *Ring) Len() int { return int(min(r.total, uint64(len(r.buf)))) }

// Push appends m and returns the message it evicted, if any. No allocation once the ring has
// reached its capacity.
func (r *Ring) Push(m *Message) (evicted *Message) {
	if r.total == uint64(len(r.buf)) && len(r.buf) < r.cap {
		r.grow()
	}
	i := r.total % uint64(len(r.buf))
	if r.total >= uint64(len(r.buf)) {
		evicted = r.buf[i]
	}
	r.buf[i] = m
	r.total++
	return evicted
}

// grow doubles the slice (up to the capacity); the ring has never wrapped (total == len(buf)).
func (r *Ring) grow() {
	buf := make([]*Message, min(max(2*len(r.buf), minRingBuf), r.cap))
	copy(buf, r.buf)
	r.buf = buf
}

// At returns the i-th retained message, 0 being the oldest, for 0 <= i < Len().
func (r *Ring) At(i int) *Message {
	start := r.total - uint64(r.Len())
	return r.buf[(start+uint64(i))%uint64(len(r.buf))]
}

// firstAfter returns the index of the first retained message with TS > ts (Len() if none).
func (r *Ring) firstAfter(ts int64) int {
	return sort.Search(r.Len(), func(i int) bool { return r.At(i).TS > ts })
}

// Resize changes the capacity (at least 1), keeping the newest messages, and returns the
// evicted ones, oldest first. The kept messages are laid out from index 0 in a slice of their
// number, so the ring grows on from there.
func (r *Ring) Resize(capacity int) (evicted []*Message) {
	capacity = max(capacity, 1)
	if capacity == r.cap {
		return nil
	}
	n := r.Len()
	keep := min(n, capacity)
	evicted = make([]*Message, 0, n-keep)
	for i := 0; i < n-keep; i++ {
		evicted = append(evicted, r.At(i))
	}
	var buf []*Message
	if keep > 0 {
		buf = make([]*Message, keep)
		for i := 0; i < keep; i++ {
			buf[i] = r.At(n - keep + i)
		}
	}
	r.buf, r.total, r.cap = buf, uint64(keep), capacity
	return evicted
}

// reset empties the ring and releases its slice, keeping its capacity.
func (r *Ring) reset() {
	r.buf = nil
	r.total = 0
}
