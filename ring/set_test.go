package ring

import (
	"fmt"
	"math/rand"
	"sort"
	"testing"
)

// history is a reference model: every accepted message, and the caps that decide retention.
type history struct {
	caps [NumPriorities]int
	all  []*Message
}

func (h *history) retained(p Priority) []*Message {
	var out []*Message
	for _, m := range h.all {
		if m.Pri == p {
			out = append(out, m)
		}
	}
	if len(out) > h.caps[p] {
		out = out[len(out)-h.caps[p]:]
	}
	return out
}

// want computes the window by brute force from the model.
func (h *history) want(since int64, limit int) Window {
	limit = max(limit, 1)
	var w Window
	if len(h.all) == 0 || h.all[len(h.all)-1].TS <= since {
		w.Next = since
		return w
	}
	var prot, rest []*Message
	for p := Priority(0); p < NumPriorities; p++ {
		for _, m := range h.retained(p) {
			if m.TS > since {
				if p.Protected() {
					prot = append(prot, m)
				} else {
					rest = append(rest, m)
				}
			}
		}
	}
	byTS := func(s []*Message) { sort.Slice(s, func(i, j int) bool { return s[i].TS < s[j].TS }) }
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
	var inWindow uint64
	for _, m := range h.all {
		if m.TS > since && m.TS <= w.Next {
			inWindow++
		}
	}
	w.Dropped = inWindow - uint64(len(w.Msgs))
	return w
}

func (h *history) add(s *Set, pri Priority, ts int64) *Message {
	m := &Message{TS: ts, Seq: uint64(len(h.all) + 1), Pri: pri, Kind: "chat", UID: "u", Body: []byte(`{}`)}
	h.all = append(h.all, m)
	if _, err := s.Append(m); err != nil {
		panic(err)
	}
	return m
}

func sameWindow(got, want Window) error {
	if got.Next != want.Next || got.Dropped != want.Dropped || got.More != want.More || len(got.Msgs) != len(want.Msgs) {
		return fmt.Errorf("got next %d dropped %d more %v n %d; want next %d dropped %d more %v n %d",
			got.Next, got.Dropped, got.More, len(got.Msgs), want.Next, want.Dropped, want.More, len(want.Msgs))
	}
	for i := range got.Msgs {
		if got.Msgs[i] != want.Msgs[i] {
			return fmt.Errorf("msg %d: got seq %d want seq %d", i, got.Msgs[i].Seq, want.Msgs[i].Seq)
		}
	}
	return nil
}

