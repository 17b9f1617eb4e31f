package capacity

import (
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

// check is a row of docs/capacity.md "The model against the runs": a run's load and what was
// measured (0: not measured yet, written TODO).
type check struct {
	name    string
	load    Load
	windows float64 // pushed windows or notify rounds per second, all viewers
	deliv   float64 // deliveries per second
	cores   float64 // the servers' CPU, cores
	source  string
}

var checks = []check{
	{"10k, 1 node, push (fit)", Load{Viewers: 10000, Rooms: 1, Rate: 200, Notices: 1, Push: true, Limit: 100,
		PerView: 50 * time.Microsecond, MsgBytes: 100, ViewerNodes: 1}, 19346, 1.895e6, 0.343, "after-1x10k-push"},
	{"10k, 1 node, notify-pull (fit)", Load{Viewers: 10000, Rooms: 1, Rate: 200, Notices: 1, Limit: 100,
		PerView: 50 * time.Microsecond, MsgBytes: 100, ViewerNodes: 1}, 19029, 1.589e6, 1.029, "after-ab2-1x10k"},
	{"10k, 1 node, notify-pull", Load{Viewers: 10000, Rooms: 1, Rate: 200, Notices: 1, Limit: 100,
		PerView: 50 * time.Microsecond, MsgBytes: 100, ViewerNodes: 1}, 15619, 1.281e6, 0.870, "after-1x10k"},
	{"10k, 1 node, notify-pull (2)", Load{Viewers: 10000, Rooms: 1, Rate: 200, Notices: 1, Limit: 100,
		PerView: 50 * time.Microsecond, MsgBytes: 100, ViewerNodes: 1}, 14087, 1.189e6, 0.891, "after-ab-1x10k"},
	{"100k, 6 members, push (run 1)", Load{Viewers: 100000, Rooms: 1, Rate: 200, Notices: 1, Push: true, Limit: 20,
		PerView: 600 * time.Microsecond, MsgBytes: 100, ViewerNodes: 6, Members: 6, MembersServe: true, Store: true},
		0, 0, 57.8 / 60, "benchmarks.md 100k, run 1"},
	{"100k, 6 members, push (run 2)", Load{Viewers: 100000, Rooms: 1, Rate: 200, Notices: 1, Push: true, Limit: 20,
		PerView: 600 * time.Microsecond, MsgBytes: 100, ViewerNodes: 6, Members: 6, MembersServe: true, Store: true},
		0, 0, 55.0 / 60, "benchmarks.md 100k, run 2"},
	{"1M, 3 members + 52 edges, push", million, 0, 0, 0, "make loadtest-million"},
}

// million is scripts/million.sh's load: 1M viewers of one room over 52 edges of 19,231.
// Its edges pace windows at 1 ms a viewer and ping a silent viewer every second sweep of
// --ping-interval 120s.
var million = Load{Viewers: 1e6, Rooms: 1, Rate: 200, Notices: 0.1, Push: true, Limit: 20,
	PerView: time.Millisecond, Ping: 240 * time.Second, MsgBytes: 100, ViewerNodes: 52, Members: 3, Store: true}

// sizes are the rows of docs/capacity.md "Sizing": one room, 200 msg/s and a notice every 10 s,
// windows of 20 messages of 300 bytes every 2 s.
var sizes = []float64{1e6, 10e6, 100e6}

func sizeLoad(n float64) Load {
	return Load{Viewers: n, Rooms: 1, Rate: 200, Notices: 0.1, Push: true, Limit: 20, MsgBytes: 300}
}

const sizeRound = 2 * time.Second

func TestCapacityModel(t *testing.T) {
	doc, err := os.ReadFile("../../docs/capacity.md")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, c := range checks {
		want = append(want, checkRow(c))
	}
	for _, n := range sizes {
		want = append(want, sizeRow(Measured.Size(sizeLoad(n), Node32, sizeRound)))
	}
	want = append(want, millionLines(Measured.Predict(million))...)
	for _, row := range want {
		if !strings.Contains(string(doc), row) {
			t.Errorf("docs/capacity.md lacks this line of the model (recompute the tables with go test -v ./internal/capacity/):\n%s", row)
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Log("the model's lines:\n" + strings.Join(want, "\n"))
	}
}

// The documented figures the model reproduces by hand: if one of these fails, a formula changed.
func TestCapacityFormulas(t *testing.T) {
	f := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-6*math.Abs(want) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	p := Measured.Predict(million)
	perEdge := 1e6 / 52
	f("1M round", p.RoundS, perEdge*1e-3)
	f("1M frames", p.Frames, 1e6/(perEdge*1e-3))
	f("1M deliveries", p.Deliveries, 20*1e6/(perEdge*1e-3))
	one := Measured.Predict(checks[0].load)
	f("10k push frames", one.Frames, 20000)
	f("10k push msgs per frame", one.MsgsPerF, 100)
}

func checkRow(c check) string {
	p := Measured.Predict(c.load)
	cell := func(pred, meas float64, f func(float64) string) string {
		if meas == 0 {
			if c.load.Viewers == 1e6 {
				return f(pred) + " / TODO"
			}
			return f(pred) + " / -"
		}
		return fmt.Sprintf("%s / %s (%+.0f %%)", f(pred), f(meas), 100*(pred-meas)/meas)
	}
	return fmt.Sprintf("| %s | %.2f s | %s | %s | %s | %s |", c.name, p.RoundS,
		cell(p.Frames, c.windows, si), cell(p.Deliveries, c.deliv, si), cell(p.Cores, c.cores, cores), c.source)
}

func sizeRow(s Sizing) string {
	return fmt.Sprintf("| %s | %.0f + 3 | %s (%s) | %.1f us | %.1f | %.1f GB | %.1f Gbit/s | %.2f | %.0f | %s | %.0f s |",
		si(s.Viewers), s.Edges, si(s.PerEdge), s.Bound, float64(s.PerView)/1e3, s.EdgeCores, s.EdgeMem/1e9,
		s.EdgeNIC/1e9, s.GrainCores, s.Cores, si(s.Pred.Deliveries), s.Rejoin)
}

// millionLines are the predicted figures of the 1M run as docs/capacity.md lists them.
func millionLines(p Prediction) []string {
	return []string{
		fmt.Sprintf("- round time %.2f s (19,231 viewers per edge x 1 ms)", p.RoundS),
		fmt.Sprintf("- windows %s/s, deliveries %s/s during the send phase", si(p.Frames), si(p.Deliveries)),
		fmt.Sprintf("- server CPU %.2f cores (%.0f CPU-s in the 300 s send phase): edges %.2f each, the grain's member %.2f, posts %.3f",
			p.Cores, p.Cores*300, p.NodeCores, p.GrainCores, 200.1*Measured.PostUS/1e6),
		fmt.Sprintf("- %s deliveries per server CPU-second", si(p.PerDelivery)),
		fmt.Sprintf("- server RSS %.2f GB: %.0f B per viewer (`rss_pv`, budget 6,144)", p.RSS/1e9, p.RSS/1e6),
		fmt.Sprintf("- kernel %.2f GB of sockets on the servers' side (as much again on the load tester's)", p.Kernel/1e9),
		fmt.Sprintf("- WebSocket payload %.0f MB/s", p.BytesPerS/1e6),
	}
}

// si writes 1234567 as 1.23 M, 86700 as 86.7 k.
func si(v float64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.3g G", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.3g M", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.3g k", v/1e3)
	}
	return fmt.Sprintf("%.3g", v)
}

func cores(v float64) string { return fmt.Sprintf("%.2f", v) }
