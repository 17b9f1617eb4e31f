package ring

import (
	"fmt"
	"sort"
)

// model is the reference for the window tests: every accepted message, and what each
// priority retains, kept by brute force (no rings, no index).
type model struct {
	caps [NumPriorities]int
	all  []*Message                // every accepted message, ascending seq
	kept [NumPriorities][]*Message // retained, ascending
}

func newModel(caps [NumPriorities]int) *model { return &model{caps: caps} }

// add appends a message of priority pri at ts to both the model and s.
func (h *model) add(s *Set, pri Priority, ts int64) *Message {
	m := &Message{TS: ts, Seq: uint64(len(h.all) + 1), Pri: pri, Kind: "chat", UID: "u", Body: []byte(`{}`)}
	if _, err := s.Append(m); err != nil {
		panic(err)
	}
	h.all = append(h.all, m)
	h.kept[pri] = append(h.kept[pri], m)
	h.trim()
	return m
}

func (h *model) resize(caps [NumPriorities]int) {
	h.caps = caps
	h.trim()
}

func (h *model) trim() {
	for p := range h.kept {
		if c := max(h.caps[p], 1); len(h.kept[p]) > c {
			h.kept[p] = h.kept[p][len(h.kept[p])-c:]
		}
	}
}

// want computes the window by brute force, following PROTOCOL.md section 4 word by word.
func (h *model) want(since int64, limit int) Window {
	limit = max(limit, 1)
	var w Window
	if len(h.all) == 0 || h.all[len(h.all)-1].TS <= since {
		w.Next, w.NextSeq = since, h.seqAt(since)
		return w
	}
	var prot, rest []*Message
	for p := Priority(0); p < NumPriorities; p++ {
		for _, m := range h.kept[p] {
			if m.TS > since {
				if p.Protected() {
					prot = append(prot, m)
				} else {
					rest = append(rest, m)
				}
			}
		}
	}
	byTS(prot)
	byTS(rest)
	if len(prot) > limit {
		w.Msgs, w.More, w.Next = prot[:limit], true, prot[limit-1].TS
	} else {
		w.Next = h.all[len(h.all)-1].TS
		if k := limit - len(prot); len(rest) > k {
			rest = rest[len(rest)-k:]
		}
		w.Msgs = append(append([]*Message{}, prot...), rest...)
		byTS(w.Msgs)
	}
	w.Dropped = h.count(since, w.Next) - uint64(len(w.Msgs))
	w.NextSeq = h.seqAt(w.Next)
	return w
}

// seqAt is the seq of the newest accepted message with ts <= ts (0 if none).
func (h *model) seqAt(ts int64) uint64 {
	var seq uint64
	for _, m := range h.all {
		if m.TS <= ts {
			seq = m.Seq
		}
	}
	return seq
}

// count is the number of accepted messages with since < ts <= next.
func (h *model) count(since, next int64) uint64 {
	var n uint64
	for _, m := range h.all {
		if m.TS > since && m.TS <= next {
			n++
		}
	}
	return n
}

// known is the number of seqs from the oldest message retained in (since, next] (or the one at
// next, which is always in the window) to the one at next: what a window counts at least.
func (h *model) known(since, next int64) uint64 {
	if since >= next {
		return 0
	}
	var nextSeq uint64
	for _, m := range h.all {
		if m.TS == next {
			nextSeq = m.Seq
		}
	}
	oldest := nextSeq
	for _, kept := range h.kept {
		for _, m := range kept {
			if m.TS > since && m.Seq < oldest {
				oldest = m.Seq
			}
		}
	}
	return nextSeq - oldest + 1
}

func byTS(s []*Message) { sort.Slice(s, func(i, j int) bool { return s[i].TS < s[j].TS }) }

// sameMsgs compares everything but Dropped.
func sameMsgs(got, want Window) error {
	if got.Next != want.Next || got.NextSeq != want.NextSeq || got.More != want.More || len(got.Msgs) != len(want.Msgs) {
		return fmt.Errorf("got next %d next_seq %d more %v n %d (%v); want next %d next_seq %d more %v n %d (%v)",
			got.Next, got.NextSeq, got.More, len(got.Msgs), seqs(got.Msgs), want.Next, want.NextSeq, want.More, len(want.Msgs), seqs(want.Msgs))
	}
	for i := range got.Msgs {
		if got.Msgs[i] != want.Msgs[i] {
			return fmt.Errorf("msg %d: got seq %d want seq %d", i, got.Msgs[i].Seq, want.Msgs[i].Seq)
		}
	}
	return nil
}

func sameWindow(got, want Window) error {
	if err := sameMsgs(got, want); err != nil {
		return err
	}
	if got.Dropped != want.Dropped {
		return fmt.Errorf("got dropped %d, want %d", got.Dropped, want.Dropped)
	}
	return nil
}

func seqs(ms []*Message) []uint64 {
	out := make([]uint64, len(ms))
	for i, m := range ms {
		out[i] = m.Seq
	}
	return out
}

// history builds a set and its model from a compact history: one letter per message
// (s system, h high, n normal, l low), message i (from 1) at ts 10*i.
func history(caps [NumPriorities]int, pris string) (*Set, *model) {
	s, h := NewSet(caps), newModel(caps)
	for i, c := range pris {
		p := map[rune]Priority{'s': System, 'h': High, 'n': Normal, 'l': Low}[c]
		h.add(s, p, int64(10*(i+1)))
	}
	return s, h
}
