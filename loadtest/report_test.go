package loadtest

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCheckBudgets(t *testing.T) {
	r := &Result{
		Latency:       map[string]Quantiles{"normal": {P50: 100, P99: 900, Max: 1500}, "system": {P99: 1200}},
		LostProtected: 0, Totals: Totals{AcctErrors: 2}, DeliveriesPerCPU: 2e6,
	}
	f := func(budget string, wantFailed int) {
		t.Helper()
		if err := r.Check(budget); err != nil {
			t.Fatalf("%s: %v", budget, err)
		}
		if len(r.Failed) != wantFailed {
			t.Errorf("%s: failed %v, want %d failures", budget, r.Failed, wantFailed)
		}
	}
	f("lost=0", 0)
	f("p99<1s", 1) // the worst priority counts: system 1200 ms
	f("p99<2s,lost=0,dpc>=1500000", 0)
	f("acct=0", 1)
	f("max<=1500ms,p50<101ms", 0)
	f("ack_p99<1s,ack_gap<=1s", 0) // nothing sent: no notice was due
	r.Config.Rates = map[string]float64{"system": 1}
	f("ack_p99<1s", 1) // notices were due and none was acknowledged
	r.AckLatency, r.LongestAckGap = map[string]Quantiles{"system": {P99: 800}}, map[string]float64{"system": 2.5}
	f("ack_p99<1s,ack_gap<=3s", 0)
	f("ack_p99<500ms,ack_gap<=2s", 2)
	for _, bad := range []string{"p99", "nope<1", "p99<fast", "lost=x"} {
		if err := r.Check(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestReportRenders(t *testing.T) {
	r := &Result{Config: Config{Viewers: 10, Rooms: 1}, Latency: map[string]Quantiles{"normal": {Count: 5, P99: 12}},
		Seconds: []Second{{T: 1, Latency: map[string]float64{"normal": 10}, Deliveries: 50}, {T: 2, Deliveries: 70}}}
	var txt, html bytes.Buffer
	r.Summary(&txt)
	if !strings.Contains(txt.String(), "latency normal") {
		t.Errorf("summary: %s", txt.String())
	}
	if err := r.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html.String(), "data:image/png;base64,") || strings.Contains(html.String(), "http") {
		t.Error("the HTML report is not self-contained PNG plots")
	}
	dir := t.TempDir()
	if err := r.WritePlots(dir, "run"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"latency", "deliveries", "pulls", "cpu", "rss", "goroutines"} {
		b, err := os.ReadFile(filepath.Join(dir, "run-"+name+".png"))
		if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
			t.Errorf("plot %s: %v (%d bytes)", name, err, len(b))
		}
	}
}

func TestConfigValidation(t *testing.T) {
	f := func(mod func(*Config), ok bool) {
		t.Helper()
		c := Config{APIKey: "k", AdminKey: "a"}
		mod(&c)
		c.applyDefaults()
		if err := c.validate(); (err == nil) != ok {
			t.Errorf("%+v: err %v", c, err)
		}
	}
	f(func(*Config) {}, true)
	f(func(c *Config) { c.URL = "http://10.0.0.1:8080" }, false)  // never leave the machine
	f(func(c *Config) { c.URL = "http://localhost:8080" }, false) // an IP is required
	f(func(c *Config) { c.APIKey = "" }, false)
	f(func(c *Config) { c.Rates = map[string]float64{"urgent": 1} }, false)
	f(func(c *Config) { c.Slow = 2 }, false)
	f(func(c *Config) { c.ViewerIO = "threads" }, false)
	f(func(c *Config) {
		c.ViewerIO = ViewerIOEpoll
		c.Push, c.RoomSizes, c.Rooms, c.CheckStamps = true, "zipf:1", 5, true
	}, true)
	f(func(c *Config) { c.ViewerIO = ViewerIOEpoll; c.CounterPosts = 1 }, true)
}

// The epoll IO refuses, by name, what it does not do.
func TestEpollRefuses(t *testing.T) {
	f := func(mod func(*Config), want string) {
		t.Helper()
		c := Config{APIKey: "k", AdminKey: "a", ViewerIO: ViewerIOEpoll}
		mod(&c)
		c.applyDefaults()
		if err := c.validate(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v", want, err)
		}
		c.ViewerIO = ViewerIOGoroutine
		if err := c.validate(); err != nil {
			t.Errorf("%s with goroutines: %v", want, err)
		}
	}
	f(func(c *Config) { c.Churn = 0.1 }, "does not support --churn")
	f(func(c *Config) { c.Slow, c.SlowMode = 0.1, "late" }, "does not support --slow")
	f(func(c *Config) { c.Liveness = time.Second }, "does not support --liveness")
	f(func(c *Config) { c.Churn, c.Liveness = 0.1, time.Second }, "does not support --churn, --liveness")
}

func TestClusterReport(t *testing.T) {
	r := &Result{Config: Config{Viewers: 10, Rooms: 1}, ServerCPU: 3, DeliveriesPerCPU: 100,
		Servers: []ServerStat{{PID: 11, URL: "http://127.0.0.1:1", Viewers: 5, CPU: 1}, {PID: 12, URL: "http://127.0.0.1:2", Viewers: 5, CPU: 2, Exited: true}},
		Seconds: []Second{{T: 1, ServerCPU: 3, ServerCPUs: []float64{1, 2}}, {T: 2, ServerCPU: 1}}}
	var txt, html bytes.Buffer
	r.Summary(&txt)
	for _, want := range []string{"2 servers (summed): 3.0 CPU-s", "pid 11 http://127.0.0.1:1, 5 viewers: 1.0 CPU-s", "pid 12 http://127.0.0.1:2, 5 viewers: 2.0 CPU-s", "EXITED"} {
		if !strings.Contains(txt.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, txt.String())
		}
	}
	if err := r.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html.String(), "pid 12 http://127.0.0.1:2") {
		t.Error("the HTML report lacks the per-server lines")
	}
	f := func(budget string, wantFailed int) {
		t.Helper()
		if err := r.Check(budget); err != nil || len(r.Failed) != wantFailed {
			t.Errorf("%s: err %v, failed %v, want %d failures", budget, err, r.Failed, wantFailed)
		}
	}
	f("exited=0", 1)
	f("exited<=1,dpc>=100", 0)
}
