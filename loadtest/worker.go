package loadtest

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"sync"
	"time"
)

// worker runs a share of the viewers in one process.
type worker struct {
	cfg     Config
	c       counters
	lat     *latencies
	resume  *durations // a lost session's end to the next joined
	router  *router
	viewers []*viewer
}

func (w *worker) localAddr(id int) *net.TCPAddr { return w.cfg.localAddr(id) }

// workerMsg is one line a worker writes to the driver.
type workerMsg struct {
	Type     string            `json:"type"` // tick, final
	Totals   Totals            `json:"totals"`
	Lat      map[string]string `json:"lat,omitempty"` // per priority, encoded histogram (final: total; tick: that second)
	Lost     int64             `json:"lost,omitempty"`
	LostBy   int64             `json:"lost_viewers,omitempty"`
	Expected int64             `json:"expected,omitempty"`
	Resume   string            `json:"resume,omitempty"` // final: encoded histogram of the resumptions (us)
}

// driverMsg is one line the driver writes to a worker.
type driverMsg struct {
	Type    string             `json:"type"`              // phase, finish
	Phase   string             `json:"phase,omitempty"`   // phase: send (the senders started), drain (they stopped)
	Notices map[string][]int64 `json:"notices,omitempty"` // finish: room -> ts of the system notices acknowledged
}

// RunWorker runs cfg.Count viewers until the driver says finish (on in), in ends or ctx ends,
// writing ticks and the final report as JSON lines to out. It returns once every goroutine it
// started has ended, except the one reading in, which ends when in does.
func RunWorker(ctx context.Context, cfg Config, in io.Reader, out io.Writer) error {
	cfg.applyDefaults()
	w := &worker{cfg: cfg, lat: newLatencies(), resume: &durations{h: newHist()}, router: newRouter(&cfg)}
	enc := json.NewEncoder(out)
	var encMu sync.Mutex
	emit := func(m workerMsg) {
		encMu.Lock()
		_ = enc.Encode(m)
		encMu.Unlock()
	}
	vctx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	slowEvery := 0
	if cfg.Slow > 0 {
		slowEvery = int(1 / cfg.Slow)
	}
	// Connect at the configured rate (this worker's share).
	perSec := max(1, cfg.Connect*cfg.Count/max(cfg.Viewers, 1))
	interval := time.Second / time.Duration(perSec)
	connectDone := make(chan struct{})
	go func() {
		defer close(connectDone)
		t := time.NewTicker(interval)
		defer t.Stop()
		for i := 0; i < cfg.Count; i++ {
			id := cfg.First + i
			v := &viewer{w: w, id: id, uid: cfg.uid(id), room: cfg.room(id)}
			if slowEvery > 0 && id%slowEvery == 0 {
				v.slow = slowLate
				if cfg.SlowMode == "never" {
					v.slow = slowNever
				}
			}
			w.viewers = append(w.viewers, v)
			wg.Add(1)
			go func() { defer wg.Done(); v.run(vctx) }()
			select {
			case <-vctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	// Ticks, once a second.
	tickDone := make(chan struct{})
	go func() {
		defer close(tickDone)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-vctx.Done():
				return
			case <-t.C:
				sec := w.lat.takeSecond()
				m := workerMsg{Type: "tick", Totals: w.c.totals(), Lat: map[string]string{}}
				for p, h := range sec {
					if h.TotalCount() > 0 {
						m.Lat[priNames[p]] = encodeHist(h)
					}
				}
				emit(m)
			}
		}
	}()
	fin := w.serve(ctx, in)
	stop()
	<-connectDone
	wg.Wait()
	<-tickDone
	final := workerMsg{Type: "final", Totals: w.c.totals(), Lat: map[string]string{}, Resume: w.resume.encode()}
	for p, h := range w.lat.totals() {
		final.Lat[priNames[p]] = encodeHist(h)
	}
	for _, v := range w.viewers {
		notices := fin.Notices[v.room]
		lost := v.lostOf(notices)
		final.Lost += lost
		if lost > 0 {
			final.LostBy++
		}
		for _, ts := range notices {
			if v.everIn && ts > v.joinedAt {
				final.Expected++
			}
		}
	}
	emit(final)
	return nil
}

// serve reads the driver's lines until finish (returned), the end of in or of ctx.
func (w *worker) serve(ctx context.Context, in io.Reader) driverMsg {
	lines := make(chan driverMsg)
	done := make(chan struct{})
	defer close(done)
	go func() {
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
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
			if m.Type == "finish" {
				return m
			}
		}
	}
}
