package loadtest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestParsePlacementMetrics(t *testing.T) {
	f := func(body string, grains, replicas int64) {
		t.Helper()
		if r := parseNodeMetrics([]byte(body)); r.grains != grains || r.replicas != replicas {
			t.Errorf("%q: grains %d replicas %d, want %d and %d", body, r.grains, r.replicas, grains, replicas)
		}
	}
	f("", -1, -1)
	f("liveroom_rooms 1667\nliveroom_replicas 3334\n", 1667, 3334)
	f("liveroom_rooms_undurable 2\nliveroom_rooms_fenced_total 1\nliveroom_replicas 5\n", -1, 5) // other metrics of the same prefix
	f("# HELP liveroom_rooms Room grains active on this node.\n# TYPE liveroom_rooms gauge\nliveroom_rooms 5e+03\r\n", 5000, -1)
	f("liveroom_rooms NaN\nliveroom_replicas x\n", -1, -1)
}

// The placement's maxima are of the send phase only (the end of the phase read on purpose),
// its end figures the last reading, taken when the sampling finishes.
func TestSamplerPlacementPhases(t *testing.T) {
	var grains atomic.Int64
	grains.Store(50) // during the connect: not a send-phase maximum
	node := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "liveroom_cluster_members 1\nliveroom_rooms %d\nliveroom_replicas %d\n", grains.Load(), 2*grains.Load())
	}))
	defer node.Close()
	s := startNodeSampler(context.Background(), []string{node.URL}, time.Hour) // one reading at the start, then only the ones asked for
	grains.Store(7)
	s.sendPhase(true)
	s.sendPhase(false) // reads 7 within the phase
	grains.Store(3)
	s.finish() // reads 3
	s.finish() // a second finish reads nothing more
	p := s.placement()
	if len(p) != 1 || p[0].GrainsMax != 7 || p[0].ReplicasMax != 14 || p[0].GrainsEnd != 3 || p[0].ReplicasEnd != 6 {
		t.Errorf("placement %+v", p)
	}
}

// A run against three fake nodes reads each node's grains and replicas and reports them
// against the assignment: 8 viewers in 4 rooms, viewer i on node i % 3 in room i % 4, so room
// r has viewers on nodes r % 3 and (r+1) % 3, and nodes 0, 1, 2 hold the viewers of 3, 3 and 2
// rooms.
func TestPlacementReported(t *testing.T) {
	c := newFakeCluster(t, 3)
	res := fakeRun(t, c, Config{Viewers: 8, Rooms: 4, PerWorker: 8, Rates: map[string]float64{"normal": 4, "system": 1}}, Options{})
	p := res.Placement
	if p == nil || len(p.Nodes) != 3 {
		t.Fatalf("placement %+v", p)
	}
	if p.Rooms != 4 || p.ReplicasExpected != 8 {
		t.Errorf("rooms %d, replicas expected %d; want 4 and 8", p.Rooms, p.ReplicasExpected)
	}
	var grains int64
	for k, n := range p.Nodes {
		want := []int{3, 3, 2}[k]
		fg, _ := c.nodes[k].placement() // its sessions are closed now: no replicas
		if n.URL != c.nodes[k].srv.URL || n.ReplicasExpected != want || n.ReplicasMax != int64(want) || n.ReplicasEnd != int64(want) || n.GrainsEnd != int64(fg) || n.GrainsMax != int64(fg) {
			t.Errorf("node %d: %+v; want %d replicas, and the fake node's %d grains", k, n, want, fg)
		}
		grains += n.GrainsEnd
	}
	if grains != 4 {
		t.Errorf("%d grains over the nodes, want the 4 rooms", grains)
	}
	var txt, html bytes.Buffer
	res.Summary(&txt)
	n0 := p.Nodes[0]
	for _, want := range []string{
		"rooms per node (max in the send phase / at the end): grains 4 / 4 of 4 rooms",
		"replicas 8 / 8 (the viewers' assignment: 8)",
		fmt.Sprintf("  %s: grains %d / %d, replicas 3 / 3 (expected 3)", n0.URL, n0.GrainsMax, n0.GrainsEnd),
	} {
		if !strings.Contains(txt.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, txt.String())
		}
	}
	if err := res.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	row := fmt.Sprintf("<tr><td>%s</td><td>%d</td><td>%d</td><td>3</td><td>3</td><td>3</td></tr>", n0.URL, n0.GrainsMax, n0.GrainsEnd)
	if !strings.Contains(html.String(), "<h2>Rooms per node</h2>") || !strings.Contains(html.String(), row) {
		t.Errorf("the HTML report lacks the rooms per node table (row %s)", row)
	}
}

// A liveroomd without the gauges: no placement in the result.
func TestPlacementNotRead(t *testing.T) {
	cfg := Config{Viewers: 2, Rooms: 1}
	cfg.applyDefaults()
	if p := cfg.placement([]NodePlacement{{GrainsMax: -1, GrainsEnd: -1, ReplicasMax: -1, ReplicasEnd: -1}}); p != nil {
		t.Errorf("placement %+v from a node never read", p)
	}
}
