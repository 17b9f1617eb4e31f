package loadtest

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/schollz/progressbar/v3"
)

// WorkerEnv is the environment variable that carries a worker's Config.
const WorkerEnv = "LIVEROOM_LOADTEST_WORKER"

// Options are how a caller drives a run beyond its Config.
type Options struct {
	// Progress receives the progress bars and phase lines (nil: discarded).
	Progress io.Writer
	// InProcess runs the workers as goroutines of this process (RunWorker over pipes) instead of
	// child processes (os.Executable --worker): for Go tests, whose binary cannot be re-executed
	// as a worker. The viewers then share this process's file limit (~19.9k here).
	InProcess bool
	// OnSending, if set, is called once when the send phase begins, with its start, from the
	// driver's goroutine: it must return at once (a test starts its fault schedule in a
	// goroutine of its own and times it from start).
	OnSending func(start time.Time)
}

// Run drives a whole load test: workers, senders, the loss check and the result. It is
// RunWith with only a progress writer.
func Run(ctx context.Context, cfg Config, progress io.Writer) (*Result, error) {
	return RunWith(ctx, cfg, Options{Progress: progress})
}

// RunWith drives a whole load test, in phases: start the workers, connect every viewer, send
// for cfg.Duration, drain for cfg.Drain, then the loss check in the workers and the result.
// It returns when every worker and sender goroutine it started has ended.
func RunWith(ctx context.Context, cfg Config, o Options) (*Result, error) {
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	cfg.applyDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	d := &driver{cfg: cfg, o: o, srv: newServers(cfg), res: &Result{Config: cfg, Mode: "notify-pull",
		Sent: map[string]int64{}, SendErrors: map[string]int64{}, Latency: map[string]Quantiles{}, DroppedShare: map[string]float64{}}}
	d.res.ServerRSSBase = d.srv.rss(func(s *ServerStat) *int64 { return &s.RSSBase })
	d.nodes = startNodeSampler(ctx, cfg.urls, time.Second)
	defer d.nodes.finish() // on early returns; a second finish only waits for nothing
	defer func() {
		for _, wp := range d.workers {
			wp.stop()
		}
	}()
	if err := d.startWorkers(ctx); err != nil {
		return nil, err
	}
	d.connect(ctx)
	if err := d.send(ctx); err != nil {
		if d.snd != nil {
			d.stopRetry()
			d.snd.waitNotices()
		}
		return nil, err
	}
	err := d.drain(ctx)
	d.stopRetry()
	d.snd.waitNotices()
	if err != nil {
		return nil, err
	}
	if err := d.finish(); err != nil {
		return nil, err
	}
	return d.res, nil
}

// driver is one run's state, owned by RunWith's goroutine.
type driver struct {
	cfg     Config
	o       Options
	res     *Result
	srv     *servers
	nodes   *nodeSampler
	workers []*workerProc
	snd     *senders
	gifts   *giftPoster  // --counter-posts
	cntBase roomCounters // the checked rooms' counters when the send phase began (counters_check.go)
	cntEnd  roomCounters // and once they settled after the drain

	cpus0       []float64 // the servers' CPU when the send phase began
	cpu0        float64
	testerCPU0  float64 // the load tester's, likewise
	sendSeconds float64
	stopRetry   context.CancelFunc // ends the notices' retries (before the drain ends)
	killed      sync.Map           // int64 pid -> true: the servers kill sent SIGKILL
}

// retryGrace is the end of the drain left to the last notices acknowledged: no retry goes
// on in the last 2 s of the drain (half of a shorter drain).
func retryGrace(drain time.Duration) time.Duration { return min(2*time.Second, drain/2) }

func (d *driver) startWorkers(ctx context.Context) error {
	var self string
	if !d.o.InProcess {
		var err error
		if self, err = os.Executable(); err != nil {
			return err
		}
	}
	for first := 0; first < d.cfg.Viewers; first += d.cfg.PerWorker {
		wc := d.cfg
		wc.First, wc.Count = first, min(d.cfg.PerWorker, d.cfg.Viewers-first)
		if d.o.InProcess {
			d.workers = append(d.workers, startWorkerInProcess(ctx, wc))
			continue
		}
		wp, err := startWorker(ctx, self, wc)
		if err != nil {
			return err
		}
		d.workers = append(d.workers, wp)
	}
	return nil
}

