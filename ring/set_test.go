package ring

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestAppendErrors(t *testing.T) {
	s := NewSet([NumPriorities]int{4, 4, 4, 4})
	if _, err := s.Append(&Message{TS: 10, Seq: 1, Pri: Normal}); err != nil {
		t.Fatal(err)
	}
	f := func(name string, m *Message, wantErr string) {
		t.Helper()
		_, err := s.Append(m)
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%s: got error %v, want one containing %q", name, err, wantErr)
		}
		if s.LastSeq() != 1 || s.LastTS() != 10 || s.Len(Normal) != 1 || s.index.len() != 1 {
			t.Errorf("%s: a refused append changed the set", name)
		}
	}
	f("seq gap", &Message{TS: 20, Seq: 3, Pri: Normal}, "seq 3 does not follow the last seq 1 (want 2)")
	f("seq repeated", &Message{TS: 20, Seq: 1, Pri: Normal}, "seq 1 does not follow")
	f("equal ts", &Message{TS: 10, Seq: 2, Pri: Normal}, "ts 10 is not after the last ts 10")
	f("older ts", &Message{TS: 5, Seq: 2, Pri: Normal}, "ts 5 is not after")
	f("invalid priority", &Message{TS: 20, Seq: 2, Pri: NumPriorities}, "invalid priority 4")
	f("nil", nil, "nil message")
}

func TestAppend(t *testing.T) {
	s := NewSet([NumPriorities]int{Low: 1, Normal: 2, High: 1, System: 0})
	if c := s.Caps(); c != [NumPriorities]int{1, 2, 1, 1} {
		t.Errorf("caps %v: a capacity below 1 should count as 1", c)
	}
	var evicted []uint64
	for i, p := range []Priority{Normal, Normal, Normal, System, System, Low} {
		m := &Message{TS: int64(100 + i), Seq: uint64(i + 1), Pri: p, Kind: "k"}
		ev, err := s.Append(m)
		if err != nil {
			t.Fatal(err)
		}
		if m.Encoded == nil {
			t.Error("Append did not encode the message")
		}
		if ev != nil {
			evicted = append(evicted, ev.Seq)
		}
	}
	if !slices.Equal(evicted, []uint64{1, 4}) {
		t.Errorf("evicted seqs %v, want [1 4]", evicted)
	}
	if s.LastSeq() != 6 || s.LastTS() != 105 {
		t.Errorf("last seq %d ts %d, want 6 and 105", s.LastSeq(), s.LastTS())
	}
	for p, want := range [NumPriorities]int{1, 2, 0, 1} {
		if s.Len(Priority(p)) != want {
			t.Errorf("Len(%v) = %d, want %d", Priority(p), s.Len(Priority(p)), want)
		}
	}
	if s.Len(NumPriorities) != 0 {
		t.Error("Len of an invalid priority is not 0")
	}
	// A message built elsewhere keeps its encoding.
	m := &Message{TS: 200, Seq: 7, Pri: Low, Encoded: []byte(`{"pre":1}`)}
	if _, err := s.Append(m); err != nil || string(m.Encoded) != `{"pre":1}` {
		t.Errorf("pre-encoded message: err %v, encoded %s", err, m.Encoded)
	}
}

func TestAppendNoAlloc(t *testing.T) {
	s := NewSet([NumPriorities]int{4, 4, 4, 4})
	msgs := make([]*Message, 200)
	for i := range msgs {
		msgs[i] = &Message{TS: int64(i + 1), Seq: uint64(i + 1), Pri: Priority(i % NumPriorities), Encoded: []byte("{}")}
	}
	for _, m := range msgs[:100] { // fill the rings and grow the index to 128 entries
		if _, err := s.Append(m); err != nil {
			t.Fatal(err)
		}
	}
	i := 100
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := s.Append(msgs[i]); err != nil {
			t.Fatal(err)
		}
		i++
	})
	if allocs != 0 {
		t.Errorf("Append allocated %v times per message", allocs)
	}
}

