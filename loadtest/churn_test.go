package loadtest

import (
	"testing"
	"time"
)

// Churned viewers close their session and come back at once with join since, losing nothing;
// their resumptions are measured apart from the lost sessions'.
func TestRunChurn(t *testing.T) {
	c := newFakeCluster(t, 1)
	res := fakeRun(t, c, Config{ViewerIO: ViewerIOGoroutine, Viewers: 20, Churn: 6, Slow: 0.25, SlowMode: "stop", Duration: 3 * time.Second, Drain: 2 * time.Second,
		Rates: map[string]float64{"normal": 20, "system": 5}}, Options{}) // 6 x 20 / 60: 2 churns a second
	if n := res.Totals.Churns; n < 4 || n > 6 { // at most the send phase's 6, whatever the scheduling
		t.Errorf("%d churns in 3 s, want about 6", n)
	}
	if q := res.ChurnResume; q.Count != res.Totals.Churns || q.P50 > 3000 || q.Max <= 0 { // at once (ms on an idle box)
		t.Errorf("churn resumptions %+v for %d churns", q, res.Totals.Churns)
	}
	if res.Reconnects != 0 || c.nodes[0].resumes != int(res.Totals.Churns) {
		t.Errorf("lost-session resumptions %d, joins with since %d, churns %d", res.Reconnects, c.nodes[0].resumes, res.Totals.Churns)
	}
	if res.LostProtected != 0 || res.ExpectedNotices != 15*res.Sent["system"] || res.Totals.AcctErrors != 0 {
		t.Errorf("lost %d of %d, accounting errors %d", res.LostProtected, res.ExpectedNotices, res.Totals.AcctErrors)
	}
	if res.SlowOpen != 5 { // churn leaves the stalled viewers alone
		t.Errorf("stalled viewers %v", res.SlowEnds)
	}
}
