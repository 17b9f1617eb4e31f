package socket

import (
	"sync"
	"time"
)

// WorkerPool runs sessions' frame handling on long-lived goroutines.
//
// Why: idle sessions hold no goroutine (Poller, poller_linux.go); the poller hands a readable session
// to a worker, which reads and answers its frames on a stack already grown to what a frame
// needs (a pull encodes a window: 8 KB). A goroutine per frame would grow and free a stack
// each time.
type WorkerPool struct {
	max  int // long-lived workers at most; beyond, a frame gets a goroutine of its own (see Run)
	jobs chan func()
	quit chan struct{} // closed by Stop: idle workers end
	idle time.Duration // a worker with nothing to do for this long ends

	mu      sync.Mutex
	running int
	stopped bool
	wg      sync.WaitGroup
}

// NewWorkerPool runs frames on at most max long-lived workers; a worker that had nothing to
// run for idle ends.
func NewWorkerPool(max int, idle time.Duration) *WorkerPool {
	return &WorkerPool{max: max, jobs: make(chan func()), quit: make(chan struct{}), idle: idle}
}

// Run has an idle worker run fn, or starts a worker for it. When max workers are busy (a
// burst: joins waiting on a room's grain after a failover) or the pool has stopped, fn gets a
// goroutine of its own: the caller (the poller) never waits, and no frame waits for another.
// Run may be called from any goroutine.
func (p *WorkerPool) Run(fn func()) {
	select {
	case p.jobs <- fn:
		return
	default:
	}
	p.mu.Lock()
	if p.stopped || p.running >= p.max {
		p.mu.Unlock()
		go fn()
		return
	}
	p.running++
	p.wg.Add(1)
	p.mu.Unlock()
	go p.work(fn)
}

func (p *WorkerPool) work(fn func()) {
	defer p.wg.Done()
	t := time.NewTimer(p.idle)
	defer t.Stop()
	for {
		fn()
		t.Reset(p.idle)
		select {
		case fn = <-p.jobs:
			continue
		case <-t.C:
		case <-p.quit:
		}
		p.mu.Lock()
		p.running--
		p.mu.Unlock()
		return
	}
}

// Stop ends the workers once they finish their frame and waits for them; frames offered
// afterwards run on a goroutine of their own.
func (p *WorkerPool) Stop() {
	p.mu.Lock()
	if !p.stopped {
		p.stopped = true
		close(p.quit)
	}
	p.mu.Unlock()
	p.wg.Wait()
}
