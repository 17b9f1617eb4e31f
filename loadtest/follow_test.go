package loadtest

import (
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

func TestNodeOfWS(t *testing.T) {
	c := Config{URL: "http://127.0.0.1:1,http://127.0.0.1:2"}
	c.applyDefaults()
	f := func(ws string, want int) {
		t.Helper()
		if got := c.nodeOfWS([]byte(ws)); got != want {
			t.Errorf("nodeOfWS(%q) = %d, want %d", ws, got, want)
		}
	}
	f("ws://127.0.0.1:2/v1/ws", 1)
	f("wss://127.0.0.1:1/v1/ws", 0)
	f("ws://127.0.0.1:1", 0)
	f("ws://127.0.0.1:3/v1/ws", -2)
	f("http://127.0.0.1:1/v1/ws", -2)
	f("", -2)
}

// After a session ends, a viewer asks /v1/route of its own node first, then the next ones,
// and dials the node named when it is configured; a node it just lost is not where a stale
// route sends it back.
func TestNextNode(t *testing.T) {
	c := newFakeCluster(t, 3)
	cfg := Config{URL: c.urls()}
	cfg.applyDefaults()
	w := &worker{cfg: cfg, router: newRouter(&cfg)}
	w.router.cfg = &w.cfg
	var routeTo atomic.Int32 // the node every route names (-1: a stranger)
	c.route = func(uid string, asked int) string {
		if k := routeTo.Load(); k >= 0 {
			return c.nodes[k].wsURL()
		}
		return "ws://127.0.0.2:9/v1/ws"
	}
	f := func(node, to int, how ending, want int) {
		t.Helper()
		routeTo.Store(int32(to))
		v := &viewer{w: w, node: node, avoid: -1}
		if got := v.nextNode(how); got != want {
			t.Errorf("from node %d, route to %d, ending %d: next %d, want %d", node, to, how, got, want)
		}
	}
	f(0, 2, endClosed, 2)   // a kick: where the route says
	f(0, -1, endClosed, 1)  // a stranger: the next node
	f(1, 1, endLost, 1)     // the route names the lost node: node 1 answered, so it is up
	f(0, 0, endLost, 0)     // the same: node 0 answered itself
	f(2, 2, endChurn, 2)    // churn comes back at once, no route asked
	c.nodes[0].kill()       // node 0 is gone and the directory still names it
	f(0, 0, endLost, 1)     // node 0 does not answer; node 1 does, naming 0: go to 1
	f(0, 0, endDial, 1)     // the same after a failed dial
	f(0, 0, endClosed, 0)   // a close frame: no reason to avoid node 0 (the dial will tell)
	f(0, 2, endShutdown, 2) // a shutdown: where the route says
	if c.nodes[2].routes != 0 {
		t.Errorf("node 2 was asked %d times: the second node asked answered every time", c.nodes[2].routes)
	}
}

// A node dies during the send phase: its viewers resume on the node the route names (or the
// one that answered, while the route still names the dead node) with join since, and lose
// no notice; the resumptions are measured.
func TestRunResumeAfterNodeDies(t *testing.T) {
	forEachIO(t, func(t *testing.T, io string) {
		c := newFakeCluster(t, 3)
		var killedAt atomic.Int64
		c.route = func(uid string, asked int) string {
			if time.Since(time.Unix(0, killedAt.Load())) < 5*time.Second {
				return c.nodes[0].wsURL() // the directory lists the dead node for a while
			}
			return c.nodes[2].wsURL()
		}
		killedAt.Store(time.Now().Add(time.Hour).UnixNano())
		res := fakeRun(t, c, Config{ViewerIO: io, Viewers: 9, Duration: 3 * time.Second, Drain: 2 * time.Second, Rates: map[string]float64{"normal": 10, "system": 5}},
			Options{OnSending: func(time.Time) {
				time.AfterFunc(time.Second, func() { killedAt.Store(time.Now().UnixNano()); c.nodes[0].kill() })
			}})
		// Within 3 s, though the route names the dead node for 5 s (about 0.1 s on an idle box).
		if res.Reconnects != 3 || res.Resume.Count != 3 || res.Resume.Max > 3000 || res.Resume.Max <= 0 {
			t.Errorf("reconnects %d, resume %+v: want the 3 viewers of node 0 back within 3 s", res.Reconnects, res.Resume)
		}
		if res.LostProtected != 0 || res.ExpectedNotices != 9*res.Sent["system"] || res.NoticesUnacked != 0 {
			t.Errorf("lost %d of %d (sent %v, unacked %d)", res.LostProtected, res.ExpectedNotices, res.Sent, res.NoticesUnacked)
		}
		if res.Totals.AcctErrors != 0 || res.Totals.FirstJoins != 9 {
			t.Errorf("accounting errors %d, first joins %d", res.Totals.AcctErrors, res.Totals.FirstJoins)
		}
		if err := res.Check("resume_max<=3s"); err != nil || len(res.Failed) != 0 {
			t.Errorf("resume_max budget: %v %v", err, res.Failed)
		}
	})
}

// How a session ended, from the goroutine IO's read error (the epoll IO passes the close
// frame's code to endingOf itself); a join that timed out is counted.
func TestEnded(t *testing.T) {
	f := func(joined, shutdown bool, err error, want ending) {
		t.Helper()
		v := &wsViewer{viewer: viewer{w: &worker{}, joined: joined, shutdown: shutdown}}
		if got := v.ended(err); got != want {
			t.Errorf("ended(%v, %v) with shutdown %v = %d, want %d", joined, err, shutdown, got, want)
		}
	}
	f(true, false, io.EOF, endLost)
	f(true, false, &websocket.CloseError{Code: websocket.CloseAbnormalClosure}, endLost) // EOF as gorilla reports it
	f(true, false, &websocket.CloseError{Code: 4008}, endClosed)
	f(true, false, &websocket.CloseError{Code: websocket.CloseGoingAway}, endShutdown)
	f(true, true, &websocket.CloseError{Code: websocket.CloseNormalClosure}, endShutdown) // after a shutdown kick
	f(false, false, io.EOF, endDial)
	var c counters
	if got := endingOf(false, false, 0, true, &c); got != endDial || c.joinTimeouts.Load() != 1 {
		t.Errorf("a join that timed out: %d, %d counted", got, c.joinTimeouts.Load())
	}
	if got := endingOf(true, false, 0, true, &c); got != endLost || c.joinTimeouts.Load() != 1 {
		t.Errorf("a joined session's timeout: %d, %d join timeouts", got, c.joinTimeouts.Load())
	}
}

// With next_seq in every frame (wire contract v1.1) the accounting holds frame by frame
// across churn (goroutine IO) and a dead node's resumptions; a server whose next_seq is wrong
// is caught.
func TestRunNextSeq(t *testing.T) {
	forEachIO(t, func(t *testing.T, io string) {
		for _, mode := range []string{"right", "wrong"} {
			c := newFakeCluster(t, 2)
			c.nextSeq = mode
			churn := 6.0
			if io == ViewerIOEpoll {
				churn = 0 // the goroutine IO's only
			}
			res := fakeRun(t, c, Config{ViewerIO: io, Viewers: 8, Churn: churn, Duration: 3 * time.Second, Rates: map[string]float64{"normal": 30, "system": 3}},
				Options{OnSending: func(time.Time) { time.AfterFunc(time.Second, c.nodes[1].kill) }})
			switch {
			case mode == "right" && (res.Totals.AcctErrors != 0 || res.LostProtected != 0 || res.Reconnects != 4):
				t.Errorf("right next_seq: accounting errors %d, lost %d, resumed %d", res.Totals.AcctErrors, res.LostProtected, res.Reconnects)
			case mode == "wrong" && res.Totals.AcctErrors < 8:
				t.Errorf("wrong next_seq: %d accounting errors, want one a frame", res.Totals.AcctErrors)
			case mode == "wrong" && (len(res.Totals.AcctSamples) != maxAcctSamples || !strings.Contains(res.Totals.AcctSamples[0], "next_seq: viewer")):
				t.Errorf("wrong next_seq: samples %q, want %d described", res.Totals.AcctSamples, maxAcctSamples)
			}
		}
	})
}

// A join left unanswered ends the attempt after joinTimeout: the viewer goes elsewhere
// instead of waiting on it for the rest of the run.
func TestJoinTimeout(t *testing.T) {
	forEachIO(t, func(t *testing.T, io string) {
		old := joinTimeout
		joinTimeout = 500 * time.Millisecond
		t.Cleanup(func() { joinTimeout = old })
		c := newFakeCluster(t, 2)
		c.deafJoins = func(node int) bool { return node == 0 }
		c.route = func(string, int) string { return c.nodes[1].wsURL() }
		res := fakeRun(t, c, Config{ViewerIO: io, Viewers: 4, Rates: map[string]float64{"system": 4}}, Options{})
		if res.Totals.FirstJoins != 4 || res.Totals.JoinTimeouts != 2 || res.Totals.DialFails != 2 || res.LostProtected != 0 {
			t.Errorf("first joins %d, join timeouts %d, attempts not joined %d, lost %d", res.Totals.FirstJoins, res.Totals.JoinTimeouts,
				res.Totals.DialFails, res.LostProtected)
		}
	})
}

// A refused join ends its attempt at once; a refused pull lets the next notify pull again.
func TestRefusals(t *testing.T) {
	forEachIO(t, func(t *testing.T, io string) {
		c := newFakeCluster(t, 2)
		var refusals atomic.Int32
		c.refuse = func(node int, op string) bool {
			if node == 0 && op == "join" {
				return true // node 0 never lets anyone join
			}
			return op == "pull" && refusals.Add(1) <= 4 // the first four pulls anywhere are refused
		}
		c.route = func(string, int) string { return c.nodes[1].wsURL() }
		start := time.Now()
		res := fakeRun(t, c, Config{ViewerIO: io, Viewers: 4, Rates: map[string]float64{"system": 4, "normal": 20}}, Options{})
		if res.Totals.FirstJoins != 4 || res.Totals.DialFails != 2 || res.Totals.JoinTimeouts != 0 || time.Since(start) > 15*time.Second {
			t.Errorf("first joins %d, attempts not joined %d (timeouts %d) in %v", res.Totals.FirstJoins, res.Totals.DialFails,
				res.Totals.JoinTimeouts, time.Since(start))
		}
		if res.Totals.ErrorFrames != 6 || res.Totals.ErrorWhy["unavailable"] != 6 || res.LostProtected != 0 || res.ExpectedNotices != 4*res.Sent["system"] {
			t.Errorf("error frames %d, lost %d of %d", res.Totals.ErrorFrames, res.LostProtected, res.ExpectedNotices)
		}
	})
}

// With --liveness, the viewers of a frozen node (open, silent connections) ping, then close
// their sessions and resume elsewhere; the viewers of a live node stay.
func TestLivenessFrozenNode(t *testing.T) {
	c := newFakeCluster(t, 2)
	var frozen atomic.Bool
	c.frozen = func(node int) bool { return node == 0 && frozen.Load() }
	c.route = func(string, int) string { return c.nodes[1].wsURL() }
	var on0, on1 atomic.Int32
	res := fakeRun(t, c, Config{ViewerIO: ViewerIOGoroutine, Viewers: 4, Liveness: time.Second, Duration: 5 * time.Second, Drain: 2 * time.Second,
		Rates: map[string]float64{"system": 4}},
		Options{OnSending: func(time.Time) {
			time.AfterFunc(500*time.Millisecond, func() { frozen.Store(true) })
			time.AfterFunc(4500*time.Millisecond, func() { // ~2 s of silence, then ~1.5 s to come back
				on0.Store(int32(c.nodes[0].sessionCount()))
				on1.Store(int32(c.nodes[1].sessionCount()))
			})
		}})
	if on0.Load() != 0 || on1.Load() != 4 || res.Totals.SilentEnds < 2 || res.Reconnects != res.Totals.SilentEnds {
		t.Errorf("sessions on the frozen node %d, on the live one %d; silent ends %d, resumed %d (%+v)",
			on0.Load(), on1.Load(), res.Totals.SilentEnds, res.Reconnects, res.Resume)
	}
	if res.LostProtected != 0 {
		t.Errorf("lost %d of %d", res.LostProtected, res.ExpectedNotices)
	}
}