// connect waits until every viewer joined (or a deadline), then reads the idle RSS.
func (d *driver) connect(ctx context.Context) {
	cfg, res := &d.cfg, d.res
	start := time.Now()
	bar := progressbar.NewOptions(cfg.Viewers, progressbar.OptionSetWriter(d.o.Progress), progressbar.OptionSetDescription("connecting"),
		progressbar.OptionShowCount(), progressbar.OptionThrottle(200*time.Millisecond))
	deadline := time.Now().Add(time.Duration(cfg.Viewers/max(cfg.Connect, 1))*time.Second + 60*time.Second)
	for {
		joined := collect(d.workers, nil).FirstJoins
		_ = bar.Set(int(joined))
		if joined >= int64(cfg.Viewers) || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	_ = bar.Finish()
	fmt.Fprintln(d.o.Progress)
	// The idle RSS is the viewers' cost: the garbage of connecting them (dials, tokens,
	// handshakes), which the runtime would hand back to the system only over minutes, is
	// returned first, here and in the workers.
	_ = broadcast(d.workers, driverMsg{Type: "phase", Phase: "idle"})
	debug.FreeOSMemory()
	t := collect(d.workers, nil)
	res.ConnectSeconds = time.Since(start).Seconds()
	if t.FirstJoins > 0 {
		res.ConnectRate = float64(t.FirstJoins) / res.ConnectSeconds
	}
	res.Connected = t.Connected
	time.Sleep(2 * time.Second) // let the server settle before the idle RSS reading
	res.ServerRSSIdle = d.srv.rss(func(s *ServerStat) *int64 { return &s.RSSIdle })
	if cfg.Viewers > 0 && res.ServerRSSIdle > 0 {
		res.BytesPerViewer = float64(res.ServerRSSIdle-res.ServerRSSBase) / float64(cfg.Viewers)
		res.RSSPerViewer = float64(res.ServerRSSIdle) / float64(cfg.Viewers)
	}
	pids := d.testerPIDs()
	for _, pid := range pids {
		res.TesterRSSIdle += procRSS(pid)
	}
	res.TesterProcesses = len(pids)
	if cfg.Viewers > 0 {
		res.TesterRSSPerViewer = float64(res.TesterRSSIdle) / float64(cfg.Viewers)
	}
}

// testerPIDs is the load tester's processes: this one and the workers (one pid in-process).
func (d *driver) testerPIDs() []int {
	pids := []int{os.Getpid()}
	for _, wp := range d.workers {
		if !slices.Contains(pids, wp.pid) {
			pids = append(pids, wp.pid)
		}
	}
	return pids
}

// testerCPU sums the load tester's processes' CPU seconds.
func (d *driver) testerCPU() float64 {
	var s float64
	for _, pid := range d.testerPIDs() {
		s += procCPU(pid)
	}
	return s
}

// send runs the senders for cfg.Duration and records one Second per second.
func (d *driver) send(ctx context.Context) error {
	cfg, res := &d.cfg, d.res
	d.cpus0, d.cpu0 = d.srv.cpu()
	d.testerCPU0 = d.testerCPU()
	var sendWG sync.WaitGroup
	defer sendWG.Wait() // after stopSend (defers run last first)
	sendStart := time.Now()
	d.nodes.sendPhase(true)
	sctx, stopSend := context.WithDeadline(ctx, sendStart.Add(cfg.Duration))
	defer stopSend()
	rctx, stopRetry := context.WithDeadline(ctx, sendStart.Add(cfg.Duration+cfg.Drain-retryGrace(cfg.Drain)))
	d.stopRetry = stopRetry
	d.snd = newSenders(*cfg)
	sendWG.Add(1)
	go func() { defer sendWG.Done(); d.snd.run(sctx, rctx) }()
	if len(cfg.KillPIDs) > 0 {
		sendWG.Add(1)
		go func() { defer sendWG.Done(); d.kill(sctx, sendStart.Add(cfg.KillAt)) }()
	}
	if err := d.counterBase(); err != nil {
		return err
	}
	if cfg.CounterPosts > 0 {
		d.gifts = newGiftPoster(*cfg)
		sendWG.Add(1)
		go func() { defer sendWG.Done(); d.gifts.run(sctx) }()
	}
	if err := broadcast(d.workers, driverMsg{Type: "phase", Phase: "send"}); err != nil {
		return err
	}
	if d.o.OnSending != nil {
		d.o.OnSending(sendStart)
	}
	bar := progressbar.NewOptions(int(cfg.Duration.Seconds()), progressbar.OptionSetWriter(d.o.Progress),
		progressbar.OptionSetDescription("sending"), progressbar.OptionShowCount(), progressbar.OptionThrottle(500*time.Millisecond))
	prev, prevCPU, prevCPUs := collect(d.workers, nil), d.cpu0, d.cpus0
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for sec := 1; ; sec++ {
		select {
		case <-tick.C:
		case <-sctx.Done():
		}
		lat := map[string]*hdrhistogram.Histogram{}
		cur := collect(d.workers, lat)
		cpus, cpu := d.srv.cpu()
		s := d.second(sec, cur.sub(prev), lat, cpu-prevCPU, cpus, prevCPUs)
		res.Seconds = append(res.Seconds, s)
		prev, prevCPU, prevCPUs = cur, cpu, cpus
		_ = bar.Set(sec)
		if sctx.Err() != nil {
			break
		}
	}
	stopSend()
	sendWG.Wait()
	d.sendSeconds = time.Since(sendStart).Seconds()
	d.nodes.sendPhase(false)
	cpus1, cpu1 := d.srv.cpu()
	res.ServerCPU = cpu1 - d.cpu0
	res.ServerRSSEnd = d.srv.rss(func(s *ServerStat) *int64 { return &s.RSSEnd })
	res.Servers = d.srv.finish(d.cpus0, cpus1)
	for k := range res.Servers {
		if _, ok := d.killed.Load(int64(res.Servers[k].PID)); ok {
			res.Servers[k].Killed = true
		}
	}
	_ = bar.Finish()
	return nil
}

// kill sends SIGKILL to the servers of cfg.KillPIDs at `at` (unless the send phase ends first)
// and records when, and which, in the result.
func (d *driver) kill(ctx context.Context, at time.Time) {
	t := time.NewTimer(time.Until(at))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return
	case <-t.C:
	}
	for _, pid := range d.cfg.KillPIDs {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			fmt.Fprintf(d.o.Progress, "\nkill -9 %d: %v\n", pid, err)
			continue
		}
		d.killed.Store(int64(pid), true)
	}
	d.res.KilledAt = d.cfg.KillAt.Seconds()
	fmt.Fprintf(d.o.Progress, "\nkilled %v at %v\n", d.cfg.KillPIDs, d.cfg.KillAt)
}

