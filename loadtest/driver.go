package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/schollz/progressbar/v3"
)

// WorkerEnv is the environment variable that carries a worker's Config.
const WorkerEnv = "LIVEROOM_LOADTEST_WORKER"

// Second is one second of the run, summed over workers.
type Second struct {
	T          int                `json:"t"` // seconds since the senders started (negative: connecting)
	Totals     Totals             `json:"delta"`
	Latency    map[string]float64 `json:"p99_ms"`
	Sent       int64              `json:"sent"`
	ServerCPU  float64            `json:"server_cpu_s"`                  // summed over the servers
	ServerCPUs []float64          `json:"server_cpu_s_by_pid,omitempty"` // per server, in --server-pid order (several only)
	Deliveries int64              `json:"deliveries"`
	Members    []int              `json:"members,omitempty"` // cluster members each node listed at its last reading (-1: none), in --url order
}

// Result is the JSON result of a run.
type Result struct {
	Config           Config               `json:"config"`
	Mode             string               `json:"mode"`
	ConnectSeconds   float64              `json:"connect_seconds"`
	ConnectRate      float64              `json:"connects_per_second"`
	Connected        int64                `json:"connected_at_start"`
	Sent             map[string]int64     `json:"sent"`
	SendErrors       map[string]int64     `json:"send_errors"`
	SendErrorCauses  map[string]int64     `json:"send_error_causes,omitempty"` // "pri: busy|timeout|transport|status N"
	Latency          map[string]Quantiles `json:"latency"`
	Totals           Totals               `json:"totals"`
	DeliveriesPerS   float64              `json:"deliveries_per_second"`
	FramesPerS       float64              `json:"frames_per_second"`
	NotifiesPerVS    float64              `json:"notifies_per_viewer_second"`
	PullsPerVS       float64              `json:"pulls_per_viewer_second"`
	DroppedShare     map[string]float64   `json:"dropped_share"`
	LostProtected    int64                `json:"lost_protected"`
	LostViewers      int64                `json:"viewers_with_loss"`
	ExpectedNotices  int64                `json:"expected_notice_deliveries"`
	ServerCPU        float64              `json:"server_cpu_seconds"` // server figures: summed over the servers
	DeliveriesPerCPU float64              `json:"deliveries_per_server_cpu_second"`
	ServerRSSIdle    int64                `json:"server_rss_idle_bytes"`
	ServerRSSBase    int64                `json:"server_rss_before_bytes"`
	ServerRSSEnd     int64                `json:"server_rss_end_bytes"`
	BytesPerViewer   float64              `json:"server_bytes_per_viewer"`
	Servers          []ServerStat         `json:"servers,omitempty"`    // per server (--server-pid)
	Membership       *Membership          `json:"membership,omitempty"` // cluster runs (several --url)
	Seconds          []Second             `json:"seconds"`
	Failed           []string             `json:"failed_budgets,omitempty"`
}

