package ring

import (
	"fmt"
)

// Set is a room's messages: one Ring per priority and the history index. See the package doc
// for its concurrency contract.
type Set struct {
	rings   [NumPriorities]*Ring
	index   tsIndex
	lastTS  int64
	lastSeq uint64
}

// NewSet returns an empty set with the given ring capacities, indexed by Priority.
func NewSet(caps [NumPriorities]int) *Set {
	s := &Set{}
	for p, c := range caps {
		s.rings[p] = NewRing(c)
	}
	s.index.reset(0)
	return s
}

// LastTS is the ts of the newest accepted message (0 if none).
func (s *Set) LastTS() int64 { return s.lastTS }

// LastSeq is the seq of the newest accepted message (0 if none).
func (s *Set) LastSeq() uint64 { return s.lastSeq }

// Len is the number of retained messages of priority p.
func (s *Set) Len(p Priority) int { return s.rings[p].Len() }

// Caps returns the ring capacities.
func (s *Set) Caps() (c [NumPriorities]int) {
	for p, r := range s.rings {
		c[p] = r.Cap()
	}
	return c
}

// Append adds the next accepted message: m.Seq must be LastSeq()+1 and m.TS > LastTS().
// It returns the message evicted from m's ring, if any. No allocation in the steady state
// (the index grows on demand up to MaxIndex).
func (s *Set) Append(m *Message) (evicted *Message, err error) {
	if int(m.Pri) >= NumPriorities {
		return nil, fmt.Errorf("ring: invalid priority %d", m.Pri)
	}
	if m.Seq != s.lastSeq+1 {
		return nil, fmt.Errorf("ring: seq %d does not follow %d", m.Seq, s.lastSeq)
	}
	if m.TS <= s.lastTS {
		return nil, fmt.Errorf("ring: ts %d is not after %d", m.TS, s.lastTS)
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
		if s.rings[p].Cap() != max(c, 1) {
			evicted += len(s.rings[p].Resize(c))
		}
	}
	return evicted
}

// Reset empties the set (a new epoch): seq restarts at 1, ts must keep increasing.
func (s *Set) Reset() {
	for _, r := range s.rings {
		r.reset()
	}
	s.lastSeq = 0
	s.index.reset(0)
}

// Window fills w with the pull window (since, w.Next] of PROTOCOL.md section 4, reusing
// w.Msgs's backing array:
//   - every system and high message in the window, in ascending ts;
//   - if they alone exceed limit: the first limit of them, Next = the ts of the last one, More;
//   - else Next = LastTS() and normal and low messages fill what is left of limit, newest kept;
//   - Dropped = the number of seq values in (since, Next] not in Msgs.
//
// limit < 1 counts as 1. since >= LastTS() gives an empty window with Next = since.
func (s *Set) Window(since int64, limit int, w *Window) {
	w.Msgs, w.Dropped, w.More = w.Msgs[:0], 0, false
	limit = max(limit, 1)
	if s.lastTS <= since {
		w.Next = since
		return
	}
	var head [NumPriorities]int // first index after since, per ring
	for p, r := range s.rings {
		head[p] = r.firstAfter(since)
	}
	sy, hi, no, lo := s.rings[System], s.rings[High], s.rings[Normal], s.rings[Low]
	protected := (sy.Len() - head[System]) + (hi.Len() - head[High])
	end := [NumPriorities]int{System: sy.Len(), High: hi.Len()}
	if protected > limit {
		w.More = true // protected only, and only limit of them
		s.merge(w, head, [NumPriorities]int{System: sy.Len(), High: hi.Len()}, limit)
		w.Next = w.Msgs[len(w.Msgs)-1].TS
	} else {
		w.Next = s.lastTS
		// The newest (limit - protected) of normal and low: walk back from both ends.
		jn, jl := no.Len(), lo.Len()
		for k := limit - protected; k > 0 && (jn > head[Normal] || jl > head[Low]); k-- {
			if jn > head[Normal] && (jl <= head[Low] || no.At(jn-1).TS > lo.At(jl-1).TS) {
				jn--
			} else {
				jl--
			}
		}
		end[Normal], end[Low] = no.Len(), lo.Len()
		head[Normal], head[Low] = jn, jl
		s.merge(w, head, end, limit)
	}
	lastSeq := s.lastSeq
	if w.More {
		lastSeq = w.Msgs[len(w.Msgs)-1].Seq
	}
	inWindow := lastSeq - s.base(since)
	w.Dropped = inWindow - uint64(len(w.Msgs))
}

