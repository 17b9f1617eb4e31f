package ring

import (
	"math/rand"
	"slices"
	"testing"
)

var big = [NumPriorities]int{100, 100, 100, 100}

// small is Low 2, Normal 3, High 2, System 2.
var small = [NumPriorities]int{Low: 2, Normal: 3, High: 2, System: 2}

func TestWindow(t *testing.T) {
	// pris is a compact history (see history): message i has seq i and ts 10*i.
	f := func(name string, caps [NumPriorities]int, pris string, since int64, limit int,
		wantSeqs []uint64, dropped uint64, next int64, more bool) {
		t.Helper()
		s, h := history(caps, pris)
		var w Window
		s.Window(since, limit, &w)
		if got := seqs(w.Msgs); !slices.Equal(got, wantSeqs) || w.Dropped != dropped || w.Next != next || w.More != more {
			t.Errorf("%s: got seqs %v dropped %d next %d more %v; want %v %d %d %v",
				name, got, w.Dropped, w.Next, w.More, wantSeqs, dropped, next, more)
		}
		// The brute-force model agrees, and the accounting of section 4 holds.
		if err := sameWindow(w, h.want(since, limit)); err != nil {
			t.Errorf("%s: against the model: %v", name, err)
		}
		if uint64(len(w.Msgs))+w.Dropped != h.count(since, w.Next) {
			t.Errorf("%s: len(msgs)+dropped = %d, want %d", name, uint64(len(w.Msgs))+w.Dropped, h.count(since, w.Next))
		}
	}
	none := []uint64{}
	f("empty room", big, "", 0, 10, none, 0, 0, false)
	f("empty room, since set", big, "", 500, 10, none, 0, 500, false)
	f("since 0 takes all", big, "nnslh", 0, 10, []uint64{1, 2, 3, 4, 5}, 0, 50, false)
	f("since at last ts", big, "nnn", 30, 10, none, 0, 30, false)
	f("since after last ts", big, "nnn", 99, 10, none, 0, 99, false)
	f("since between messages", big, "nnnn", 25, 10, []uint64{3, 4}, 0, 40, false)
	f("since on a message", big, "nnnn", 20, 10, []uint64{3, 4}, 0, 40, false)
	f("newest normal kept", big, "nnnnnnnn", 0, 3, []uint64{6, 7, 8}, 5, 80, false)
	f("newest normal kept after since", big, "nnnnnnnn", 30, 3, []uint64{6, 7, 8}, 2, 80, false)
	f("low and normal merge newest", big, "nlnlnlnl", 20, 3, []uint64{6, 7, 8}, 3, 80, false)
	f("low newer than normal", big, "nnnnllll", 0, 5, []uint64{4, 5, 6, 7, 8}, 3, 80, false)
	f("normal newer than low", big, "llllnnnn", 0, 5, []uint64{4, 5, 6, 7, 8}, 3, 80, false)
	f("merge across small rings", [NumPriorities]int{Low: 2, Normal: 2, High: 2, System: 2}, "nnllnnll", 0, 3,
		[]uint64{6, 7, 8}, 5, 80, false)
	f("protected never skipped", big, "nsnnhnnnsn", 0, 4, []uint64{2, 5, 9, 10}, 6, 100, false)
	f("protected only, limit 1", big, "nsnnhnnnsn", 0, 1, []uint64{2}, 1, 20, true)
	f("limit cut inside protected", big, "snhsnhsh", 0, 3, []uint64{1, 3, 4}, 1, 40, true)
	f("pull again after more", big, "snhsnhsh", 40, 3, []uint64{6, 7, 8}, 1, 80, false)
	f("limit equals protected", big, "snhn", 0, 2, []uint64{1, 3}, 2, 40, false)
	f("eviction counted as dropped", small, "nnnnnnnnnn", 0, 100, []uint64{8, 9, 10}, 7, 100, false)
	f("since older than ring", small, "nnnnnnnnnn", 20, 100, []uint64{8, 9, 10}, 5, 100, false)
	f("evicted protected counted", small, "hhhh", 0, 10, []uint64{3, 4}, 2, 40, false)
	f("system survives normal flood", small, "snnnnnnnnnnnnn", 0, 2, []uint64{1, 14}, 12, 140, false)
	f("limit below 1 is 1", big, "nnn", 0, 0, []uint64{3}, 2, 30, false)
	f("negative limit is 1", big, "nnn", 0, -5, []uint64{3}, 2, 30, false)
}

