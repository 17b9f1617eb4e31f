package loadtest

import (
	"reflect"
	"testing"
	"time"
)

// Stalled viewers (--slow-mode stop) stop reading after joined; at the end they read what is
// there and record how the server dealt with them: a kick, a dead node's EOF, or nothing.
// They are outside the loss check.
func TestRunSlowStop(t *testing.T) {
	c := newFakeCluster(t, 3)
	cfg := Config{ViewerIO: ViewerIOGoroutine, Viewers: 6, Slow: 0.5, SlowMode: "stop", Prefix: "st", Duration: 3 * time.Second, Drain: 2 * time.Second,
		Rates: map[string]float64{"normal": 10, "system": 4}}
	// Slow: viewers 0, 2, 4 on nodes 0, 2, 1.
	res := fakeRun(t, c, cfg, Options{OnSending: func(time.Time) {
		time.AfterFunc(time.Second, func() {
			if n := c.nodes[0].kick("st-v0", "unresponsive", 4008); n != 1 {
				t.Errorf("kicked %d sessions of st-v0", n)
			}
			c.nodes[1].kill()
		})
	}})
	want := map[string]int64{"kick unresponsive": 1, "eof": 1, "open": 1}
	if !reflect.DeepEqual(res.SlowEnds, want) || res.SlowKicked != 2 || res.SlowOpen != 1 {
		t.Errorf("slow ends %v, kicked %d, open %d; want %v", res.SlowEnds, res.SlowKicked, res.SlowOpen, want)
	}
	if res.LostProtected != 0 || res.ExpectedNotices != 3*res.Sent["system"] {
		t.Errorf("lost %d of %d: only the 3 viewers that read are checked (sent %v)", res.LostProtected, res.ExpectedNotices, res.Sent)
	}
	if res.Totals.AcctErrors != 0 {
		t.Errorf("accounting errors %d", res.Totals.AcctErrors)
	}
	if err := res.Check("slow_open=0"); err != nil || len(res.Failed) != 1 {
		t.Errorf("slow_open budget: %v %v", err, res.Failed)
	}
}

func TestStallsFinish(t *testing.T) {
	s := newStalls()
	for range 2 {
		if !s.enter() {
			t.Fatal("enter refused before the end")
		}
	}
	go func() { <-s.end; s.leave("open"); s.leave("eof") }()
	if got := s.finish(time.Second); !reflect.DeepEqual(got, map[string]int64{"open": 1, "eof": 1}) {
		t.Errorf("finish %v", got)
	}
	if s.enter() {
		t.Error("enter accepted after the end")
	}
	if got := newStalls().finish(time.Second); got != nil {
		t.Errorf("no stalls: %v", got)
	}
	late := newStalls()
	late.enter()
	if got := late.finish(10 * time.Millisecond); !reflect.DeepEqual(got, map[string]int64{"no report": 1}) {
		t.Errorf("a stall that does not report: %v", got)
	}
}

// With --slow-rooms own the slow viewers have rooms of their own, posted to at the same rates.
func TestSlowRooms(t *testing.T) {
	f := func(slowRooms string, slow float64, viewerRooms, postRooms []string) { // rooms of viewers and posts 0..3
		t.Helper()
		c := Config{ViewerIO: ViewerIOGoroutine, Prefix: "p", Rooms: 2, Slow: slow, SlowRooms: slowRooms}
		c.applyDefaults()
		var vr, pr []string
		for i := range 4 {
			vr = append(vr, c.viewerRoom(i))
			pr = append(pr, c.postRoom(i))
		}
		if !reflect.DeepEqual(vr, viewerRooms) || !reflect.DeepEqual(pr, postRooms) {
			t.Errorf("%s %v: viewers %v posts %v (%d rooms)", slowRooms, slow, vr, pr, c.postRooms())
		}
	}
	f("mixed", 0.5, []string{"p-r0", "p-r1", "p-r0", "p-r1"}, []string{"p-r0", "p-r1", "p-r0", "p-r1"})
	f("own", 0.5, []string{"p-s0", "p-r1", "p-s0", "p-r1"}, []string{"p-r0", "p-r1", "p-s0", "p-s1"})
	f("own", 0, []string{"p-r0", "p-r1", "p-r0", "p-r1"}, []string{"p-r0", "p-r1", "p-r0", "p-r1"}) // no slow viewers: no rooms of theirs
	c := Config{ViewerIO: ViewerIOGoroutine, Slow: 0.05, Viewers: 41, SlowMode: "stop"}
	if c.slowEvery() != 20 || c.stalledViewers() != 3 { // 0, 20, 40
		t.Errorf("slow 0.05: every %d, %d stalled", c.slowEvery(), c.stalledViewers())
	}
}
