package rooms

import (
	"regexp"
	"testing"
	"time"
)

func TestStamper(t *testing.T) {
	var s Stamper
	f := func(now time.Time, wantTS int64, wantSeq uint64) {
		t.Helper()
		if ts, seq := s.Next(now); ts != wantTS || seq != wantSeq {
			t.Errorf("Next(%v) = %d/%d, want %d/%d", now, ts, seq, wantTS, wantSeq)
		}
	}
	us := t0.UnixMicro()
	f(t0, us, 1)
	f(t0, us+1, 2)                 // same microsecond: still strictly increasing
	f(t0.Add(-time.Hour), us+2, 3) // the clock steps back
	f(t0.Add(time.Microsecond), us+3, 4)
	f(t0.Add(time.Second), us+1e6, 5) // the clock catches up: real time again
	if ts, seq := s.Last(); ts != us+1e6 || seq != 5 {
		t.Errorf("Last = %d/%d", ts, seq)
	}

	s.Restore(us+5e6, 41)
	f(t0, us+5e6+1, 42)
	f(t0.Add(10*time.Second), us+10e6, 43)
}

func TestNewEpoch(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		e := NewEpoch()
		if !regexp.MustCompile(`^[0-9a-f]{10}$`).MatchString(e) {
			t.Fatalf("epoch %q is not 10 hex chars", e)
		}
		if seen[e] {
			t.Fatalf("epoch %q repeated", e)
		}
		seen[e] = true
	}
}