func TestWindowResize(t *testing.T) {
	caps := [NumPriorities]int{4, 4, 4, 4}
	s, h := history(caps, "snhlsnhlsnhlsnhlsnhl")
	shrunk := [NumPriorities]int{Low: 2, Normal: 2, High: 4, System: 1}
	if ev := s.Resize(shrunk); ev != 7 { // 4 retained each: 2 low, 2 normal, 3 system go
		t.Errorf("shrinking evicted %d, want 7", ev)
	}
	h.resize(shrunk)
	for p, c := range shrunk {
		if s.Len(Priority(p)) != c {
			t.Errorf("%v holds %d after resize, want %d", Priority(p), s.Len(Priority(p)), c)
		}
	}
	check := func(when string) {
		t.Helper()
		for _, since := range []int64{0, 50, 150, 190, 200} {
			for _, limit := range []int{1, 3, 100} {
				var w Window
				s.Window(since, limit, &w)
				if err := sameWindow(w, h.want(since, limit)); err != nil {
					t.Errorf("%s, since %d limit %d: %v", when, since, limit, err)
				}
			}
		}
	}
	check("after shrinking")
	// Growing keeps everything, and the rings fill up again.
	grown := [NumPriorities]int{8, 8, 8, 8}
	if ev := s.Resize(grown); ev != 0 {
		t.Errorf("growing evicted %d", ev)
	}
	h.resize(grown)
	check("after growing")
	for i := 0; i < 20; i++ {
		h.add(s, Priority(i%NumPriorities), int64(300+i))
	}
	check("after refilling")
}

func TestWindowIndexHorizon(t *testing.T) {
	// Past MaxIndex messages the index wraps; windows within it stay exact.
	s := NewSet([NumPriorities]int{8, 8, 8, 8})
	n := MaxIndex + 100
	for i := 1; i <= n; i++ {
		if _, err := s.Append(&Message{TS: int64(i * 2), Seq: uint64(i), Pri: Normal, Encoded: []byte("{}")}); err != nil {
			t.Fatal(err)
		}
	}
	if len(s.index.ts) != MaxIndex || s.index.firstSeq != 101 {
		t.Fatalf("index of %d entries from seq %d, want %d from 101", len(s.index.ts), s.index.firstSeq, MaxIndex)
	}
	f := func(since int64, want uint64) {
		t.Helper()
		var w Window
		s.Window(since, 5, &w)
		if got := uint64(len(w.Msgs)) + w.Dropped; got != want {
			t.Errorf("since %d: len(msgs)+dropped = %d, want %d", since, got, want)
		}
	}
	f(int64((n-1000)*2), 1000)         // within the index: exact
	f(202, uint64(n-101))              // the oldest indexed message (seq 101) is at ts 202
	f(201, uint64(n-100))              // just before it: still exact (seq 100 is at ts 200)
	f(50, uint64(n-100))               // beyond the horizon: counted from the oldest indexed message
	f(0, uint64(n))                    // since 0: from seq 1
	f(int64(n*2), 0)                   // caught up
	f(int64(n*2-1), 1)                 // one behind
	f(int64((n-MaxIndex)*2), MaxIndex) // the whole index
}

func TestWindowNoAlloc(t *testing.T) {
	s, _ := history(big, "snhlnnnnnnllllhhssnnnnnnnnnnnnnnnnn")
	w := Window{Msgs: make([]*Message, 0, 10)}
	allocs := testing.AllocsPerRun(100, func() {
		s.Window(50, 10, &w)
		s.Window(0, 2, &w)
	})
	if allocs != 0 {
		t.Errorf("Window allocated %v times per run", allocs)
	}
}