func TestReset(t *testing.T) {
	s, _ := history(big, "nnsh")
	s.Reset()
	if s.LastSeq() != 0 || s.LastTS() != 40 || s.Len(Normal)+s.Len(System)+s.Len(High) != 0 {
		t.Fatalf("after reset: last seq %d ts %d", s.LastSeq(), s.LastTS())
	}
	if _, err := s.Append(&Message{TS: 40, Seq: 1, Pri: Normal}); err == nil {
		t.Error("a reset set accepted a ts that is not after the old last ts")
	}
	if _, err := s.Append(&Message{TS: 41, Seq: 1, Pri: Normal}); err != nil {
		t.Fatal(err)
	}
	var w Window
	s.Window(0, 10, &w)
	if !slices.Equal(seqs(w.Msgs), []uint64{1}) || w.Dropped != 0 || w.Next != 41 {
		t.Errorf("window of the new epoch: %v dropped %d next %d", seqs(w.Msgs), w.Dropped, w.Next)
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	caps := [NumPriorities]int{4, 4, 4, 4}
	s, h := history(caps, "snhlnnnnllllsshhnnnn")
	sn := s.Snapshot()
	if len(sn.Msgs) != 14 || sn.LastSeq != 20 || sn.LastTS != 200 || len(sn.IndexTS) != 20 || sn.IndexFirstSeq != 1 {
		t.Fatalf("snapshot: %d msgs, last seq %d ts %d, index %d from %d",
			len(sn.Msgs), sn.LastSeq, sn.LastTS, len(sn.IndexTS), sn.IndexFirstSeq)
	}
	for i := 1; i < len(sn.Msgs); i++ {
		if sn.Msgs[i].TS <= sn.Msgs[i-1].TS {
			t.Fatal("snapshot messages not in ascending ts")
		}
	}
	c := NewSet(caps)
	if _, err := c.Append(&Message{TS: 1, Seq: 1, Pri: High}); err != nil { // replaced by the import
		t.Fatal(err)
	}
	if err := c.Import(sn); err != nil {
		t.Fatal(err)
	}
	if c.LastSeq() != 20 || c.LastTS() != 200 {
		t.Fatalf("imported last seq %d ts %d", c.LastSeq(), c.LastTS())
	}
	sn.IndexTS[0] = -1 // the import copied the index
	for since := int64(0); since <= 210; since += 5 {
		for _, limit := range []int{1, 2, 5, 100} {
			var a, b Window
			s.Window(since, limit, &a)
			c.Window(since, limit, &b)
			if err := sameWindow(b, a); err != nil {
				t.Errorf("imported window since %d limit %d: %v", since, limit, err)
			}
			if err := sameWindow(b, h.want(since, limit)); err != nil {
				t.Errorf("imported window since %d limit %d against the model: %v", since, limit, err)
			}
		}
	}
	// Append continues after the import.
	if _, err := c.Append(&Message{TS: 210, Seq: 21, Pri: Normal}); err != nil {
		t.Fatal(err)
	}
	// Into smaller rings: each keeps its newest.
	d := NewSet([NumPriorities]int{1, 1, 1, 1})
	if err := d.Import(s.Snapshot()); err != nil {
		t.Fatal(err)
	}
	var w Window
	d.Window(0, 100, &w)
	if !slices.Equal(seqs(w.Msgs), []uint64{12, 14, 16, 20}) || w.Dropped != 16 {
		t.Errorf("import into rings of 1: %v dropped %d", seqs(w.Msgs), w.Dropped)
	}
}

func TestImportWithGaps(t *testing.T) {
	// After a restart only the protected messages survive, and the index is empty.
	s := NewSet([NumPriorities]int{4, 4, 4, 4})
	sys := &Message{TS: 50, Seq: 5, Pri: System, Body: []byte(`{}`)}
	hi := &Message{TS: 70, Seq: 7, Pri: High, Body: []byte(`{}`)}
	if err := s.Import(Snapshot{LastTS: 90, LastSeq: 9, IndexFirstSeq: 10, Msgs: []*Message{sys, hi}}); err != nil {
		t.Fatal(err)
	}
	if sys.Encoded == nil {
		t.Error("Import did not encode the message")
	}
	f := func(since int64, wantSeqs []uint64, dropped uint64, next int64) {
		t.Helper()
		var w Window
		s.Window(since, 10, &w)
		if got := seqs(w.Msgs); !slices.Equal(got, wantSeqs) || w.Dropped != dropped || w.Next != next || w.More {
			t.Errorf("since %d: got %v dropped %d next %d more %v; want %v %d %d",
				since, got, w.Dropped, w.Next, w.More, wantSeqs, dropped, next)
		}
	}
	f(0, []uint64{5, 7}, 7, 90) // since 0: every seq from 1 counts
	f(85, []uint64{}, 1, 90)    // seq 9 is at ts 90, the only one after 85
	// The ts of seq 6 is unknown: counted from just before the oldest retained message after
	// since (the fewest the room may have had).
	f(60, []uint64{7}, 2, 90)
	f(90, []uint64{}, 0, 90)
	if _, err := s.Append(&Message{TS: 100, Seq: 10, Pri: Normal}); err != nil {
		t.Fatal(err)
	}
	f(90, []uint64{10}, 0, 100) // exact again from the restart on
	f(95, []uint64{10}, 0, 100)
	f(0, []uint64{5, 7, 10}, 7, 100)
}

func TestImportErrors(t *testing.T) {
	ok := func() Snapshot {
		return Snapshot{LastTS: 30, LastSeq: 3, IndexFirstSeq: 2, IndexTS: []int64{20, 30}, Msgs: []*Message{
			{TS: 10, Seq: 1, Pri: High}, {TS: 20, Seq: 2, Pri: Normal}, {TS: 30, Seq: 3, Pri: System}}}
	}
	s, _ := history(big, "nn")
	f := func(name string, edit func(sn *Snapshot), wantErr string) {
		t.Helper()
		sn := ok()
		edit(&sn)
		err := s.Import(sn)
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%s: got error %v, want one containing %q", name, err, wantErr)
		}
		if s.LastSeq() != 2 || s.LastTS() != 20 || s.Len(Normal) != 2 || s.Len(High) != 0 {
			t.Errorf("%s: a refused import changed the set", name)
		}
	}
	f("nil message", func(sn *Snapshot) { sn.Msgs[1] = nil }, "message 1 is nil")
	f("invalid priority", func(sn *Snapshot) { sn.Msgs[0].Pri = 7 }, "invalid priority 7")
	f("ts not ascending", func(sn *Snapshot) { sn.Msgs[1].TS = 10 }, "ts 10 seq 2 is not after ts 10 seq 1")
	f("seq not ascending", func(sn *Snapshot) { sn.Msgs[1].Seq = 1 }, "is not after")
	f("message after last ts", func(sn *Snapshot) { sn.LastTS, sn.IndexTS[1] = 25, 25 }, "is after the last ts 25")
	f("message after last seq", func(sn *Snapshot) { sn.IndexTS = nil; sn.LastSeq = 2 }, "is after the last ts 30 seq 2")
	f("zero ts", func(sn *Snapshot) { sn.Msgs[0].TS = 0 }, "ts 0 seq 1 is not after")
	f("negative last ts", func(sn *Snapshot) { sn.LastTS = -1 }, "negative")
	f("index not ending at last seq", func(sn *Snapshot) { sn.IndexFirstSeq = 1 }, "does not end at seq 3")
	f("index from seq 0", func(sn *Snapshot) { sn.IndexFirstSeq = 0 }, "does not end at seq 3")
	f("index not ending at last ts", func(sn *Snapshot) { sn.IndexTS[1] = 29 }, "index ends at ts 29, not at the last ts 30")
	f("index not ascending", func(sn *Snapshot) {
		sn.IndexTS = []int64{25, 25, 30}
		sn.IndexFirstSeq = 1
	}, "index ts 25 of seq 2 is not after 25")
	f("index disagrees with a message", func(sn *Snapshot) { sn.IndexTS[0] = 19 }, "seq 2 has ts 20, the index says 19")
	f("index too long", func(sn *Snapshot) {
		sn.IndexTS = make([]int64, MaxIndex+1)
		for i := range sn.IndexTS {
			sn.IndexTS[i] = int64(i + 1)
		}
		sn.LastSeq, sn.LastTS, sn.IndexFirstSeq = MaxIndex+1, MaxIndex+1, 1
		sn.Msgs = nil
	}, "more than 65536")
}

