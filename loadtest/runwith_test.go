package loadtest

import (
	"context"
	"strings"
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

// forEachIO runs f as a subtest in each viewer IO mode (for the tests that apply to both: the
// epoll IO refuses churn, slow viewers and liveness).
func forEachIO(t *testing.T, f func(t *testing.T, io string)) {
	for _, io := range []string{ViewerIOGoroutine, ViewerIOEpoll} {
		t.Run(io, func(t *testing.T) { f(t, io) })
	}
}

// In-process workers (two of them) drive the fake node; OnSending is called once, when the
// send phase begins.
func TestRunWithInProcess(t *testing.T) {
	forEachIO(t, func(t *testing.T, io string) {
		c := newFakeCluster(t, 1)
		var calls atomic.Int32
		var at atomic.Int64
		before := time.Now()
		res := fakeRun(t, c, Config{ViewerIO: io, Viewers: 10, PerWorker: 5, Rates: map[string]float64{"normal": 20, "system": 4}},
			Options{OnSending: func(start time.Time) { calls.Add(1); at.Store(start.UnixNano()) }})
		if calls.Load() != 1 || at.Load() < before.UnixNano() || time.Since(time.Unix(0, at.Load())) < 3*time.Second {
			t.Errorf("OnSending called %d times, at %v (run began %v)", calls.Load(), time.Unix(0, at.Load()), before)
		}
		if res.Totals.FirstJoins != 10 || res.Sent["system"] < 6 || res.ExpectedNotices != 10*res.Sent["system"] || res.LostProtected != 0 {
			t.Errorf("joins %d, sent %v (errors %v, unacked %d), expected %d, lost %d", res.Totals.FirstJoins, res.Sent, res.SendErrorCauses, res.NoticesUnacked, res.ExpectedNotices, res.LostProtected)
		}
		if res.Totals.AcctErrors != 0 || res.Totals.Deliveries["normal"] == 0 || len(res.Seconds) < 2 {
			t.Errorf("accounting errors %d, deliveries %v, %d seconds", res.Totals.AcctErrors, res.Totals.Deliveries, len(res.Seconds))
		}
	})
}

// Notices refused for a second during the send phase are retried until acknowledged: none is
// given up or lost, and the outage shows as the longest acknowledgement gap and in the latency.
func TestRunNoticesThroughOutage(t *testing.T) {
	forEachIO(t, func(t *testing.T, io string) {
		c := newFakeCluster(t, 1)
		var down atomic.Bool
		c.failPost = func(path string, _ int) int {
			if down.Load() && strings.HasSuffix(path, "/notices") {
				return 503
			}
			return 0
		}
		res := fakeRun(t, c, Config{ViewerIO: io, Viewers: 4, Duration: 3 * time.Second, Drain: 4 * time.Second, Rates: map[string]float64{"normal": 10, "system": 5}},
			Options{OnSending: func(time.Time) {
				time.AfterFunc(500*time.Millisecond, func() { down.Store(true) })
				time.AfterFunc(1500*time.Millisecond, func() { down.Store(false) })
			}})
		if res.NoticeRetries == 0 || res.NoticesUnacked != 0 || res.Sent["system"] < 13 || res.SendErrors["system"] == 0 {
			t.Errorf("retries %d unacked %d sent %v errors %v", res.NoticeRetries, res.NoticesUnacked, res.Sent, res.SendErrors)
		}
		if res.LostProtected != 0 || res.ExpectedNotices != 4*res.Sent["system"] {
			t.Errorf("lost %d of %d", res.LostProtected, res.ExpectedNotices)
		}
		if g := res.LongestAckGap["system"]; g < 0.9 || g > 4 { // about 1 s on an idle box
			t.Errorf("longest gap %v s, want about the 1 s outage", g)
		}
		if q := res.AckLatency["system"]; q.Max < 500 || q.Count != res.Sent["system"] {
			t.Errorf("ack latency %+v", q)
		}
		if g := res.LongestAckGap["normal"]; g >= res.LongestAckGap["system"]+1 { // a starved test process stalls both
			t.Errorf("chat gap %v s: the outage was the notices' only", g)
		}
		var peak float64
		for _, s := range res.Seconds {
			peak = max(peak, s.AckP99["system"])
		}
		if peak < 500 {
			t.Errorf("per-second ack p99 peaked at %v ms", peak)
		}
		if err := res.Check("ack_p99<100ms"); err != nil || len(res.Failed) != 1 {
			t.Errorf("ack_p99 budget: %v %v", err, res.Failed)
		}
		if err := res.Check("ack_gap<=5s,ack_gap>=900ms"); err != nil || len(res.Failed) != 0 {
			t.Errorf("ack_gap budget: %v %v", err, res.Failed)
		}
	})
}
