package transport

import (
	"container/heap"
	"sync"
	"time"
)

// expiries ends sessions when their token expires (PROTOCOL.md section 8.6: kick "expired",
// close 4001). One heap per node ordered by expiry and one goroutine that sleeps until the
// earliest: a timer per session would cost a runtime timer each at 20k sessions per node, and
// the keepalive sweep (every 30 s) would end them up to 30 s late. Each session has at most
// one entry (its index is kept in the session), moved when its token is refreshed and removed
// when it closes, so a closed session is never held until its old token's expiry.
type expiries struct {
	mu   sync.Mutex
	h    expHeap
	wake chan struct{} // the earliest expiry changed
	stop chan struct{}
	done chan struct{}
	once sync.Once
	kick func(*wsSession)
}

type expHeap []*wsSession

func (h expHeap) Len() int           { return len(h) }
func (h expHeap) Less(i, j int) bool { return h[i].expAt < h[j].expAt }
func (h expHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].expIdx, h[j].expIdx = i, j
}
func (h *expHeap) Push(x any) {
	s := x.(*wsSession)
	s.expIdx = len(*h)
	*h = append(*h, s)
}
func (h *expHeap) Pop() any {
	old := *h
	s := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	s.expIdx = -1
	return s
}

func newExpiries(kick func(*wsSession)) *expiries {
	e := &expiries{wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}), kick: kick}
	go e.run()
	return e
}

// set schedules s to end at exp (unix seconds), replacing its earlier expiry; exp 0 removes it.
func (e *expiries) set(s *wsSession, exp int64) {
	e.mu.Lock()
	if exp == 0 {
		e.removeLocked(s)
		e.mu.Unlock()
		return
	}
	s.expAt = exp
	if s.expIdx >= 0 {
		heap.Fix(&e.h, s.expIdx)
	} else {
		heap.Push(&e.h, s)
	}
	first := e.h[0] == s
	e.mu.Unlock()
	if first {
		select {
		case e.wake <- struct{}{}:
		default:
		}
	}
}

// remove forgets s (it closed).
func (e *expiries) remove(s *wsSession) {
	e.mu.Lock()
	e.removeLocked(s)
	e.mu.Unlock()
}

func (e *expiries) removeLocked(s *wsSession) {
	if s.expIdx >= 0 {
		heap.Remove(&e.h, s.expIdx)
	}
}

// run kicks the sessions whose expiry has come, then sleeps until the next one (or a change).
func (e *expiries) run() {
	defer close(e.done)
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	var due []*wsSession
	for {
		now := time.Now()
		wait := time.Hour
		e.mu.Lock()
		for len(e.h) > 0 && e.h[0].expAt <= now.Unix() {
			due = append(due, heap.Pop(&e.h).(*wsSession))
		}
		if len(e.h) > 0 {
			wait = time.Unix(e.h[0].expAt, 0).Sub(now) // a token is expired from exp on

		}
		e.mu.Unlock()
		for _, s := range due {
			go e.kick(s)
		}
		clear(due)
		due = due[:0]
		t.Reset(wait)
		select {
		case <-t.C:
		case <-e.wake: // Reset above discards a pending fire (Go 1.23 timers)
		case <-e.stop:
			return
		}
	}
}

// close stops the goroutine.
func (e *expiries) close() {
	e.once.Do(func() { close(e.stop) })
	<-e.done
}
