package ring

import "fmt"

// Set is a room's messages: one Ring per priority and the history index. See the package doc
// for its concurrency contract.
//
// Invariants: every retained message has seq <= lastSeq and ts <= lastTS; ts and seq increase
// together, within each ring and across the set; the index holds the ts of the seqs from
// index.firstSeq to lastSeq.
type Set struct {
	rings   [NumPriorities]Ring // indexed by Priority; in the set (not four allocations more per room)
	index   tsIndex
	lastTS  int64  // ts of the newest accepted message; kept by Reset
	lastSeq uint64 // seq of the newest accepted message
}

// NewSet returns an empty set with the given ring capacities, indexed by Priority (a capacity
// below 1 counts as 1).
func NewSet(caps [NumPriorities]int) *Set {
	s := &Set{}
	for p, c := range caps {
		s.rings[p] = Ring{cap: max(c, 1)}
	}
	s.index.reset(0)
	return s
}

// LastTS is the ts of the newest accepted message (0 if none).
func (s *Set) LastTS() int64 { return s.lastTS }

// LastSeq is the seq of the newest accepted message (0 if none).
func (s *Set) LastSeq() uint64 { return s.lastSeq }

// Len is the number of retained messages of priority p (0 for an invalid p).
func (s *Set) Len(p Priority) int {
	if int(p) >= NumPriorities {
		return 0
	}
	return s.rings[p].Len()
}

// Caps returns the ring capacities.
func (s *Set) Caps() (c [NumPriorities]int) {
	for p := range s.rings {
		c[p] = s.rings[p].Cap()
	}
	return c
}

// Append adds the next accepted message: m.Seq must be LastSeq()+1 and m.TS > LastTS().
// It returns the message evicted from m's ring, if any. No allocation in the steady state
// (the index grows on demand up to MaxIndex).
func (s *Set) Append(m *Message) (evicted *Message, err error) {
	if m == nil {
		return nil, fmt.Errorf("ring: nil message")
	}
	if int(m.Pri) >= NumPriorities {
		return nil, fmt.Errorf("ring: invalid priority %d", m.Pri)
	}
	if m.Seq != s.lastSeq+1 {
		return nil, fmt.Errorf("ring: seq %d does not follow the last seq %d (want %d)",
			m.Seq, s.lastSeq, s.lastSeq+1)
	}
	if m.TS <= s.lastTS {
		return nil, fmt.Errorf("ring: ts %d is not after the last ts %d", m.TS, s.lastTS)
	}
	if m.Encoded == nil {
		m.Encode()
	}
	evicted = s.rings[m.Pri].Push(m)
	s.index.add(m.Seq, m.TS)
	s.lastTS, s.lastSeq = m.TS, m.Seq
	return evicted, nil
}

// Resize changes the ring capacities, keeping the newest messages of each ring, and returns
// how many messages were evicted.
func (s *Set) Resize(caps [NumPriorities]int) (evicted int) {
	for p, c := range caps {
		evicted += len(s.rings[p].Resize(c))
	}
	return evicted
}

// Reset empties the set (a new epoch): seq restarts at 1, ts must keep increasing.
func (s *Set) Reset() {
	for p := range s.rings {
		s.rings[p].reset()
	}
	s.lastSeq = 0
	s.index.reset(0)
}

