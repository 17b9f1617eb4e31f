package transport

import (
	"sync"
	"time"
)

// workerPool runs sessions' frame handling on long-lived goroutines.
//
// Why: idle sessions hold no goroutine (poller_linux.go); the poller hands a readable session
// to a worker, which reads and answers its frames on a stack already grown to what a frame
// needs (a pull encodes a window: 8 KB). A goroutine per frame would grow and free a stack
// each time.
type workerPool struct {
	max  int // long-lived workers at most; beyond, a frame gets a goroutine of its own (see run)
	jobs chan func()
	quit chan struct{} // closed by stop: idle workers end
	idle time.Duration // a worker with nothing to do for this long ends

	mu      sync.Mutex
	running int
	stopped bool
	wg      sync.WaitGroup
}

func newWorkerPool(max int, idle time.Duration) *workerPool {
	return &workerPool{max: max, jobs: make(chan func()), quit: make(chan struct{}), idle: idle}
}

// run has an idle worker run fn, or starts a worker for it. When max workers are busy (a
// burst: joins waiting on a room's grain after a failover) or the pool has stopped, fn gets a
// goroutine of its own: the caller (the poller) never waits, and no frame waits for another.
func (p *workerPool) run(fn func()) {
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

func (p *workerPool) work(fn func()) {
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

// stop ends the workers once they finish their frame and waits for them; frames offered
// afterwards run on the caller.
func (p *workerPool) stop() {
	p.mu.Lock()
	if !p.stopped {
		p.stopped = true
		close(p.quit)
	}
	p.mu.Unlock()
	p.wg.Wait()
}
