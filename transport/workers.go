package transport

import (
	"sync"
	"time"
)

// workerPool runs sessions' frame handling on long-lived goroutines.
//
// Why: an idle viewer is a reader goroutine parked on a 2 KB stack (rawread.go). Handling a
// frame (a pull encodes a window) needs an 8 KB stack; done on the reader, the stack grows
// and Go never shrinks a parked stack back under 4 KB; done on a fresh goroutine per frame,
// the growing and freeing of stacks scatters the readers' 2 KB stacks over half-empty stack
// spans (measured: 4.7 KB of stack memory per idle session at 19k after one round of pulls).
// Workers keep their grown stacks and take frames from any session; a reader that sees bytes
// hands its session to a worker and ends, and the worker starts the next reader (a reused
// goroutine that keeps its 2 KB stack) once the frame is answered.
type workerPool struct {
	max  int // workers at most; beyond, a frame is answered on its reader (see run)
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
// burst: every viewer of a big room pulls after the same notify) or the pool has stopped, fn
// runs on the caller: the frame is answered at once, at the price of that reader's stack.
func (p *workerPool) run(fn func()) {
	select {
	case p.jobs <- fn:
		return
	default:
	}
	p.mu.Lock()
	if p.stopped || p.running >= p.max {
		p.mu.Unlock()
		fn()
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
