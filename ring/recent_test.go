package ring

import (
	"slices"
	"testing"
)

// TestSinceRecent: the window from SinceRecent(n) holds the n newest messages (those a
// limit of n keeps) and every protected message after the n-th newest.
func TestSinceRecent(t *testing.T) {
	s, _ := history([NumPriorities]int{4, 4, 4, 4}, "snnnnsnnhnnnnn") // seq i at ts 10*i
	f := func(n int, wantSince int64, wantSeqs []uint64) {
		t.Helper()
		since := s.SinceRecent(n)
		if since != wantSince {
			t.Fatalf("SinceRecent(%d) = %d, want %d", n, since, wantSince)
		}
		var w Window
		s.Window(since, max(n, 1), &w)
		if got := seqs(w.Msgs); n > 0 && !slices.Equal(got, wantSeqs) {
			t.Errorf("recent %d: window %v, want %v", n, got, wantSeqs)
		}
	}
	f(0, 140, nil)
	f(-3, 140, nil)
	f(1, 139, []uint64{14})
	f(3, 119, []uint64{12, 13, 14})
	f(6, 89, []uint64{9, 11, 12, 13, 14}) // the high message 9 is among them; 10 was evicted
	f(14, 0, []uint64{1, 6, 9, 11, 12, 13, 14})
	f(50, 0, []uint64{1, 6, 9, 11, 12, 13, 14}) // the whole epoch: since 0

	// A restarted room: the index is gone, the protected messages stay (seq 1 at 10, 6 at 60,
	// 9 at 90), nothing else.
	r := NewSet([NumPriorities]int{4, 4, 4, 4})
	if err := r.Import(Snapshot{LastTS: 140, LastSeq: 14, IndexFirstSeq: 15, Msgs: s.Protected()}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		n    int
		want int64
	}{{1, 90}, {5, 90}, {6, 60}, {9, 10}, {13, 10}, {14, 0}} {
		if got := r.SinceRecent(c.n); got != c.want {
			t.Errorf("restarted: SinceRecent(%d) = %d, want %d", c.n, got, c.want)
		}
	}
}
