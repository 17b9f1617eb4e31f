package loadtest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"
)

// worker runs a share of the viewers in one process.
type worker struct {
	cfg         Config
	c           counters
	lat         *latencies
	resume      *durations // a lost session's end to the next joined
	churnResume *durations // the same after a churn
	router      *router
	stalls      *stalls     // --slow-mode stop
	stamps      *stampLog   // CheckStamps; nil otherwise
	classes     *classStats // per room-size class, with several classes (roomsizes.go); nil otherwise
	emit        func(workerMsg)
	notices     noticeNumbers // the system notices its viewers received, numbered (notices.go)
	names       interner      // rooms and epochs

	mu      sync.Mutex  // guards viewers and ws: the connect goroutine appends while others read
	viewers []*viewer   // every viewer, whatever its IO
	ws      []*wsViewer // the goroutine IO's (churn reaches their connections)
	epoll   *epollIO    // the epoll IO (nil: goroutines)
	liking  atomic.Bool // the send phase: viewers add likes (--likes)
}

// latencyShards is how many shards the latency histograms need: one per goroutine that
// records at once, within reason (every viewer's with goroutine IO, the handlers' with epoll).
func latencyShards(cfg *Config) int {
	if cfg.ViewerIO == ViewerIOEpoll {
		return epollHandlers()
	}
	return 32
}

// intern returns b as a string shared by every viewer of the worker.
func (w *worker) intern(b []byte) string { return w.names.intern(b) }

// initViewer sets up viewer id's fixed state.
func (w *worker) initViewer(v *viewer, id int) {
	cfg := &w.cfg
	v.w, v.id, v.room, v.class = w, id, w.intern([]byte(cfg.viewerRoom(id))), cfg.viewerClass(id)
	if cfg.isSlow(id) {
		v.slow = map[string]int{"late": slowLate, "never": slowNever, "stop": slowStop}[cfg.SlowMode]
	}
	if cfg.Likes > 0 {
		v.lk = &likeCounts{}
	}
}

func (w *worker) localAddr(id int) *net.TCPAddr { return w.cfg.localAddr(id) }

// workerMsg is one line a worker writes to the driver.
type workerMsg struct {
	Type     string               `json:"type"` // tick, final
	Totals   Totals               `json:"totals"`
	Lat      map[string]string    `json:"lat,omitempty"` // per priority, encoded histogram (final: total; tick: that second)
	Lost     int64                `json:"lost,omitempty"`
	LostBy   int64                `json:"lost_viewers,omitempty"`
	Expected int64                `json:"expected,omitempty"`
	Resume   string               `json:"resume,omitempty"`          // final: encoded histogram of the resumptions (us)
	Churn    string               `json:"churn,omitempty"`           // final: the same for the churned sessions
	SlowEnds map[string]int64     `json:"slow_ends,omitempty"`       // final: how the stalled viewers' sessions ended (stalls)
	Stamps   int64                `json:"stamp_conflicts,omitempty"` // final: seqs seen with two ts (CheckStamps)
	Likes    map[string]likesSeen `json:"likes,omitempty"`           // final: the viewers' last likes totals by room (--likes)
	Classes  []classFinal         `json:"classes,omitempty"`         // final: per room-size class, with several classes
}

// driverMsg is one line the driver writes to a worker.
type driverMsg struct {
	Type    string             `json:"type"`              // phase, finish
	Phase   string             `json:"phase,omitempty"`   // phase: idle (every viewer joined, or the connect deadline passed), send (the senders started), drain (they stopped)
	Notices map[string][]int64 `json:"notices,omitempty"` // finish: room -> ts of the system notices acknowledged
	Likes   map[string]int64   `json:"likes,omitempty"`   // finish: room -> the server's likes total, once settled (--likes)
}

// RunWorker runs cfg.Count viewers until the driver says finish (on in), in ends or ctx ends,
// writing ticks and the final report as JSON lines to out. It returns once every goroutine it
// started has ended, except the one reading in, which ends when in does.
func RunWorker(ctx context.Context, cfg Config, in io.Reader, out io.Writer) error {
	cfg.applyDefaults()
	w := &worker{cfg: cfg, lat: newLatencies(latencyShards(&cfg)), resume: &durations{h: newHist()}, churnResume: &durations{h: newHist()}, stalls: newStalls()}
	w.router = newRouter(&w.cfg)
	if cfg.CheckStamps {
		w.stamps = newStampLog()
	}
	if cfg.plan.multiClass() {
		w.classes = &classStats{}
	}
	enc := json.NewEncoder(out)
	var encMu sync.Mutex
	w.emit = func(m workerMsg) {
		encMu.Lock()
		_ = enc.Encode(m)
		encMu.Unlock()
	}
	vctx, stop := context.WithCancel(ctx)
	defer stop()
	if cfg.ViewerIO == ViewerIOEpoll {
		io, err := newEpollIO(vctx, w)
		if err != nil {
			return err
		}
		w.epoll = io
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); w.connectAll(vctx, &wg) }()
	go func() { defer wg.Done(); w.tick(vctx) }()
	var churn sync.WaitGroup
	stopChurn := func() {}
	fin := w.serve(ctx, in, func(phase string) {
		switch phase {
		case "idle":
			debug.FreeOSMemory()
		case "send":
			writeHeapProfile(cfg.First)
			w.liking.Store(true)
			cctx, cancel := context.WithCancel(vctx)
			stopChurn = cancel
			churn.Add(1)
			go func() { defer churn.Done(); w.churn(cctx) }()
		case "drain":
			w.liking.Store(false)
			stopChurn()
		}
	})
	stopChurn()
	churn.Wait()
	w.awaitLikes(ctx, fin.Likes, viewerSettle)
	slowEnds := w.stalls.finish(stallRead + 5*time.Second) // before the viewers are stopped; each read ends by stallRead
	stop()
	wg.Wait()
	if w.epoll != nil {
		w.epoll.stop()
	}
	w.emit(w.final(fin, slowEnds))
	return nil
}

