package ring

import "sort"

// SinceRecent returns the since a session starts from to get the room's n newest accepted
// messages (PROTOCOL.md section 8.3 `recent`): the ts just before the n-th newest one, so that
// the window from there holds up to those n plus every protected message after that point.
// n <= 0 is the head (LastTS); a room with at most n messages in its epoch starts at 0.
//
// Where the history index no longer has the n-th newest (a restarted room keeps only its
// protected messages), the session starts after the newest retained message older than it:
// nothing between the two is retained, so the window is the same.
func (s *Set) SinceRecent(n int) int64 {
	if n <= 0 {
		return s.lastTS
	}
	if uint64(n) >= s.lastSeq {
		return 0
	}
	seq := s.lastSeq - uint64(n) + 1
	if ts, ok := s.index.tsOf(seq); ok {
		return ts - 1
	}
	var since int64
	for p := range s.rings {
		r := &s.rings[p]
		// The retained messages of a ring are in ascending seq: the last one before seq.
		if i := sort.Search(r.Len(), func(i int) bool { return r.At(i).Seq >= seq }); i > 0 {
			since = max(since, r.At(i-1).TS)
		}
	}
	return since
}