func TestProtected(t *testing.T) {
	s, _ := history(small, "snhnlhhsnsh")
	if got := seqs(s.Protected()); !slices.Equal(got, []uint64{7, 8, 10, 11}) {
		t.Errorf("protected %v", got)
	}
}

// Windows with the same key are the same window: every since between two messages and every
// limit above what the window covers; and a since the index cannot place has no key.
func TestWindowKey(t *testing.T) {
	s := NewSet([NumPriorities]int{4, 4, 4, 4})
	for i := 1; i <= 20; i++ {
		m := &Message{TS: int64(10 * i), Seq: uint64(i), Pri: Priority(i % NumPriorities), Kind: "k"}
		if _, err := s.Append(m); err != nil {
			t.Fatal(err)
		}
	}
	type win struct {
		seqs    string
		dropped uint64
		next    int64
		more    bool
	}
	window := func(since int64, limit int) win {
		var w Window
		s.Window(since, limit, &w)
		out := win{dropped: w.Dropped, next: w.Next, more: w.More}
		for _, m := range w.Msgs {
			out.seqs += fmt.Sprint(m.Seq, ",")
		}
		return out
	}
	type key struct {
		base  uint64
		limit int
	}
	seen := map[key]win{}
	for since := int64(0); since <= 210; since++ {
		for limit := 1; limit <= 25; limit++ {
			b, l, ok := s.WindowKey(since, limit)
			if ok != (since < 200) {
				t.Fatalf("since %d: key %v; want one for every since before the last ts (200)", since, ok)
			}
			if !ok {
				continue
			}
			w := window(since, limit)
			if prev, dup := seen[key{b, l}]; dup && prev != w {
				t.Fatalf("since %d limit %d: key (%d,%d) names %+v and %+v", since, limit, b, l, prev, w)
			}
			seen[key{b, l}] = w
		}
	}
	if len(seen) > 21*20 {
		t.Fatalf("%d keys for 21 distinct bases", len(seen))
	}
	// A restarted set has no index before its restart: no key for such a since.
	r := NewSet([NumPriorities]int{4, 4, 4, 4})
	if err := r.Import(Snapshot{LastTS: 100, LastSeq: 10, IndexFirstSeq: 11}); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := r.WindowKey(50, 10); ok {
		t.Fatal("a since before the restart got a key")
	}
	if _, _, ok := r.WindowKey(0, 10); !ok {
		t.Fatal("since 0 has a key")
	}
}