// connectAll starts the viewers at the configured rate (this worker's share): with goroutine
// IO each in a goroutine of wg, with epoll IO as attempts queued for its dialers.
func (w *worker) connectAll(ctx context.Context, wg *sync.WaitGroup) {
	if w.epoll != nil {
		w.epoll.connectAll(ctx)
		return
	}
	cfg := &w.cfg
	perSec := max(1, cfg.Connect*cfg.Count/max(cfg.Viewers, 1))
	t := time.NewTicker(time.Second / time.Duration(perSec))
	defer t.Stop()
	for i := 0; i < cfg.Count; i++ {
		v := &wsViewer{}
		w.initViewer(&v.viewer, cfg.First+i)
		w.mu.Lock()
		w.viewers = append(w.viewers, &v.viewer)
		w.ws = append(w.ws, v)
		w.mu.Unlock()
		wg.Add(1)
		go func() { defer wg.Done(); v.run(ctx) }()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// tick reports the totals and that second's latencies once a second.
func (w *worker) tick(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			sec := w.lat.takeSecond()
			m := workerMsg{Type: "tick", Totals: w.c.totals(), Lat: map[string]string{}}
			for p, h := range sec {
				if h.TotalCount() > 0 {
					m.Lat[priNames[p]] = encodeHist(h)
				}
			}
			w.emit(m)
		}
	}
}

// final is the worker's report, with the loss check: every viewer that joined must have
// received every notice acknowledged after its first join (a stalled viewer is not checked).
func (w *worker) final(fin driverMsg, slowEnds map[string]int64) workerMsg {
	m := workerMsg{Type: "final", Totals: w.c.totals(), Lat: map[string]string{}, Resume: w.resume.encode(),
		Churn: w.churnResume.encode(), SlowEnds: slowEnds, Stamps: w.stamps.count()}
	for p, h := range w.lat.totals() {
		m.Lat[priNames[p]] = encodeHist(h)
	}
	if w.classes != nil {
		m.Classes = w.classes.final()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	m.Likes = w.likesByRoom(fin.Likes)
	for _, v := range w.viewers {
		if v.slow == slowStop {
			continue
		}
		notices := fin.Notices[v.room]
		v.mu.Lock() // the epoll IO's timers may still look at it (and find no session)
		lost := v.lostOf(notices)
		v.mu.Unlock()
		m.Lost += lost
		if lost > 0 {
			m.LostBy++
		}
		var expected int64
		for _, ts := range notices {
			if v.everIn && ts > v.joinedAt {
				expected++
			}
		}
		m.Expected += expected
		if m.Classes != nil {
			m.Classes[v.class].Lost += lost
			m.Classes[v.class].Expected += expected
		}
	}
	if n := w.countSlowStops(); n > 0 {
		var ended int64
		for _, k := range slowEnds {
			ended += k
		}
		if n > ended {
			if m.SlowEnds == nil {
				m.SlowEnds = map[string]int64{}
			}
			m.SlowEnds["not joined"] = n - ended
		}
	}
	return m
}

// countSlowStops counts this worker's stalling viewers (w.mu held).
func (w *worker) countSlowStops() int64 {
	var n int64
	for _, v := range w.viewers {
		if v.slow == slowStop {
			n++
		}
	}
	return n
}

// serve reads the driver's lines until finish (returned), the end of in or of ctx; phase
// lines go to onPhase.
func (w *worker) serve(ctx context.Context, in io.Reader, onPhase func(string)) driverMsg {
	lines := make(chan driverMsg)
	done := make(chan struct{})
	defer close(done)
	go func() {
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 64<<10), 64<<20) // grows for the finish line (every notice ts)
		for sc.Scan() {
			var m driverMsg
			if json.Unmarshal(sc.Bytes(), &m) != nil {
				continue
			}
			select {
			case lines <- m:
			case <-done:
				return
			}
		}
		close(lines)
	}()
	for {
		select {
		case <-ctx.Done():
			return driverMsg{}
		case m, ok := <-lines:
			if !ok {
				return driverMsg{}
			}
			switch m.Type {
			case "finish":
				return m
			case "phase":
				onPhase(m.Phase)
			}
		}
	}
}

// writeHeapProfile writes the worker's heap profile to $LT_MEMPROFILE.<first viewer>.heap.pprof
// when that is set (at the start of the send phase: the viewers idle, as the driver reads the
// RSS), with the runtime's memory figures on stderr.
func writeHeapProfile(first int) {
	prefix := os.Getenv("LT_MEMPROFILE")
	if prefix == "" {
		return
	}
	f, err := os.Create(fmt.Sprintf("%s.%d.heap.pprof", prefix, first))
	if err != nil {
		return
	}
	defer f.Close()
	runtime.GC()
	_ = pprof.WriteHeapProfile(f)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(os.Stderr, "worker %d: heap in use %d KB (objects %d), idle %d KB, released %d KB, stacks %d KB, sys %d KB, goroutines %d\n",
		first, ms.HeapInuse>>10, ms.HeapObjects, ms.HeapIdle>>10, ms.HeapReleased>>10, ms.StackInuse>>10, ms.Sys>>10, runtime.NumGoroutine())
}
