package actors

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// The heap keeps one visit per slot, the earliest asked for, and gives them back in due order.
func TestSchedulerHeap(t *testing.T) {
	s := &scheduler{wake: make(chan struct{}, 1)} // no goroutine: the heap alone
	slots := make([]*schedSlot, 500)
	want := make([]int64, len(slots))
	for i := range slots {
		slots[i] = &schedSlot{}
		want[i] = 1 + rand.Int64N(1000)
		s.at(slots[i], want[i])
		s.at(slots[i], want[i]+5) // later: ignored
		if rand.IntN(3) == 0 {    // earlier: moved
			want[i] = max(1, want[i]-rand.Int64N(100))
			s.at(slots[i], want[i])
		}
	}
	for i := 0; i < len(slots); i += 7 { // cancelled: gone
		s.cancel(slots[i])
		s.cancel(slots[i]) // twice is harmless
		want[i] = -1
	}
	var got []int64
	for len(s.heap) > 0 {
		slot := s.heap[0]
		got = append(got, slot.at)
		s.remove(0)
		if slot.at != 0 || slot.idx != -1 {
			t.Fatalf("a removed slot still says it is pending: %+v", slot)
		}
	}
	want = slices.DeleteFunc(want, func(v int64) bool { return v < 0 })
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("visits in the order %v, want %v", got, want)
	}
}

// A running scheduler fires each visit once, when due, and a visit moved earlier fires then.
func TestSchedulerFires(t *testing.T) {
	s := newScheduler()
	defer s.stop()
	fired := make(chan int, 10)
	a := &schedSlot{fire: func() { fired <- 1 }}
	b := &schedSlot{fire: func() { fired <- 2 }}
	c := &schedSlot{fire: func() { fired <- 3 }}
	now := time.Now().UnixNano()
	s.at(a, now+int64(time.Hour))
	s.at(b, now+int64(30*time.Millisecond))
	s.at(c, now+int64(time.Hour))
	s.at(a, now) // moved from an hour away to now: the scheduler wakes for it
	f := func(want int) {
		t.Helper()
		select {
		case got := <-fired:
			if got != want {
				t.Fatalf("fired %d, want %d", got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("slot %d did not fire", want)
		}
	}
	f(1)
	f(2)
	s.cancel(c)
	if n := s.pending(); n != 0 {
		t.Fatalf("%d visits pending after the cancel, want 0", n)
	}
	s.at(a, time.Now().UnixNano()) // a slot that fired may be scheduled again
	f(1)
}
