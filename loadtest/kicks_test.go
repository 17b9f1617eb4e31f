package loadtest

import (
	"reflect"
	"sync/atomic"
	"testing"
	"time"
)

func TestKicksByReason(t *testing.T) {
	var c counters
	for _, f := range []string{
		`{"op":"kick","reason":"unresponsive"}`, `{"op":"kick","reason":"unresponsive"}`,
		`{"op":"kick","room":"r","reason":"banned"}`, `{"op":"kick","reason":"replaced"}`,
		`{"op":"kick","reason":"something new"}`,
	} {
		c.countKick([]byte(f))
	}
	got := c.totals()
	want := map[string]int64{"unresponsive": 2, "banned": 1, "replaced": 1, "other": 1}
	if got.Kicks != 5 || !reflect.DeepEqual(got.KickWhy, want) {
		t.Fatalf("kicks %d by reason %v, want 5 %v", got.Kicks, got.KickWhy, want)
	}
	var sum Totals
	sum.add(got)
	sum.add(got)
	if sum.KickWhy["unresponsive"] != 4 || sum.KickWhy["other"] != 2 {
		t.Fatalf("summed %v", sum.KickWhy)
	}
	var none counters
	if none.totals().KickWhy != nil {
		t.Fatal("no kicks, yet reasons")
	}
}

// Kicked viewers count the kick by reason and come back with join since, losing nothing: one
// kicked (close 4000) resumes where the route says, one kicked for a shutdown (close 1001,
// retry_ms) after a random part of retry_ms; both IO modes answer the server's pings.
func TestRunKickedViewersReturn(t *testing.T) {
	forEachIO(t, func(t *testing.T, io string) {
		c := newFakeCluster(t, 2)
		c.pingJoin = true
		c.route = func(string, int) string { return c.nodes[1].wsURL() }
		var kicked atomic.Int32
		res := fakeRun(t, c, Config{ViewerIO: io, Viewers: 4, Prefix: "kk", Duration: 3 * time.Second, Drain: 2 * time.Second,
			Rates: map[string]float64{"normal": 10, "system": 5}},
			Options{OnSending: func(time.Time) {
				time.AfterFunc(time.Second, func() {
					kicked.Add(int32(c.nodes[0].kick("kk-v0", "kicked", 4000)))
					kicked.Add(int32(c.nodes[0].kickWith("kk-v2", "shutdown", 1001, `,"retry_ms":500`)))
				})
			}})
		if kicked.Load() != 2 || res.Totals.Kicks != 2 || res.Totals.KickWhy["kicked"] != 1 || res.Totals.KickWhy["shutdown"] != 1 {
			t.Errorf("kicked %d sessions; counted %d by reason %v", kicked.Load(), res.Totals.Kicks, res.Totals.KickWhy)
		}
		if res.Reconnects != 2 || res.Resume.Count != 2 || res.Resume.Max > 3000 || c.nodes[1].resumes != 2 {
			t.Errorf("reconnects %d, resume %+v, joins with since on node 1: %d; want both kicked back on node 1", res.Reconnects, res.Resume, c.nodes[1].resumes)
		}
		if res.LostProtected != 0 || res.ExpectedNotices != 4*res.Sent["system"] || res.Totals.AcctErrors != 0 {
			t.Errorf("lost %d of %d, accounting errors %d", res.LostProtected, res.ExpectedNotices, res.Totals.AcctErrors)
		}
		c.mu.Lock()
		pongs := c.nodes[0].pongs + c.nodes[1].pongs
		c.mu.Unlock()
		if pongs != 6 { // a ping after each of the 6 joins
			t.Errorf("%d pongs for 6 joins", pongs)
		}
	})
}
