package ring

import "sort"

// Ring is a fixed-capacity ring of messages in ascending ts order (nats-server server/ring.go
// style): a fixed slice and a growing total; message number k (from 0) lives at k % cap, so
// the newest is at (total-1) % cap and the oldest retained one at (total-Len()) % cap.
// Pushing into a full ring evicts the oldest. The caller pushes in ascending ts (Set.Append
// checks it); firstAfter relies on it.
type Ring struct {
	buf   []*Message
	total uint64 // messages ever pushed
}

// NewRing returns an empty ring holding at most capacity messages (at least 1).
func NewRing(capacity int) *Ring {
	return &Ring{buf: make([]*Message, max(capacity, 1))}
}

// Cap is the capacity.
func (r *Ring) Cap() int { return len(r.buf) }

// Len is the number of retained messages.
func (r *Ring) Len() int { return int(min(r.total, uint64(len(r.buf)))) }

// Push appends m and returns the message it evicted, if any. No allocation.
func (r *Ring) Push(m *Message) (evicted *Message) {
	i := r.total % uint64(len(r.buf))
	if r.total >= uint64(len(r.buf)) {
		evicted = r.buf[i]
	}
	r.buf[i] = m
	r.total++
	return evicted
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
// evicted ones, oldest first.
func (r *Ring) Resize(capacity int) (evicted []*Message) {
	capacity = max(capacity, 1)
	if capacity == len(r.buf) {
		return nil
	}
	n := r.Len()
	keep := min(n, capacity)
	evicted = make([]*Message, 0, n-keep)
	for i := 0; i < n-keep; i++ {
		evicted = append(evicted, r.At(i))
	}
	buf := make([]*Message, capacity)
	for i := 0; i < keep; i++ {
		buf[i] = r.At(n - keep + i)
	}
	r.buf, r.total = buf, uint64(keep)
	return evicted
}

// reset empties the ring, keeping its capacity.
func (r *Ring) reset() {
	clear(r.buf)
	r.total = 0
}