// second builds one Second from that second's deltas.
func (d *driver) second(sec int, delta Totals, lat map[string]*hdrhistogram.Histogram, cpu float64, cpus, prevCPUs []float64) Second {
	var deliveries int64
	for _, v := range delta.Deliveries {
		deliveries += v
	}
	s := Second{T: sec, Totals: delta, Latency: map[string]float64{}, Sent: d.snd.total(), ServerCPU: cpu, Deliveries: deliveries}
	if len(cpus) > 1 {
		for k := range cpus {
			s.ServerCPUs = append(s.ServerCPUs, cpus[k]-prevCPUs[k])
		}
	}
	members, goroutines, sessions := d.nodes.current()
	if len(d.cfg.urls) > 1 {
		s.Members = members
	}
	s.Goroutines, s.Sessions = goroutines, sessions
	s.ServerRSS = d.srv.rssNow()
	for p, h := range lat {
		s.Latency[p] = float64(h.ValueAtQuantile(99)) / 1000
	}
	s.AckP99 = d.snd.acks.takeSecond()
	return s
}

// drain waits cfg.Drain after the senders stopped, so that what was sent last can arrive.
func (d *driver) drain(ctx context.Context) error {
	fmt.Fprintf(d.o.Progress, "\ndraining %v\n", d.cfg.Drain)
	if err := broadcast(d.workers, driverMsg{Type: "phase", Phase: "drain"}); err != nil {
		return err
	}
	t := time.NewTimer(d.cfg.Drain)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	d.res.TesterCPU = d.testerCPU() // the workers are still there: they end after the loss check
	d.res.TesterCPUSend = d.res.TesterCPU - d.testerCPU0
	if m := d.nodes.finish(); len(d.cfg.urls) > 1 {
		d.res.Membership = m
	}
	d.res.Placement = d.cfg.placement(d.nodes.placement())
	return nil
}