// Run drives a whole load test: workers, senders, the loss check and the result.
func Run(ctx context.Context, cfg Config, progress io.Writer) (*Result, error) {
	cfg.applyDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	res := &Result{Config: cfg, Mode: "notify-pull", Sent: map[string]int64{}, SendErrors: map[string]int64{},
		Latency: map[string]Quantiles{}, DroppedShare: map[string]float64{}}
	srv := newServers(cfg)
	res.ServerRSSBase = srv.rss(func(s *ServerStat) *int64 { return &s.RSSBase })
	var members *memberSampler
	if len(cfg.urls) > 1 {
		members = startMembers(ctx, cfg.urls, time.Second)
		defer members.finish() // on early returns; a second finish only waits for nothing
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	var workers []*workerProc
	for first := 0; first < cfg.Viewers; first += cfg.PerWorker {
		wc := cfg
		wc.First, wc.Count = first, min(cfg.PerWorker, cfg.Viewers-first)
		wp, err := startWorker(ctx, self, wc)
		if err != nil {
			return nil, err
		}
		workers = append(workers, wp)
	}
	defer func() {
		for _, wp := range workers {
			_ = wp.stdin.Close()
			_ = wp.cmd.Wait()
		}
	}()
	// Connect phase: wait until every viewer joined (or a deadline).
	start := time.Now()
	bar := progressbar.NewOptions(cfg.Viewers, progressbar.OptionSetWriter(progress), progressbar.OptionSetDescription("connecting"),
		progressbar.OptionShowCount(), progressbar.OptionThrottle(200*time.Millisecond))
	deadline := time.Now().Add(time.Duration(cfg.Viewers/max(cfg.Connect, 1))*time.Second + 60*time.Second)
	for {
		joined := collect(workers, nil).FirstJoins
		_ = bar.Set(int(joined))
		if joined >= int64(cfg.Viewers) || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	_ = bar.Finish()
	fmt.Fprintln(progress)
	t := collect(workers, nil)
	res.ConnectSeconds = time.Since(start).Seconds()
	if t.FirstJoins > 0 {
		res.ConnectRate = float64(t.FirstJoins) / res.ConnectSeconds
	}
	res.Connected = t.Connected
	time.Sleep(2 * time.Second) // let the server settle before the idle RSS reading
	res.ServerRSSIdle = srv.rss(func(s *ServerStat) *int64 { return &s.RSSIdle })
	if cfg.Viewers > 0 && res.ServerRSSIdle > 0 {
		res.BytesPerViewer = float64(res.ServerRSSIdle-res.ServerRSSBase) / float64(cfg.Viewers)
	}

	// Send phase.
	cpus0, cpu0 := srv.cpu()
	sctx, stopSend := context.WithTimeout(ctx, cfg.Duration)
	snd := newSenders(cfg)
	var sendWG sync.WaitGroup
	sendWG.Add(1)
	go func() { defer sendWG.Done(); snd.run(sctx) }()
	bar = progressbar.NewOptions(int(cfg.Duration.Seconds()), progressbar.OptionSetWriter(progress),
		progressbar.OptionSetDescription("sending"), progressbar.OptionShowCount(), progressbar.OptionThrottle(500*time.Millisecond))
	sendStart := time.Now()
	prev, prevCPU, prevCPUs := collect(workers, nil), cpu0, cpus0
	tick := time.NewTicker(time.Second)
	for sec := 1; ; sec++ {
		select {
		case <-tick.C:
		case <-sctx.Done():
		}
		lat := map[string]*hdrhistogram.Histogram{}
		cur := collect(workers, lat)
		cpus, cpu := srv.cpu()
		d := cur.sub(prev)
		var deliveries int64
		for _, v := range d.Deliveries {
			deliveries += v
		}
		s := Second{T: sec, Totals: d, Latency: map[string]float64{}, Sent: snd.total(), ServerCPU: cpu - prevCPU, Deliveries: deliveries}
		if len(cpus) > 1 {
			for k := range cpus {
				s.ServerCPUs = append(s.ServerCPUs, cpus[k]-prevCPUs[k])
			}
		}
		if members != nil {
			s.Members = members.current()
		}
		for p, h := range lat {
			s.Latency[p] = float64(h.ValueAtQuantile(99)) / 1000
		}
		res.Seconds = append(res.Seconds, s)
		prev, prevCPU, prevCPUs = cur, cpu, cpus
		_ = bar.Set(sec)
		if sctx.Err() != nil {
			break
		}
	}
	tick.Stop()
	stopSend()
	sendWG.Wait()
	sendSeconds := time.Since(sendStart).Seconds()
	cpus1, cpu1 := srv.cpu()
	res.ServerCPU = cpu1 - cpu0
	res.ServerRSSEnd = srv.rss(func(s *ServerStat) *int64 { return &s.RSSEnd })
	res.Servers = srv.finish(cpus0, cpus1)
	_ = bar.Finish()
	fmt.Fprintf(progress, "\ndraining %v\n", cfg.Drain)
	select {
	case <-time.After(cfg.Drain):
	case <-ctx.Done():
	}
	if members != nil {
		res.Membership = members.finish()
	}

	// Finish: the loss check needs the notices' ts.
	fin, _ := json.Marshal(driverMsg{Type: "finish", Notices: snd.noticeTS()})
	fin = append(fin, '\n')
	hists := map[string]*hdrhistogram.Histogram{}
	for _, wp := range workers {
		if _, err := wp.stdin.Write(fin); err != nil {
			return nil, fmt.Errorf("worker: %w", err)
		}
	}
	for _, wp := range workers {
		select {
		case m := <-wp.final:
			res.Totals.add(m.Totals)
			res.LostProtected += m.Lost
			res.LostViewers += m.LostBy
			res.ExpectedNotices += m.Expected
			for p, enc := range m.Lat {
				h := hists[p]
				if h == nil {
					h = newHist()
					hists[p] = h
				}
				h.Merge(decodeHist(enc))
			}
		case <-time.After(60 * time.Second):
			return nil, fmt.Errorf("a worker did not report")
		}
	}
	for p, h := range hists {
		if h.TotalCount() > 0 {
			res.Latency[p] = quantiles(h)
		}
	}
	res.Sent, res.SendErrors, res.SendErrorCauses = snd.counts()
	var deliveries int64
	for _, v := range res.Totals.Deliveries {
		deliveries += v
	}
	span := sendSeconds + cfg.Drain.Seconds()
	res.DeliveriesPerS = float64(deliveries) / span
	res.FramesPerS = float64(res.Totals.Frames) / span
	res.NotifiesPerVS = float64(res.Totals.Notifies) / span / float64(cfg.Viewers)
	res.PullsPerVS = float64(res.Totals.Pulls) / span / float64(cfg.Viewers)
	if res.ServerCPU > 0 {
		res.DeliveriesPerCPU = float64(deliveries) / res.ServerCPU
	}
	for _, p := range priNames {
		// Each accepted message of priority p could be delivered to every viewer of its room.
		possible := float64(res.Sent[p]) * float64(cfg.Viewers) / float64(cfg.Rooms)
		if possible > 0 {
			res.DroppedShare[p] = 1 - float64(res.Totals.Deliveries[p])/possible
		}
	}
	return res, nil
}
