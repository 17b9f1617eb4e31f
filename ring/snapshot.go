package ring

import "fmt"

// Snapshot is a Set's content for a replica that starts late or a room that restarts.
type Snapshot struct {
	LastTS        int64
	LastSeq       uint64
	IndexFirstSeq uint64     // seq of IndexTS[0]
	IndexTS       []int64    // ts of IndexFirstSeq, IndexFirstSeq+1, ... LastSeq
	Msgs          []*Message // every retained message of every priority, ascending ts
}

// Snapshot copies the set's content (the messages themselves are shared).
func (s *Set) Snapshot() Snapshot {
	sn := Snapshot{LastTS: s.lastTS, LastSeq: s.lastSeq}
	sn.IndexFirstSeq, sn.IndexTS = s.index.export()
	n := 0
	var from, to [NumPriorities]int
	for p := range s.rings {
		n += s.rings[p].Len()
		to[p] = s.rings[p].Len()
	}
	w := Window{Msgs: make([]*Message, 0, n)}
	s.merge(&w, from, to, n)
	sn.Msgs = w.Msgs
	return sn
}

// Import replaces the set's content with sn, keeping the set's capacities (a ring given more
// messages than it holds keeps the newest). Msgs may have seq gaps: after a restart only the
// protected messages survive, IndexTS is then empty and IndexFirstSeq = LastSeq+1. Append
// continues at LastSeq+1. A snapshot that is not consistent gets an error and the set is left
// unchanged.
func (s *Set) Import(sn Snapshot) error {
	if err := sn.check(); err != nil {
		return err
	}
	for p := range s.rings {
		s.rings[p].reset()
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

// check reports what makes sn inconsistent: messages out of order or after LastTS/LastSeq,
// an index that does not end at LastSeq with LastTS, or that disagrees with a message.
func (sn *Snapshot) check() error {
	if sn.LastTS < 0 {
		return fmt.Errorf("ring: snapshot last ts %d is negative", sn.LastTS)
	}
	n := uint64(len(sn.IndexTS))
	if n > MaxIndex {
		return fmt.Errorf("ring: snapshot index has %d entries, more than %d", n, MaxIndex)
	}
	if n > 0 {
		if sn.IndexFirstSeq == 0 || sn.IndexFirstSeq+n-1 != sn.LastSeq {
			return fmt.Errorf("ring: snapshot index of %d entries from seq %d does not end at seq %d",
				n, sn.IndexFirstSeq, sn.LastSeq)
		}
		if last := sn.IndexTS[n-1]; last != sn.LastTS {
			return fmt.Errorf("ring: snapshot index ends at ts %d, not at the last ts %d", last, sn.LastTS)
		}
		for i := 1; i < len(sn.IndexTS); i++ {
			if sn.IndexTS[i] <= sn.IndexTS[i-1] {
				return fmt.Errorf("ring: snapshot index ts %d of seq %d is not after %d",
					sn.IndexTS[i], sn.IndexFirstSeq+uint64(i), sn.IndexTS[i-1])
			}
		}
	}
	var prevTS int64
	var prevSeq uint64
	for i, m := range sn.Msgs {
		switch {
		case m == nil:
			return fmt.Errorf("ring: snapshot message %d is nil", i)
		case int(m.Pri) >= NumPriorities:
			return fmt.Errorf("ring: snapshot message seq %d has invalid priority %d", m.Seq, m.Pri)
		case m.TS <= prevTS || m.Seq <= prevSeq:
			return fmt.Errorf("ring: snapshot message ts %d seq %d is not after ts %d seq %d",
				m.TS, m.Seq, prevTS, prevSeq)
		case m.TS > sn.LastTS || m.Seq > sn.LastSeq:
			return fmt.Errorf("ring: snapshot message ts %d seq %d is after the last ts %d seq %d",
				m.TS, m.Seq, sn.LastTS, sn.LastSeq)
		case n > 0 && m.Seq >= sn.IndexFirstSeq && sn.IndexTS[m.Seq-sn.IndexFirstSeq] != m.TS:
			return fmt.Errorf("ring: snapshot message seq %d has ts %d, the index says %d",
				m.Seq, m.TS, sn.IndexTS[m.Seq-sn.IndexFirstSeq])
		}
		prevTS, prevSeq = m.TS, m.Seq
	}
	return nil
}
