package ring

import (
	"slices"
	"testing"
)

func ringSeqs(r *Ring) []uint64 {
	out := []uint64{}
	for i := 0; i < r.Len(); i++ {
		out = append(out, r.At(i).Seq)
	}
	return out
}

func msg(seq uint64) *Message { return &Message{TS: int64(10 * seq), Seq: seq} }

func TestRingPush(t *testing.T) {
	r := NewRing(3)
	f := func(push uint64, evicted uint64, want []uint64) {
		t.Helper()
		ev := r.Push(msg(push))
		if (ev == nil) != (evicted == 0) || (ev != nil && ev.Seq != evicted) {
			t.Errorf("push %d evicted %v, want seq %d", push, ev, evicted)
		}
		if got := ringSeqs(r); !slices.Equal(got, want) {
			t.Errorf("push %d: ring holds %v, want %v", push, got, want)
		}
	}
	if r.Len() != 0 || r.Cap() != 3 {
		t.Fatalf("new ring: len %d cap %d", r.Len(), r.Cap())
	}
	f(1, 0, []uint64{1})
	f(2, 0, []uint64{1, 2})
	f(3, 0, []uint64{1, 2, 3})
	f(4, 1, []uint64{2, 3, 4})
	f(5, 2, []uint64{3, 4, 5})
	f(6, 3, []uint64{4, 5, 6})
	f(7, 4, []uint64{5, 6, 7})
	if r.Len() != 3 || r.Cap() != 3 {
		t.Errorf("full ring: len %d cap %d", r.Len(), r.Cap())
	}
	if c := NewRing(0).Cap(); c != 1 {
		t.Errorf("NewRing(0) has capacity %d, want 1", c)
	}
	m := msg(8)
	if allocs := testing.AllocsPerRun(100, func() { r.Push(m) }); allocs != 0 {
		t.Errorf("Push allocated %v times", allocs)
	}
}

func TestRingFirstAfter(t *testing.T) {
	r := NewRing(4)
	if r.firstAfter(0) != 0 {
		t.Error("empty ring: firstAfter is not 0")
	}
	for s := uint64(1); s <= 6; s++ { // retains ts 30, 40, 50, 60
		r.Push(msg(s))
	}
	f := func(ts int64, want int) {
		t.Helper()
		if got := r.firstAfter(ts); got != want {
			t.Errorf("firstAfter(%d) = %d, want %d", ts, got, want)
		}
	}
	f(0, 0)
	f(29, 0)
	f(30, 1)
	f(35, 1)
	f(59, 3)
	f(60, 4)
	f(1000, 4)
}

func TestRingResize(t *testing.T) {
	f := func(capacity, pushed, newCap int, wantEvicted, wantKept []uint64) {
		t.Helper()
		r := NewRing(capacity)
		for s := 1; s <= pushed; s++ {
			r.Push(msg(uint64(s)))
		}
		ev := r.Resize(newCap)
		if got := seqs(ev); !slices.Equal(got, wantEvicted) {
			t.Errorf("cap %d, %d pushed, resize to %d: evicted %v, want %v", capacity, pushed, newCap, got, wantEvicted)
		}
		if got := ringSeqs(r); !slices.Equal(got, wantKept) || r.Cap() != max(newCap, 1) {
			t.Errorf("cap %d, %d pushed, resize to %d: kept %v cap %d, want %v", capacity, pushed, newCap, got, r.Cap(), wantKept)
		}
		// The ring keeps working as a ring of the new capacity.
		r.Push(msg(100))
		want := append(slices.Clone(wantKept), 100)
		want = want[max(len(want)-r.Cap(), 0):]
		if got := ringSeqs(r); !slices.Equal(got, want) {
			t.Errorf("push after resize: %v, want %v", got, want)
		}
	}
	f(4, 6, 2, []uint64{3, 4}, []uint64{5, 6})
	f(4, 6, 8, []uint64{}, []uint64{3, 4, 5, 6})
	f(4, 2, 1, []uint64{1}, []uint64{2})
	f(4, 6, 4, []uint64{}, []uint64{3, 4, 5, 6})
	f(4, 0, 2, []uint64{}, []uint64{})
	f(4, 3, 0, []uint64{1, 2}, []uint64{3})
}

// A ring's slice grows with what it holds (8, 16, ... up to the capacity) and reads the same
// at every size: the newest min(pushed, cap) messages, oldest first.
func TestRingGrowsByUse(t *testing.T) {
	r := NewRing(20)
	if r.buf != nil {
		t.Fatal("a new ring allocated its slice")
	}
	f := func(pushed uint64, wantBuf int) {
		t.Helper()
		for s := r.total + 1; s <= pushed; s++ {
			r.Push(msg(s))
		}
		want := []uint64{}
		for s := uint64(1); s <= pushed; s++ {
			if s+20 > pushed {
				want = append(want, s)
			}
		}
		if got := ringSeqs(r); !slices.Equal(got, want) || len(r.buf) != wantBuf {
			t.Errorf("%d pushed: holds %v in a slice of %d, want %v in %d", pushed, got, len(r.buf), want, wantBuf)
		}
	}
	f(1, 8)
	f(8, 8)
	f(9, 16)
	f(16, 16)
	f(17, 20)
	f(20, 20)
	f(21, 20)
	f(57, 20)
	// Resized, it keeps its newest messages in a slice of their number and grows from there.
	r.Resize(40)
	if r.Len() != 20 || len(r.buf) != 20 || r.Cap() != 40 {
		t.Fatalf("resized to 40: len %d, slice %d, cap %d", r.Len(), len(r.buf), r.Cap())
	}
	r.Push(msg(58))
	if got := ringSeqs(r); len(got) != 21 || got[0] != 38 || got[20] != 58 || len(r.buf) != 40 {
		t.Fatalf("after a push: %v in a slice of %d", got, len(r.buf))
	}
	r.reset()
	if r.buf != nil || r.Len() != 0 || r.Cap() != 40 {
		t.Fatalf("reset: slice %v, len %d, cap %d", r.buf, r.Len(), r.Cap())
	}
}
