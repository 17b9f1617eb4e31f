package client

import "testing"

// win builds a window from (ts, seq) pairs.
func win(epoch string, next int64, dropped uint64, tsSeq ...int64) *Msgs {
	m := &Msgs{Room: "R", Epoch: epoch, Next: next, Dropped: dropped}
	for i := 0; i+1 < len(tsSeq); i += 2 {
		m.Msgs = append(m.Msgs, Message{TS: tsSeq[i], Seq: uint64(tsSeq[i+1]), Pri: PriNormal})
	}
	return m
}

func TestAccount(t *testing.T) {
	var a account
	step := func(m *Msgs, wantEpoch, wantGap bool, wantSince int64) {
		t.Helper()
		if e, g := a.window(m); e != wantEpoch || g != wantGap {
			t.Fatalf("window %+v: epoch changed %v, gap %v; want %v, %v", m, e, g, wantEpoch, wantGap)
		}
		if a.since != wantSince {
			t.Fatalf("since %d, want %d", a.since, wantSince)
		}
	}

	// A fresh join without since starts at the room's latest message.
	if a.joined(Joined{Room: "R", Epoch: "E1", TS: 100, Seq: 10}, false) {
		t.Fatal("first join reported an epoch change")
	}
	if a.since != 100 {
		t.Fatalf("since after join %d", a.since)
	}
	step(win("E1", 130, 0, 110, 11, 120, 12, 130, 13), false, false, 130)
	step(win("E1", 130, 0), false, false, 130)                   // empty window
	step(win("E1", 160, 1, 150, 15, 160, 16), false, false, 160) // seq 14 dropped
	step(win("E1", 200, 4, 200, 21), false, false, 200)          // 17..20 dropped
	// The window's last message is not at next (a dropped normal sits there): checked later.
	step(win("E1", 220, 1, 210, 22), false, false, 220)
	step(win("E1", 230, 0, 230, 24), false, false, 230)
	// A server that miscounts dropped: one gap, then the count goes on from there.
	step(win("E1", 240, 1, 240, 25), false, true, 240)
	step(win("E1", 250, 0, 250, 26), false, false, 250)
	// A message lost without being counted.
	step(win("E1", 270, 0, 270, 28), false, true, 270)
	step(win("E1", 280, 0, 280, 29), false, false, 280)
	// next going backwards leaves since where it was.
	step(win("E1", 100, 0), false, false, 280)

	// The room restarts: a new epoch seen in a pull; seq starts at 1, ts keeps going.
	step(win("E2", 320, 1, 320, 2), true, false, 320)
	step(win("E2", 330, 0, 330, 3), false, false, 330)

	// Resume in the same epoch changes nothing; in a new epoch, seq restarts.
	if a.joined(Joined{Room: "R", Epoch: "E2", TS: 400, Seq: 9}, false) {
		t.Fatal("same-epoch rejoin reported an epoch change")
	}
	step(win("E2", 400, 5, 400, 9), false, false, 400)
	if !a.joined(Joined{Room: "R", Epoch: "E3", TS: 500, Seq: 4}, false) {
		t.Fatal("new epoch on join not reported")
	}
	if a.since != 400 {
		t.Fatalf("since changed on an epoch change: %d", a.since)
	}
	step(win("E3", 500, 2, 450, 3, 500, 4), false, false, 500)
}

// TestAccountNextSeq: with next_seq every window is checked, also one whose last message is
// not at next.
func TestAccountNextSeq(t *testing.T) {
	var a account
	a.joined(Joined{Room: "R", Epoch: "E", TS: 100, Seq: 10}, false)
	f := func(m *Msgs, nextSeq uint64, wantGap bool) {
		t.Helper()
		m.NextSeq = nextSeq
		if _, g := a.window(m); g != wantGap {
			t.Fatalf("window %+v: gap %v, want %v", m, g, wantGap)
		}
	}
	f(win("E", 130, 1, 110, 11), 13, true)  // seq 12 or 13 neither sent nor counted
	f(win("E", 150, 2, 140, 14), 16, false) // 15 dropped, and 16 at next
	f(win("E", 150, 0), 16, false)          // empty
	f(win("E", 170, 0, 160, 17, 170, 18), 18, false)
	f(win("E", 190, 0, 190, 20), 20, true)  // 19 lost
	f(win("E", 200, 0, 200, 21), 21, false) // the count goes on from the last next_seq
}

func TestAccountFromStart(t *testing.T) {
	var a account
	a.joined(Joined{Room: "R", Epoch: "E", TS: 60, Seq: 6}, true)
	if a.since != 0 {
		t.Fatalf("since %d", a.since)
	}
	// Everything from the epoch's start: seq 1..4 evicted, 5 and 6 retained.
	if e, g := a.window(win("E", 60, 4, 50, 5, 60, 6)); e || g {
		t.Fatalf("from start: epoch changed %v, gap %v", e, g)
	}
	if e, g := a.window(win("E", 70, 3, 70, 10)); e || g {
		t.Fatalf("next: epoch changed %v, gap %v", e, g)
	}
}
