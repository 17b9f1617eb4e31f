//go:build !race

package transport_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/liveroom/liveroom/internal/testwait"
)

func scrapeMetrics(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// After some traffic /metrics has the latency histograms, the pri label and build_info; and
// every query of the Grafana dashboard names a metric this scrape has.
func TestMetricsHistogramsAndDashboard(t *testing.T) {
	s := startServer(t, nil, nil)
	c := s.dial(t, "uid=alice")
	c.next(t, "hello", 2*time.Second)
	j := c.call(t, map[string]any{"op": "join", "room": "m1"})
	for i := range 3 {
		if code, _ := s.api(t, "POST", "/v1/rooms/m1/messages", apiKey, fmt.Sprintf(`{"uid":"bob","kind":"chat","body":%d}`, i)); code != 200 {
			t.Fatalf("post: %d", code)
		}
	}
	if code, _ := s.api(t, "POST", "/v1/rooms/m1/notices", adminKey, `{"body":{"t":"n"}}`); code != 200 {
		t.Fatalf("notice: %d", code)
	}
	c.next(t, "notify", 2*time.Second)
	c.call(t, map[string]any{"op": "pull", "room": "m1", "since": num(j["ts"])})
	testwait.For(t, 5*time.Second, "a delivery lag sample", func() bool {
		return testwait.Metric(t, s.addr, "liveroom_delivery_lag_seconds_count") > 0
	})
	// A refused upgrade and a kick: their labelled counters appear in the scrape.
	if _, err := s.tryDial("token=not-a-jwt"); err == nil {
		t.Fatal("an upgrade with a bad token was accepted")
	}
	if code, _ := s.api(t, "DELETE", "/v1/rooms/m1/viewers/alice", apiKey, ""); code != 200 {
		t.Fatalf("kick: %d", code)
	}
	testwait.For(t, 5*time.Second, "the kick counted", func() bool { return testwait.Metric(t, s.addr, "liveroom_kicks_total") > 0 })
	body := scrapeMetrics(t, s.addr)
	for _, want := range []string{
		`liveroom_accepted_total{pri="normal"} 3`, `liveroom_accepted_total{pri="system"} 1`,
		`liveroom_build_info{goversion="go`, `liveroom_round_seconds_bucket{le="`,
		`liveroom_store_seconds_count{op="load_room"} `, `liveroom_delivery_lag_seconds_bucket{le="0.1"} `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	for _, h := range []string{"liveroom_round_seconds_count", "liveroom_grain_request_seconds_count", "liveroom_store_seconds_count"} {
		if testwait.Metric(t, s.addr, h) < 1 {
			t.Errorf("%s is 0 after traffic", h)
		}
	}
	// The lag of a message delivered on one node at once is small: under a second here.
	if sum, n := testwait.Metric(t, s.addr, "liveroom_delivery_lag_seconds_sum"), testwait.Metric(t, s.addr, "liveroom_delivery_lag_seconds_count"); sum/n > 1 {
		t.Errorf("mean delivery lag %.3f s", sum/n)
	}

	families := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^# TYPE (\S+) (\S+)`).FindAllStringSubmatch(body, -1) {
		families[m[1]] = true
		if m[2] == "histogram" {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				families[m[1]+suffix] = true
			}
		}
	}
	raw, err := os.ReadFile("../deploy/grafana/liveroom.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	name := regexp.MustCompile(`\b(liveroom_[a-z_]+|go_[a-z_]+|process_[a-z_]+)\b`)
	queries := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			queries++
			names := name.FindAllString(tg.Expr, -1)
			if len(names) == 0 {
				t.Errorf("panel %q: query %q names no metric", p.Title, tg.Expr)
			}
			for _, n := range names {
				if !families[n] {
					t.Errorf("panel %q: %s is not exported (query %q)", p.Title, n, tg.Expr)
				}
			}
		}
	}
	if queries < 10 {
		t.Errorf("the dashboard has %d queries", queries)
	}
}