// merge appends, in ascending ts, the messages of ring p from from[p] to to[p], at most n.
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

// base returns the seq of the newest accepted message with ts <= since (see the package doc
// on exactness). It never exceeds the seq just before the oldest retained message after since.
func (s *Set) base(since int64) uint64 {
	if since <= 0 {
		return 0
	}
	b := s.index.base(since)
	for _, r := range s.rings {
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
	from[Normal], from[Low] = 0, 0
	w := Window{Msgs: make([]*Message, 0, to[System]+to[High])}
	s.merge(&w, from, to, to[System]+to[High])
	return w.Msgs
}

// Snapshot is a Set's content for a replica that starts late or a room that restarts.
type Snapshot struct {
	LastTS        int64
	LastSeq       uint64
	IndexFirstSeq uint64     // seq of IndexTS[0]
	IndexTS       []int64    // ts of IndexFirstSeq, IndexFirstSeq+1, ... LastSeq
	Msgs          []*Message // every retained message, ascending ts
}

// Snapshot copies the set's content.
func (s *Set) Snapshot() Snapshot {
	sn := Snapshot{LastTS: s.lastTS, LastSeq: s.lastSeq}
	sn.IndexFirstSeq, sn.IndexTS = s.index.export()
	n := 0
	var from, to [NumPriorities]int
	for p, r := range s.rings {
		n += r.Len()
		to[p] = r.Len()
	}
	w := Window{Msgs: make([]*Message, 0, n)}
	s.merge(&w, from, to, n)
	sn.Msgs = w.Msgs
	return sn
}

// Import replaces the set's content with sn. Msgs may have seq gaps (after a restart only the
// protected messages survive; IndexTS is then empty and IndexFirstSeq = LastSeq+1). Append
// continues at LastSeq+1.
func (s *Set) Import(sn Snapshot) error {
	var prevTS int64
	var prevSeq uint64
	for _, m := range sn.Msgs {
		if int(m.Pri) >= NumPriorities || m.TS <= prevTS || m.Seq <= prevSeq || m.TS > sn.LastTS || m.Seq > sn.LastSeq {
			return fmt.Errorf("ring: snapshot message ts %d seq %d out of order", m.TS, m.Seq)
		}
		prevTS, prevSeq = m.TS, m.Seq
	}
	if n := uint64(len(sn.IndexTS)); n > 0 && (sn.IndexFirstSeq == 0 || sn.IndexFirstSeq+n-1 != sn.LastSeq || n > MaxIndex) {
		return fmt.Errorf("ring: snapshot index %d+%d does not end at seq %d", sn.IndexFirstSeq, n, sn.LastSeq)
	}
	for _, r := range s.rings {
		r.reset()
	}
	for _, m := range sn.Msgs {
		if m.Encoded == nil {
			m.Encode()
		}
		s.rings[m.Pri].Push(m)
	}
	s.index.reset(sn.LastSeq)
	if len(sn.IndexTS) > 0 {
		s.index.firstSeq = sn.IndexFirstSeq
		s.index.lastSeq = sn.IndexFirstSeq - 1
		s.index.ts = make([]int64, min(max(64, len(sn.IndexTS)), MaxIndex))
		for i, ts := range sn.IndexTS {
			s.index.add(sn.IndexFirstSeq+uint64(i), ts)
		}
	}
	s.lastTS, s.lastSeq = sn.LastTS, sn.LastSeq
	return nil
}
