package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/liveroom/liveroom/ring"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI("/metrics")
	m.Handler()(&ctx)
	if ctx.Response.StatusCode() != 200 {
		t.Fatalf("status %d", ctx.Response.StatusCode())
	}
	if ct := string(ctx.Response.Header.ContentType()); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("content type %q", ct)
	}
	return string(ctx.Response.Body())
}

func TestHandlerServesTextFormat(t *testing.T) {
	m := New()
	m.Accepted.With(ring.Normal).Add(3)
	m.Accepted.Inc(ring.System)
	m.Accepted.Inc(ring.Priority(9)) // out of range: not counted, no panic
	m.RateLimited.Inc(ring.Low)
	m.Evicted.With(ring.Low).Add(2)
	m.DroppedInPull.Add(4)
	m.NotifiesSent.Add(5)
	m.NotifiesMerged.Add(6)
	m.Pulls.Add(7)
	m.Kicks.WithLabelValues("unresponsive").Inc()
	m.Sessions.Set(8)
	m.Rooms.Set(9)
	m.Replicas.Set(11)
	m.ConnRejected.WithLabelValues("ip_rate").Add(10)
	body := scrape(t, m)
	for _, want := range []string{
		`liveroom_accepted_total{pri="normal"} 3`, `liveroom_accepted_total{pri="system"} 1`, `liveroom_accepted_total{pri="high"} 0`,
		`liveroom_rate_limited_total{pri="low"} 1`, `liveroom_evicted_total{pri="low"} 2`, `liveroom_build_info{goversion="go`,
		"liveroom_dropped_in_pull_total 4", "liveroom_notifies_sent_total 5", "liveroom_notifies_merged_total 6",
		"liveroom_pulls_total 7", `liveroom_kicks_total{reason="unresponsive"} 1`, "liveroom_sessions 8",
		"liveroom_rooms 9", "liveroom_replicas 11", `liveroom_conn_rejected_total{why="ip_rate"} 10`, "go_goroutines", "# HELP liveroom_accepted_total",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics output lacks %q", want)
		}
	}
}

// TestOwnRegistry: two Metrics do not share counters, and nothing lands on the global registry.
func TestOwnRegistry(t *testing.T) {
	a, b := New(), New()
	a.Accepted.With(ring.Normal).Add(5)
	if body := scrape(t, b); !strings.Contains(body, `liveroom_accepted_total{pri="normal"} 0`) {
		t.Error("a second Metrics sees the first one's counts")
	}
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "liveroom_") {
			t.Errorf("%s is on the global registry", mf.GetName())
		}
	}
}