// finish has the workers run the loss check (it needs the notices' ts) and builds the result.
func (d *driver) finish() error {
	cfg, res := &d.cfg, d.res
	fin := driverMsg{Type: "finish", Notices: d.snd.noticeTS()}
	if cfg.Likes > 0 || cfg.CounterPosts > 0 {
		var settled bool
		var took time.Duration
		d.cntEnd, settled, took = d.settleCounters()
		d.res.Counters = &CounterResult{Settled: settled, SettleMs: float64(took.Microseconds()) / 1000}
		fin.Likes = likesOfRooms(d.cntEnd)
	}
	if err := broadcast(d.workers, fin); err != nil {
		return err
	}
	hists, resume, churn := map[string]*hdrhistogram.Histogram{}, newHist(), newHist()
	likes := map[string]likesSeen{}
	var classes [][]classFinal // nil with one class
	for _, wp := range d.workers {
		var m workerMsg
		select {
		case m = <-wp.final:
		case <-time.After(60 * time.Second):
			return fmt.Errorf("a worker did not report")
		}
		res.Totals.add(m.Totals)
		res.LostProtected += m.Lost
		res.StampConflicts += m.Stamps
		res.LostViewers += m.LostBy
		res.ExpectedNotices += m.Expected
		for room, s := range m.Likes {
			likes[room] = mergeLikes(likes[room], s)
		}
		mergeHists(hists, m.Lat)
		if cfg.plan.multiClass() {
			classes = append(classes, m.Classes)
		}
		resume.Merge(decodeHist(m.Resume))
		churn.Merge(decodeHist(m.Churn))
		for how, n := range m.SlowEnds {
			if res.SlowEnds == nil {
				res.SlowEnds = map[string]int64{}
			}
			res.SlowEnds[how] += n
			switch how {
			case "open":
				res.SlowOpen += n
			case "not joined", "no report":
			default:
				res.SlowKicked += n
			}
		}
	}
	res.Resume, res.Reconnects, res.ChurnResume = quantiles(resume), resume.TotalCount(), quantiles(churn)
	for p, h := range hists {
		if h.TotalCount() > 0 {
			res.Latency[p] = quantiles(h)
		}
	}
	res.Sent, res.SendErrors, res.SendErrorCauses = d.snd.counts()
	res.AckLatency, res.LongestAckGap = d.snd.acks.summary()
	res.ComputeDrifts()
	res.NoticeRetries, res.NoticesUnacked = d.snd.noticeCounts()
	var deliveries int64
	for _, v := range res.Totals.Deliveries {
		deliveries += v
	}
	span := d.sendSeconds + cfg.Drain.Seconds()
	d.checkCounters(likes, res.Totals)
	res.DeliveriesPerS = float64(deliveries) / span
	res.Classes = d.classResults(classes, deliveries, span)
	res.FramesPerS = float64(res.Totals.Frames) / span
	res.NotifiesPerVS = float64(res.Totals.Notifies) / span / float64(cfg.Viewers)
	res.PullsPerVS = float64(res.Totals.Pulls) / span / float64(cfg.Viewers)
	if res.ServerCPU > 0 {
		res.DeliveriesPerCPU = float64(deliveries) / res.ServerCPU
	}
	// Each acknowledged message could be delivered to every viewer of its room that reads (a
	// stalled viewer receives nothing).
	readers := map[string]int64{}
	for i := range cfg.Viewers {
		if !cfg.isSlow(i) || cfg.SlowMode != "stop" {
			readers[cfg.viewerRoom(i)]++
		}
	}
	possible := d.snd.possible(readers)
	for p, name := range priNames {
		if possible[p] > 0 {
			res.DroppedShare[name] = 1 - float64(res.Totals.Deliveries[name])/float64(possible[p])
		}
	}
	return nil
}

// mergeHists merges encoded histograms (by name) into hists.
func mergeHists(hists map[string]*hdrhistogram.Histogram, enc map[string]string) {
	for p, e := range enc {
		h := hists[p]
		if h == nil {
			h = newHist()
			hists[p] = h
		}
		h.Merge(decodeHist(e))
	}
}

// ComputeDrifts sets the drifts and spreads of RSS and goroutines from the per-second series
// after the warm-up (also for a result read back from JSON, so that old results are judged
// by the current definition).
func (r *Result) ComputeDrifts() {
	rss := func(s Second) int64 { return s.ServerRSS }
	gor := func(s Second) int64 { return s.Goroutines }
	r.RSSDrift, r.RSSSpread = drift(r.Seconds, r.Config.Warmup, rss)
	r.GoroutineDrift, r.GoroutineSpread = drift(r.Seconds, r.Config.Warmup, gor)
}

// drift measures growth of a per-second series over the seconds after warmup: the series is
// cut into windows (60 s, or a quarter of the span when that is shorter), each window's
// lowest reading is its floor (what stays held; the worker pool's goroutines and the
// allocator's peaks come and go within seconds), and drift is (max - min) / min of the
// floors. spread is (max - min) / min of the readings themselves. Both are -1 with fewer than
// two readings (zeros are not readings).
func drift(secs []Second, warmup time.Duration, val func(Second) int64) (drift, spread float64) {
	var vals []int64
	var ts []int
	for _, s := range secs {
		if v := val(s); time.Duration(s.T)*time.Second > warmup && v > 0 {
			vals, ts = append(vals, v), append(ts, s.T)
		}
	}
	if len(vals) < 2 {
		return -1, -1
	}
	span := ts[len(ts)-1] - ts[0] + 1
	window := max(1, min(60, span/4))
	var floors []int64
	for i, v := range vals {
		w := (ts[i] - ts[0]) / window
		if w >= len(floors) {
			floors = append(floors, v)
		}
		floors[len(floors)-1] = min(floors[len(floors)-1], v)
	}
	return relRange(floors), relRange(vals)
}

// relRange is (max - min) / min.
func relRange(v []int64) float64 {
	lo, hi := slices.Min(v), slices.Max(v)
	return float64(hi-lo) / float64(lo)
}
