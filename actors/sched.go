package actors

import (
	"sync"
	"time"
)

// The node's one timer for its rooms. A replica (and a grain, for its renew check) holds a
// schedSlot and asks for a visit at a time (sched.at); the scheduler keeps the slots in one
// min-heap by due time and, when a slot comes due, calls its fire func, which sends the actor
// one message. A room with nothing pending has no slot in the heap: it costs no timer, no
// goroutine and no wake-up, whatever the number of rooms.
//
// Why one heap for the node: a ticker goroutine per replica woke every replica 20 times a
// second whether anything happened or not; 5,000 idle rooms of 2 viewers kept 82 % of a core
// busy (24.7 CPU-s in 30 s), 19,000 did not even connect. A visit is asked for by whoever
// creates the work (a delta with new messages, a notify that may need its retry, a renewal,
// an add to flush, a pull to report, an idle replica to stop) and the actor, after each visit,
// asks for the next one its state needs; a visit that finds nothing to do only asks again.
//
// Concurrency: at and cancel may be called from any goroutine (sessions' pulls and adds ask
// for visits); the heap is under mu. fire runs on the scheduler's goroutine, outside mu, and
// must not block (it sends an actor message).
type scheduler struct {
	mu   sync.Mutex
	heap []*schedSlot
	wake chan struct{} // the earliest due time moved earlier
	quit chan struct{}
	done chan struct{}
	now  func() int64 // unix nanos (tests may fake it)
}

// schedSlot is one actor's place in the scheduler: at most one pending visit.
type schedSlot struct {
	at   int64 // unix nanos of the visit; 0 = none pending
	idx  int   // position in the heap while at != 0
	fire func()
}

func newScheduler() *scheduler {
	s := &scheduler{wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{}),
		now: func() int64 { return time.Now().UnixNano() }}
	go s.run()
	return s
}

// at asks for a visit of slot at t (unix nanos) or earlier: a slot already due sooner keeps
// its time, one due later is moved to t.
func (s *scheduler) at(slot *schedSlot, t int64) {
	if t <= 0 {
		t = 1
	}
	s.mu.Lock()
	switch {
	case slot.at != 0 && slot.at <= t:
		s.mu.Unlock()
		return
	case slot.at != 0:
		slot.at = t
		s.up(slot.idx)
	default:
		slot.at = t
		slot.idx = len(s.heap)
		s.heap = append(s.heap, slot)
		s.up(slot.idx)
	}
	first := s.heap[0] == slot
	s.mu.Unlock()
	if first {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// cancel removes slot's pending visit, if any (its actor stopped).
func (s *scheduler) cancel(slot *schedSlot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if slot.at == 0 {
		return
	}
	s.remove(slot.idx)
}

// pending is the number of slots waiting (for tests and metrics).
func (s *scheduler) pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.heap)
}

// earliest is the due time of the next visit (unix nanos), 0 when none is pending.
func (s *scheduler) earliest() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.heap) == 0 {
		return 0
	}
	return s.heap[0].at
}

// stop ends the scheduler's goroutine and waits for it; pending visits are dropped.
func (s *scheduler) stop() {
	close(s.quit)
	<-s.done
}

func (s *scheduler) run() {
	defer close(s.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var due []*schedSlot
	for {
		now := s.now()
		s.mu.Lock()
		for len(s.heap) > 0 && s.heap[0].at <= now {
			due = append(due, s.heap[0])
			s.remove(0)
		}
		wait := time.Hour
		if len(s.heap) > 0 {
			wait = time.Duration(s.heap[0].at - now)
		}
		s.mu.Unlock()
		for i, slot := range due {
			slot.fire()
			due[i] = nil
		}
		due = due[:0]
		timer.Reset(wait) // no stale tick survives a Reset (Go 1.23 timers)
		select {
		case <-timer.C:
		case <-s.wake:
		case <-s.quit:
			return
		}
	}
}

// remove takes the slot at heap index i out; mu is held.
func (s *scheduler) remove(i int) {
	slot := s.heap[i]
	last := len(s.heap) - 1
	if i != last {
		s.heap[i] = s.heap[last]
		s.heap[i].idx = i
	}
	s.heap[last] = nil
	s.heap = s.heap[:last]
	if i != last {
		s.down(i)
		s.up(i)
	}
	slot.at, slot.idx = 0, -1
}

func (s *scheduler) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if s.heap[p].at <= s.heap[i].at {
			return
		}
		s.swap(i, p)
		i = p
	}
}

func (s *scheduler) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(s.heap) {
			return
		}
		c := l
		if r := l + 1; r < len(s.heap) && s.heap[r].at < s.heap[l].at {
			c = r
		}
		if s.heap[i].at <= s.heap[c].at {
			return
		}
		s.swap(i, c)
		i = c
	}
}

func (s *scheduler) swap(i, j int) {
	s.heap[i], s.heap[j] = s.heap[j], s.heap[i]
	s.heap[i].idx, s.heap[j].idx = i, j
}
