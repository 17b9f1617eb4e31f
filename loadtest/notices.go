package loadtest

import "sync"

// The loss check needs, for every viewer, which system notices it received. A viewer keeps one
// bit per notice rather than its ts (8 bytes, and a million viewers each hold every notice of a
// run): the worker numbers each room's notices in the order its viewers first receive them,
// and a viewer sets the bit of each notice's number. The final check looks the acknowledged
// notices' numbers up; one no viewer of the worker received has none and is lost for all.

// noticeNumbers numbers the notices of each room a worker's viewers receive. Notices are rare
// (one a second, say): one mutex for all rooms.
type noticeNumbers struct {
	mu     sync.Mutex
	byRoom map[string]map[int64]int // room -> ts -> number
}

// number returns the number of room's notice ts, giving it the next one when it is new.
func (n *noticeNumbers) number(room string, ts int64) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.byRoom == nil {
		n.byRoom = map[string]map[int64]int{}
	}
	m := n.byRoom[room]
	if m == nil {
		m = map[int64]int{}
		n.byRoom[room] = m
	}
	k, ok := m[ts]
	if !ok {
		k = len(m)
		m[ts] = k
	}
	return k
}

// lookup returns the number of room's notice ts; false: no viewer received it.
func (n *noticeNumbers) lookup(room string, ts int64) (int, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	k, ok := n.byRoom[room][ts]
	return k, ok
}

// bits is a set of small numbers.
type bits []uint64

func (b *bits) set(k int) {
	for len(*b) <= k/64 {
		*b = append(*b, 0)
	}
	(*b)[k/64] |= 1 << (k % 64)
}

func (b bits) has(k int) bool { return k/64 < len(b) && b[k/64]&(1<<(k%64)) != 0 }

// interner interns the strings many viewers share (rooms, epochs), so that each holds only a
// reference.
type interner struct {
	mu sync.Mutex
	m  map[string]string
}

func (s *interner) intern(b []byte) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.m[string(b)]; ok {
		return v
	}
	if s.m == nil {
		s.m = map[string]string{}
	}
	v := string(b)
	s.m[v] = v
	return v
}
