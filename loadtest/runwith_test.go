package loadtest

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// fakeRun runs cfg in-process against c with short phases and returns the result.
func fakeRun(t *testing.T, c *fakeCluster, cfg Config, o Options) *Result {
	t.Helper()
	cfg.URL, cfg.APIKey, cfg.AdminKey = c.urls(), "k", "a"
	if cfg.Duration == 0 {
		cfg.Duration = 2 * time.Second
	}
	if cfg.Drain == 0 {
		cfg.Drain = time.Second
	}
	o.InProcess = true
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := RunWith(ctx, cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// In-process workers (two of them) drive the fake node; OnSending is called once, when the
// send phase begins.
func TestRunWithInProcess(t *testing.T) {
	c := newFakeCluster(t, 1)
	var calls atomic.Int32
	var at atomic.Int64
	before := time.Now()
	res := fakeRun(t, c, Config{Viewers: 10, PerWorker: 5, Rates: map[string]float64{"normal": 20, "system": 4}},
		Options{OnSending: func(start time.Time) { calls.Add(1); at.Store(start.UnixNano()) }})
	if calls.Load() != 1 || at.Load() < before.UnixNano() || time.Since(time.Unix(0, at.Load())) < 3*time.Second {
		t.Errorf("OnSending called %d times, at %v (run began %v)", calls.Load(), time.Unix(0, at.Load()), before)
	}
	if res.Totals.FirstJoins != 10 || res.Sent["system"] < 6 || res.ExpectedNotices != 10*res.Sent["system"] || res.LostProtected != 0 {
		t.Errorf("joins %d, sent %v, expected %d, lost %d", res.Totals.FirstJoins, res.Sent, res.ExpectedNotices, res.LostProtected)
	}
	if res.Totals.AcctErrors != 0 || res.Totals.Deliveries["normal"] == 0 || len(res.Seconds) < 2 {
		t.Errorf("accounting errors %d, deliveries %v, %d seconds", res.Totals.AcctErrors, res.Totals.Deliveries, len(res.Seconds))
	}
}
