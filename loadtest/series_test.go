package loadtest

import (
	"bytes"
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

func TestDrift(t *testing.T) {
	secs := []Second{{T: 1, ServerRSS: 50}, {T: 2, ServerRSS: 100}, {T: 3, ServerRSS: 104}, {T: 4, ServerRSS: 0}, {T: 5, ServerRSS: 102}}
	rss := func(s Second) int64 { return s.ServerRSS }
	f := func(secs []Second, warmup time.Duration, want, wantSpread float64) {
		t.Helper()
		got, spread := drift(secs, warmup, rss)
		if math.Abs(got-want) > 1e-9 || math.Abs(spread-wantSpread) > 1e-9 {
			t.Errorf("warmup %v: drift %v spread %v, want %v %v", warmup, got, spread, want, wantSpread)
		}
	}
	f(secs, 0, 54.0/50, 54.0/50)     // short: one-second windows; the warm-up's growth counts without --warmup
	f(secs, time.Second, 0.04, 0.04) // 100 .. 104; the 0 (not read) is left out
	f(secs, 4*time.Second, -1, -1)   // one reading: not measured
	f(secs, time.Minute, -1, -1)     // none
	// Ten minutes: a floor of 100 with a spike to 300 every minute (a burst of workers) is flat;
	// a floor that climbs from 100 to 109 is 9 % of growth.
	var flat, climbing []Second
	for i := 1; i <= 600; i++ {
		v := int64(100)
		if i%60 == 30 {
			v = 300
		}
		flat = append(flat, Second{T: i, ServerRSS: v})
		climbing = append(climbing, Second{T: i, ServerRSS: 100 + int64(i-1)/60})
	}
	f(flat, 0, 0, 2)
	f(climbing, 0, 0.09, 0.09)
	r := &Result{RSSDrift: 0.04, GoroutineDrift: -1}
	if err := r.Check("rss_drift<=0.05"); err != nil || len(r.Failed) != 0 {
		t.Errorf("rss_drift: %v %v", err, r.Failed)
	}
	if err := r.Check("rss_drift<=0.03,goroutines_drift<=0.05"); err != nil || len(r.Failed) != 2 {
		t.Errorf("failing drifts (goroutines not measured): %v %v", err, r.Failed)
	}
}

// Each second of the send phase carries the servers' RSS (from /proc) and the nodes'
// goroutines and sessions (from /metrics), summed; the report plots them.
func TestRunServerSeries(t *testing.T) {
	forEachIO(t, func(t *testing.T, io string) {
		c := newFakeCluster(t, 2)
		pid := os.Getpid()
		res := fakeRun(t, c, Config{ViewerIO: io, Viewers: 6, ServerPIDs: []int{pid, pid}, Duration: 4 * time.Second, Warmup: time.Second,
			Rates: map[string]float64{"normal": 10}}, Options{})
		if len(res.Seconds) < 2 {
			t.Fatalf("%d seconds", len(res.Seconds))
		}
		for _, s := range res.Seconds {
			if s.Goroutines != 201 || s.Sessions != 6 || s.ServerRSS <= 0 || len(s.Members) != 2 {
				t.Errorf("second %d: goroutines %d sessions %d rss %d members %v", s.T, s.Goroutines, s.Sessions, s.ServerRSS, s.Members)
			}
		}
		if res.GoroutineDrift != 0 || res.RSSDrift < 0 || res.RSSDrift > 0.5 {
			t.Errorf("drifts: goroutines %v rss %v", res.GoroutineDrift, res.RSSDrift)
		}
		// The whole RSS per viewer (this process, counted for both "servers") and the tester's
		// own (in-process workers: this process once).
		if self := procRSS(pid); res.RSSPerViewer < float64(self)/6 || res.TesterProcesses != 1 ||
			res.TesterRSSIdle < self/2 || res.TesterRSSPerViewer != float64(res.TesterRSSIdle)/6 {
			t.Errorf("RSS per viewer %v, tester %d B in %d processes (%v per viewer); this process %d B",
				res.RSSPerViewer, res.TesterRSSIdle, res.TesterProcesses, res.TesterRSSPerViewer, self)
		}
		var txt, html bytes.Buffer
		res.Summary(&txt)
		if !strings.Contains(txt.String(), "drift after the 1s warm-up") || !strings.Contains(txt.String(), "load tester: RSS idle") {
			t.Errorf("summary:\n%s", txt.String())
		}
		if err := res.WriteHTML(&html); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"server RSS (summed over the nodes)", "goroutines and sessions"} {
			if !strings.Contains(html.String(), want) {
				t.Errorf("the report lacks the plot %q", want)
			}
		}
	})
}