func TestWindow(t *testing.T) {
	// pris is a compact history: one letter per message, ts = 10, 20, 30, ...
	f := func(name string, caps [NumPriorities]int, pris string, since int64, limit int) {
		t.Helper()
		h := &history{caps: caps}
		s := NewSet(caps)
		for i, c := range pris {
			p := map[rune]Priority{'s': System, 'h': High, 'n': Normal, 'l': Low}[c]
			h.add(s, p, int64(10*(i+1)))
		}
		var w Window
		s.Window(since, limit, &w)
		if err := sameWindow(w, h.want(since, limit)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if uint64(len(w.Msgs))+w.Dropped != countSeq(h.all, since, w.Next) {
			t.Errorf("%s: len+dropped != seq count", name)
		}
	}
	big := [NumPriorities]int{100, 100, 100, 100}
	f("empty room", big, "", 0, 10)
	f("since 0 takes all", big, "nnslh", 0, 10)
	f("since at last ts", big, "nnn", 30, 10)
	f("since after last ts", big, "nnn", 99, 10)
	f("newest normal kept", big, "nnnnnnnn", 0, 3)
	f("low and normal merge newest", big, "nlnlnlnl", 20, 3)
	f("protected never skipped", big, "nsnnhnnnsn", 0, 4)
	f("limit cut inside protected", big, "snhsnhsh", 0, 3)
	f("limit equals protected", big, "snhn", 0, 2)
	f("eviction counted as dropped", [NumPriorities]int{Low: 2, Normal: 3, High: 2, System: 2}, "nnnnnnnnnn", 0, 100)
	f("since older than ring", [NumPriorities]int{Low: 2, Normal: 3, High: 2, System: 2}, "nnnnnnnnnn", 20, 100)
	f("system survives normal flood", [NumPriorities]int{Low: 2, Normal: 3, High: 2, System: 2}, "snnnnnnnnnnnnn", 0, 2)
	f("limit below 1 is 1", big, "nnn", 0, 0)
}

func countSeq(all []*Message, since, next int64) uint64 {
	var n uint64
	for _, m := range all {
		if m.TS > since && m.TS <= next {
			n++
		}
	}
	return n
}

func TestAppendErrors(t *testing.T) {
	s := NewSet([NumPriorities]int{4, 4, 4, 4})
	if _, err := s.Append(&Message{TS: 10, Seq: 2, Pri: Normal}); err == nil {
		t.Error("seq gap accepted")
	}
	if _, err := s.Append(&Message{TS: 10, Seq: 1, Pri: Normal}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(&Message{TS: 10, Seq: 2, Pri: Normal}); err == nil {
		t.Error("equal ts accepted")
	}
	if _, err := s.Append(&Message{TS: 11, Seq: 2, Pri: 9}); err == nil {
		t.Error("bad priority accepted")
	}
	if s.LastSeq() != 1 || s.LastTS() != 10 {
		t.Errorf("a refused append changed the set: %d %d", s.LastSeq(), s.LastTS())
	}
}

func TestResizeAndSnapshot(t *testing.T) {
	caps := [NumPriorities]int{4, 4, 4, 4}
	h := &history{caps: caps}
	s := NewSet(caps)
	for i := 0; i < 20; i++ {
		h.add(s, Priority(i%NumPriorities), int64(100+i))
	}
	sn := s.Snapshot()
	if len(sn.Msgs) != 16 || sn.LastSeq != 20 || len(sn.IndexTS) != 20 || sn.IndexFirstSeq != 1 {
		t.Fatalf("snapshot: %d msgs, last %d, index %d from %d", len(sn.Msgs), sn.LastSeq, len(sn.IndexTS), sn.IndexFirstSeq)
	}
	c := NewSet(caps)
	if err := c.Import(sn); err != nil {
		t.Fatal(err)
	}
	for _, since := range []int64{0, 100, 105, 110, 119} {
		var a, b Window
		s.Window(since, 5, &a)
		c.Window(since, 5, &b)
		if err := sameWindow(b, a); err != nil {
			t.Errorf("imported window since %d: %v", since, err)
		}
	}
	// Append continues after an import.
	if _, err := c.Append(&Message{TS: 200, Seq: 21, Pri: Normal}); err != nil {
		t.Fatal(err)
	}
	// Shrinking keeps the newest.
	if ev := s.Resize([NumPriorities]int{2, 2, 4, 4}); ev != 4 {
		t.Errorf("resize evicted %d, want 4", ev)
	}
	h.caps = [NumPriorities]int{2, 2, 4, 4}
	var w Window
	s.Window(0, 100, &w)
	if err := sameWindow(w, h.want(0, 100)); err != nil {
		t.Errorf("after resize: %v", err)
	}
}

func TestImportWithGaps(t *testing.T) {
	// After a restart only protected messages survive, and the index is empty.
	s := NewSet([NumPriorities]int{4, 4, 4, 4})
	sys := &Message{TS: 50, Seq: 5, Pri: System, Body: []byte(`{}`)}
	hi := &Message{TS: 70, Seq: 7, Pri: High, Body: []byte(`{}`)}
	if err := s.Import(Snapshot{LastTS: 90, LastSeq: 9, IndexFirstSeq: 10, Msgs: []*Message{sys, hi}}); err != nil {
		t.Fatal(err)
	}
	var w Window
	s.Window(60, 10, &w)
	if len(w.Msgs) != 1 || w.Msgs[0] != hi || w.Next != 90 || w.Dropped > 2 {
		t.Fatalf("window after gapped import: %+v", w)
	}
	if _, err := s.Append(&Message{TS: 91, Seq: 10, Pri: Normal}); err != nil {
		t.Fatal(err)
	}
	if err := s.Import(Snapshot{LastTS: 10, LastSeq: 1, Msgs: []*Message{hi}}); err == nil {
		t.Error("import of a message newer than LastTS accepted")
	}
}

func TestIndexHorizon(t *testing.T) {
	// Past MaxIndex messages the index wraps; windows within it stay exact.
	caps := [NumPriorities]int{8, 8, 8, 8}
	s := NewSet(caps)
	n := MaxIndex + 100
	for i := 1; i <= n; i++ {
		if _, err := s.Append(&Message{TS: int64(i * 2), Seq: uint64(i), Pri: Normal, Encoded: []byte("{}")}); err != nil {
			t.Fatal(err)
		}
	}
	var w Window
	since := int64((n - 1000) * 2)
	s.Window(since, 5, &w)
	if got := uint64(len(w.Msgs)) + w.Dropped; got != 1000 {
		t.Errorf("len+dropped = %d, want 1000", got)
	}
	if len(s.index.ts) != MaxIndex {
		t.Errorf("index size %d, want %d", len(s.index.ts), MaxIndex)
	}
}

// FuzzWindow checks the window against the brute-force model on random histories.
func FuzzWindow(f *testing.F) {
	f.Add(int64(1), uint8(3), uint8(5), uint16(40), uint16(10), uint8(7))
	f.Add(int64(7), uint8(1), uint8(1), uint16(300), uint16(0), uint8(1))
	f.Fuzz(func(t *testing.T, seed int64, capA, capB uint8, n uint16, sinceAt uint16, limit uint8) {
		rng := rand.New(rand.NewSource(seed))
		caps := [NumPriorities]int{int(capA%16) + 1, int(capB%16) + 1, int(capA%7) + 1, int(capB%5) + 1}
		h := &history{caps: caps}
		s := NewSet(caps)
		ts := int64(0)
		for i := 0; i < int(n%500); i++ {
			ts += int64(rng.Intn(3) + 1)
			h.add(s, Priority(rng.Intn(NumPriorities)), ts)
		}
		since := int64(sinceAt) % (ts + 3)
		var w Window
		s.Window(since, int(limit), &w)
		if err := sameWindow(w, h.want(since, int(limit))); err != nil {
			t.Fatal(err)
		}
		if uint64(len(w.Msgs))+w.Dropped != countSeq(h.all, since, w.Next) {
			t.Fatal("len(msgs)+dropped != seq values in the window")
		}
	})
}