// TestNextSeqChain: pulls that chain since = the previous next account for every seq of the
// epoch (PROTOCOL.md section 8.1): len(msgs) + dropped == next_seq - previous next_seq, with
// small limits that make the windows skip chat and cut protected runs short (more).
func TestNextSeqChain(t *testing.T) {
	s, h := history([NumPriorities]int{3, 3, 3, 3}, "nnshhhsnnnnllhsssnnnnnlllhhhhhhsnn")
	for _, limit := range []int{1, 2, 3, 100} {
		var since int64
		var prev uint64
		for i := 0; since < s.LastTS(); i++ {
			if i > 100 {
				t.Fatalf("limit %d: the chain does not reach the head", limit)
			}
			var w Window
			s.Window(since, limit, &w)
			if got := uint64(len(w.Msgs)) + w.Dropped; got != w.NextSeq-prev {
				t.Fatalf("limit %d since %d: len %d + dropped %d != next_seq %d - %d", limit, since, len(w.Msgs), w.Dropped, w.NextSeq, prev)
			}
			if want := h.seqAt(w.Next); w.NextSeq != want {
				t.Fatalf("limit %d: next_seq %d at next %d, want %d", limit, w.NextSeq, w.Next, want)
			}
			since, prev = w.Next, w.NextSeq
		}
		var w Window
		s.Window(since, limit, &w)
		if len(w.Msgs) != 0 || w.NextSeq != s.LastSeq() || w.Next != since {
			t.Errorf("limit %d: the window at the head is %v next %d next_seq %d", limit, seqs(w.Msgs), w.Next, w.NextSeq)
		}
	}
	var w Window
	NewSet(big).Window(0, 10, &w)
	if w.NextSeq != 0 || w.Next != 0 {
		t.Errorf("an empty room: next %d next_seq %d, want 0 0", w.Next, w.NextSeq)
	}
}