// Window fills w with the pull window (since, w.Next] of PROTOCOL.md section 4, reusing
// w.Msgs's backing array (no allocation once it holds limit messages):
//   - P = every retained system and high message with ts > since, ascending;
//   - if len(P) > limit: the first limit of P, Next = the ts of the last of them, More;
//   - else Next = LastTS() and the newest (limit - len(P)) retained normal and low messages of
//     the window join P, all ascending;
//   - Dropped = the number of seq values in (since, Next] not in Msgs (skipped or evicted);
//   - NextSeq = the seq of the message at Next (LastSeq() for an empty window).
//
// limit < 1 counts as 1. since >= LastTS() gives an empty window with Next = since. since = 0
// takes the window from the oldest retained message, and every seq up to Next not returned
// (evicted ones included) counts as dropped.
func (s *Set) Window(since int64, limit int, w *Window) {
	w.Msgs, w.Dropped, w.More = w.Msgs[:0], 0, false
	limit = max(limit, 1)
	if s.lastTS <= since {
		// Nothing after since: the newest message the client has covered is the last one.
		w.Next, w.NextSeq = since, s.lastSeq
		return
	}
	// from[p]..to[p] is the part of ring p that goes into the window.
	var from, to [NumPriorities]int
	for p := range s.rings {
		r := &s.rings[p]
		from[p], to[p] = r.firstAfter(since), r.Len()
	}
	protected := (to[System] - from[System]) + (to[High] - from[High])
	if protected > limit {
		// Protected only, and only the oldest limit of them: the client pulls again at once
		// from Next and so never skips one.
		to[Normal], to[Low] = from[Normal], from[Low]
		s.merge(w, from, to, limit)
		w.More = true
		w.Next = w.Msgs[len(w.Msgs)-1].TS
	} else {
		// The newest (limit - protected) of normal and low: walk back from both ends, taking
		// the newer of the two each time.
		no, lo := &s.rings[Normal], &s.rings[Low]
		jn, jl := to[Normal], to[Low]
		for k := limit - protected; k > 0 && (jn > from[Normal] || jl > from[Low]); k-- {
			if jn > from[Normal] && (jl <= from[Low] || no.At(jn-1).TS > lo.At(jl-1).TS) {
				jn--
			} else {
				jl--
			}
		}
		from[Normal], from[Low] = jn, jl
		s.merge(w, from, to, limit)
		w.Next = s.lastTS
	}
	// Seq is gapless, so the window holds nextSeq - base seq values. The message at Next is
	// the newest of the window: the last one returned when More, else the last accepted.
	nextSeq := s.lastSeq
	if w.More {
		nextSeq = w.Msgs[len(w.Msgs)-1].Seq
	}
	w.NextSeq = nextSeq
	w.Dropped = nextSeq - s.base(since, nextSeq) - uint64(len(w.Msgs))
}

// merge appends, in ascending ts, the messages of each ring p from from[p] to to[p], until w
// holds n messages.
func (s *Set) merge(w *Window, from, to [NumPriorities]int, n int) {
	for len(w.Msgs) < n {
		best := -1
		var bestTS int64
		for p := range s.rings {
			if from[p] < to[p] {
				if ts := s.rings[p].At(from[p]).TS; best < 0 || ts < bestTS {
					best, bestTS = p, ts
				}
			}
		}
		if best < 0 {
			return
		}
		w.Msgs = append(w.Msgs, s.rings[best].At(from[best]))
		from[best]++
	}
}

// base returns the seq of the newest accepted message with ts <= since, 0 for since <= 0.
// It comes from the history index (see tsIndex.base for its horizon), kept below two seqs
// that are known to be after since, so that the window's count nextSeq - base always covers
// the messages it returns and Dropped never underflows, whatever the index holds:
//   - nextSeq, the seq of the message at the window's Next;
//   - the seq of every retained message with ts > since.
//
// Both bounds only matter where the index does not reach (a since beyond its horizon, or the
// empty index of a restarted room); within the index they change nothing.
func (s *Set) base(since int64, nextSeq uint64) uint64 {
	if since <= 0 {
		return 0
	}
	b := min(s.index.base(since), nextSeq-1)
	for p := range s.rings {
		r := &s.rings[p]
		if i := r.firstAfter(since); i < r.Len() {
			if seq := r.At(i).Seq; seq <= b {
				b = seq - 1
			}
		}
	}
	return b
}

// Protected returns the retained system and high messages in ascending ts (a copy of the
// slice; the messages are shared).
func (s *Set) Protected() []*Message {
	var from, to [NumPriorities]int
	to[System], to[High] = s.rings[System].Len(), s.rings[High].Len()
	w := Window{Msgs: make([]*Message, 0, to[System]+to[High])}
	s.merge(&w, from, to, to[System]+to[High])
	return w.Msgs
}

// TSOf returns the ts of the accepted message seq if the history index still holds it.
func (s *Set) TSOf(seq uint64) (int64, bool) { return s.index.tsOf(seq) }

// WindowKey names the window Window(since, limit) would return at the set's current state
// (LastSeq), so that windows can be cached by what they hold rather than by what a client asked:
// every since between two consecutive messages gives the same window, and so does every limit
// above the messages the window covers. ok is false where the history index cannot tell (since
// older than the indexed history), and for an empty window (since at or after LastTS: its Next is
// since itself): such a window must not be cached.
func (s *Set) WindowKey(since int64, limit int) (base uint64, effLimit int, ok bool) {
	if since >= s.lastTS {
		return 0, 0, false
	}
	if since > 0 {
		if base, ok = s.index.exactBase(since); !ok {
			return 0, 0, false
		}
	}
	covered := s.lastSeq - base
	return base, int(min(uint64(max(limit, 1)), max(covered, 1))), true
}
