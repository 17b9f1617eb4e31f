package ring

import "testing"

func TestIndexGrowth(t *testing.T) {
	var x tsIndex
	x.reset(0)
	f := func(upTo uint64, wantSize int, wantFirst uint64) {
		t.Helper()
		for s := x.lastSeq + 1; s <= upTo; s++ {
			x.add(s, int64(3*s))
		}
		if len(x.ts) != wantSize || x.firstSeq != wantFirst || x.lastSeq != upTo {
			t.Errorf("after seq %d: %d entries from seq %d to %d, want %d from %d",
				upTo, len(x.ts), x.firstSeq, x.lastSeq, wantSize, wantFirst)
		}
		for s := x.firstSeq; s <= x.lastSeq; s++ {
			if x.at(s) != int64(3*s) {
				t.Fatalf("after seq %d: ts of seq %d is %d", upTo, s, x.at(s))
			}
		}
	}
	f(0, 0, 1)
	f(1, 64, 1) // starts small
	f(64, 64, 1)
	f(65, 128, 1) // doubles
	f(1000, 1024, 1)
	f(MaxIndex, MaxIndex, 1)
	f(MaxIndex+1, MaxIndex, 2) // then wraps
	f(3*MaxIndex+7, MaxIndex, 2*MaxIndex+8)
}

func TestIndexBase(t *testing.T) {
	var x tsIndex
	x.reset(0)
	f := func(since int64, want uint64) {
		t.Helper()
		if got := x.base(since); got != want {
			t.Errorf("base(%d) = %d, want %d (index %d..%d)", since, got, want, x.firstSeq, x.lastSeq)
		}
	}
	f(100, 0) // empty
	for s := uint64(1); s <= 10; s++ {
		x.add(s, int64(10*s))
	}
	f(0, 0)
	f(9, 0)
	f(10, 1)
	f(55, 5)
	f(100, 10)
	f(1e9, 10)
	// A restarted room: the index starts after seq 40.
	x.reset(40)
	f(5, 40)
	x.add(41, 500)
	x.add(42, 510)
	f(5, 40) // older than the index: from the oldest indexed message
	f(500, 41)
	f(505, 41)
	f(510, 42)
	first, ts := x.export()
	if first != 41 || len(ts) != 2 || ts[0] != 500 || ts[1] != 510 {
		t.Errorf("export: %d %v", first, ts)
	}
}