// FuzzWindow checks the window against the model on random histories with random caps, ts
// gaps, resizes, snapshot round trips and restarts (an Import of the protected messages only).
func FuzzWindow(f *testing.F) {
	f.Add(int64(1), uint8(3), uint8(5), uint16(40), uint16(10), uint8(7), uint8(0))
	f.Add(int64(7), uint8(1), uint8(1), uint16(300), uint16(0), uint8(1), uint8(0))
	f.Add(int64(3), uint8(9), uint8(2), uint16(400), uint16(200), uint8(30), uint8(0xff))
	f.Add(int64(4), uint8(0), uint8(0), uint16(0), uint16(0), uint8(0), uint8(0x3))
	f.Fuzz(func(t *testing.T, seed int64, capA, capB uint8, n uint16, sinceAt uint16, limit uint8, ops uint8) {
		rng := rand.New(rand.NewSource(seed))
		randCaps := func() [NumPriorities]int {
			return [NumPriorities]int{rng.Intn(int(capA%16) + 1), rng.Intn(int(capB%16)+1) + 1, int(capA%7) + 1, int(capB%5) + 1}
		}
		caps := randCaps()
		h := newModel(caps)
		s := NewSet(caps)
		var ts, restartTS int64 // restartTS: LastTS at the last restart
		for i := 0; i < int(n%500); i++ {
			ts += int64(rng.Intn(3) + 1)
			h.add(s, Priority(rng.Intn(NumPriorities)), ts)
			switch r := rng.Intn(64); {
			case r == 0 && ops&1 != 0:
				caps = randCaps()
				s.Resize(caps)
				h.resize(caps)
			case r == 1 && ops&2 != 0:
				c := NewSet(caps)
				if err := c.Import(s.Snapshot()); err != nil {
					t.Fatal(err)
				}
				s = c
			case r == 2 && ops&4 != 0:
				// A restart keeps the protected messages, last ts and seq, and no index.
				c := NewSet(caps)
				err := c.Import(Snapshot{LastTS: s.LastTS(), LastSeq: s.LastSeq(), IndexFirstSeq: s.LastSeq() + 1, Msgs: s.Protected()})
				if err != nil {
					t.Fatal(err)
				}
				s, restartTS = c, ts
				h.kept[Normal], h.kept[Low] = nil, nil
			}
		}
		since := int64(sinceAt) % (ts + 3)
		var w Window
		s.Window(since, int(limit), &w)
		want := h.want(since, int(limit))
		if err := sameMsgs(w, want); err != nil {
			t.Fatal(err)
		}
		checkWindow(t, h, since, int(limit), &w)
		width := uint64(len(w.Msgs)) + w.Dropped
		if exact := since == 0 || since >= restartTS; exact {
			if width != h.count(since, w.Next) {
				t.Fatalf("len(msgs)+dropped = %d, want %d seq values in (%d, %d]", width, h.count(since, w.Next), since, w.Next)
			}
		} else if lo, hi := h.known(since, w.Next), h.count(since, w.Next); width < lo || width > hi {
			// Older than a restart the count may be short (the index is gone), never long, and it
			// covers at least the seqs from the oldest retained message of the window to Next.
			t.Fatalf("len(msgs)+dropped = %d (dropped %d), want %d..%d seq values in (%d, %d]",
				width, w.Dropped, lo, hi, since, w.Next)
		}
	})
}

// checkWindow checks the properties of PROTOCOL.md section 4 one by one, independently of the
// model's window.
func checkWindow(t *testing.T, h *model, since int64, limit int, w *Window) {
	t.Helper()
	limit = max(limit, 1)
	if len(w.Msgs) > limit {
		t.Fatalf("%d msgs over the limit %d", len(w.Msgs), limit)
	}
	for i, m := range w.Msgs {
		if m.TS <= since || m.TS > w.Next || (i > 0 && m.TS <= w.Msgs[i-1].TS) {
			t.Fatalf("msg %d (ts %d) out of order or outside (%d, %d]", i, m.TS, since, w.Next)
		}
	}
	in := make(map[*Message]bool, len(w.Msgs))
	for _, m := range w.Msgs {
		in[m] = true
	}
	protected := 0
	var oldestIn, newestOut int64 = 1<<63 - 1, -1 // normal/low: oldest returned, newest left out
	for p := Priority(0); p < NumPriorities; p++ {
		for _, m := range h.kept[p] {
			if m.TS <= since {
				continue
			}
			if p.Protected() {
				protected++
				if m.TS <= w.Next && !in[m] {
					t.Fatalf("protected seq %d in the window left out", m.Seq)
				}
			} else if m.TS <= w.Next {
				if in[m] {
					oldestIn = min(oldestIn, m.TS)
				} else {
					newestOut = max(newestOut, m.TS)
				}
			}
		}
	}
	if w.More != (protected > limit) {
		t.Fatalf("more = %v with %d protected and limit %d", w.More, protected, limit)
	}
	if newestOut > oldestIn {
		t.Fatalf("normal/low at ts %d left out while an older one (ts %d) was returned", newestOut, oldestIn)
	}
}

// TestWindowEncode: a window's encoding is its messages' own encodings in order, then its
// counts (the encoding's cases are wire's TestWindow).
func TestWindowEncode(t *testing.T) {
	a := &Message{TS: 5, Seq: 1, Pri: Normal, Kind: "c", Body: []byte(`{}`)}
	b := &Message{TS: 9, Seq: 3, Pri: System, Kind: "n", UID: "adm", CMID: "x"}
	w := Window{Msgs: []*Message{a, b}, Dropped: 1, Next: 9, NextSeq: 3}
	want := `"msgs":[{"ts":5,"seq":1,"pri":"normal","kind":"c","uid":"","body":{}},` +
		`{"ts":9,"seq":3,"pri":"system","kind":"n","uid":"adm","cmid":"x","body":null}],"dropped":1,"next":9,"next_seq":3,"more":false}`
	if got := string(w.Encode([]byte("old"))); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
