package loadtest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Posts are spread over the nodes (post n through node n % nodes) and failures are counted by
// cause.
func TestSendersSpreadAndCauses(t *testing.T) {
	var mu sync.Mutex
	hits := make([]int, 2)
	node := func(k int, status int) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			hits[k]++
			mu.Unlock()
			if !strings.HasSuffix(r.URL.Path, "/messages") && !strings.HasSuffix(r.URL.Path, "/notices") {
				t.Errorf("path %s", r.URL.Path)
			}
			w.WriteHeader(status)
			_, _ = w.Write([]byte(`{"ts":1}`))
		}))
	}
	ok, limited := node(0, 200), node(1, 429)
	defer ok.Close()
	defer limited.Close()
	cfg := Config{URL: ok.URL + "," + limited.URL, APIKey: "k", AdminKey: "a"}
	cfg.applyDefaults()
	s := newSenders(cfg)
	deadline := time.Now().Add(5 * time.Second)
	for n := range 4 {
		if ts, cause := s.post("normal", n, n, deadline); cause == "" {
			s.acked("normal", "r", ts, time.Now())
		} else {
			s.count("normal", cause)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.postNotice(ctx, make(chan struct{}, 1), 0) // node 0 acknowledges it at once
	s.count("normal", "busy")
	sent, errs, causes := s.counts()
	if hits[0] != 3 || hits[1] != 2 {
		t.Errorf("hits %v, want 3 on node 0 (posts 0, 2 and the notice) and 2 on node 1", hits)
	}
	if sent["normal"] != 2 || sent["system"] != 1 || errs["normal"] != 3 {
		t.Errorf("sent %v errors %v", sent, errs)
	}
	if causes["normal: status 429"] != 2 || causes["normal: busy"] != 1 || len(causes) != 2 {
		t.Errorf("causes %v", causes)
	}
	if ts := s.noticeTS()[cfg.room(0)]; len(ts) != 1 || ts[0] != 1 {
		t.Errorf("notice ts %v", ts)
	}
}

// A notice is retried with its cmid, on the next node each time, until a 200: the ts of the
// acknowledgement (the original one for a "dup") enters the loss check, the latency counts
// from the first attempt, the failed attempts count as errors and retries.
func TestNoticeRetried(t *testing.T) {
	c := newFakeCluster(t, 2)
	c.failPost = func(path string, attempt int) int {
		if attempt <= 2 {
			return 503
		}
		return 0
	}
	cfg := Config{URL: c.urls(), APIKey: "k", AdminKey: "a", Prefix: "p"}
	cfg.applyDefaults()
	s := newSenders(cfg)
	s.acks.begin(time.Now(), map[string]float64{"system": 1})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.postNotice(ctx, make(chan struct{}, 1), 3)
	s.acks.end(time.Now())
	rm := c.rooms[cfg.room(3)]
	if len(rm.msgs) != 1 || rm.msgs[0].cmid != "p-n3" || c.noticeCnt["p-n3"] != 3 {
		t.Fatalf("room %+v, attempts %v", rm, c.noticeCnt)
	}
	if ts := s.noticeTS()[cfg.room(3)]; len(ts) != 1 || ts[0] != rm.msgs[0].ts {
		t.Errorf("acknowledged ts %v, want %d", ts, rm.msgs[0].ts)
	}
	retries, unacked := s.noticeCounts()
	_, errs, causes := s.counts()
	if retries != 2 || unacked != 0 || errs["system"] != 2 || causes["system: status 503"] != 2 {
		t.Errorf("retries %d unacked %d errors %v causes %v", retries, unacked, errs, causes)
	}
	// Attempts 0, 1, 2 went to nodes 1, 0, 1 (post 3 starts on node 3 % 2).
	if c.nodes[0].posts != 1 || c.nodes[1].posts != 2 {
		t.Errorf("posts by node %d %d, want 1 2", c.nodes[0].posts, c.nodes[1].posts)
	}
	lat, gaps := s.acks.summary()
	if q := lat["system"]; q.Count != 1 || q.Max < 290 { // pauses of 100 and 200 ms
		t.Errorf("ack latency %+v, want the retries in it", q)
	}
	if gaps["system"] <= 0.29 {
		t.Errorf("gap %v", gaps)
	}

	// A duplicate answer carries the original ts; a refusal for good is given up at once.
	if ts, cause := s.post("system", 3, 0, time.Now().Add(time.Second)); cause != "" || ts != rm.msgs[0].ts {
		t.Errorf("dup: ts %d cause %q, want %d", ts, cause, rm.msgs[0].ts)
	}
	c.failPost = func(string, int) int { return 403 }
	s.postNotice(ctx, make(chan struct{}, 1), 4)
	if retries, unacked := s.noticeCounts(); retries != 2 || unacked != 1 {
		t.Errorf("after a 403: retries %d unacked %d", retries, unacked)
	}
}

// A notice that is never acknowledged is retried until its context ends, then given up.
func TestNoticeGivenUp(t *testing.T) {
	c := newFakeCluster(t, 1)
	c.failPost = func(string, int) int { return 503 }
	cfg := Config{URL: c.urls(), APIKey: "k", AdminKey: "a", Prefix: "p"}
	cfg.applyDefaults()
	s := newSenders(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	start := time.Now()
	s.postNotice(ctx, make(chan struct{}, 1), 0)
	retries, unacked := s.noticeCounts()
	if time.Since(start) > 2*time.Second || unacked != 1 || retries < 2 || len(s.noticeTS()) != 0 {
		t.Errorf("after %v: retries %d unacked %d notices %v", time.Since(start), retries, unacked, s.noticeTS())
	}
}

// The longest gap is the longest stretch of the send phase without an acknowledgement,
// including its start and its end; acknowledgements after the phase do not count.
func TestAckGap(t *testing.T) {
	a := newAcks()
	t0 := time.Unix(1000, 0)
	a.begin(t0, map[string]float64{"system": 1, "normal": 1, "low": 0})
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	a.record(3, at(0.5), at(1)) // gap 1 s from the start
	a.record(3, at(1), at(5))   // 4 s
	a.record(3, at(5), at(6))   // 1 s
	a.record(1, at(0), at(0.1)) // normal: then nothing until the end at 10 s
	a.end(at(10))               // system: 4 s from the last
	a.record(3, at(9), at(30))  // after the end: no gap
	lat, gaps := a.summary()
	if gaps["system"] != 4 || gaps["normal"] != 9.9 || len(gaps) != 2 {
		t.Errorf("gaps %v", gaps)
	}
	if lat["system"].Count != 4 || lat["system"].Max < 20000 {
		t.Errorf("latency %+v", lat["system"])
	}
	if sec := a.takeSecond(); sec["system"] < 20000 || sec["normal"] < 99 {
		t.Errorf("second %v", sec)
	}
	if sec := a.takeSecond(); sec != nil {
		t.Errorf("second again %v", sec)
	}
}

// With --notice-retry=false a notice is one attempt without a cmid, as chat is.
func TestNoticeRetryOff(t *testing.T) {
	forEachIO(t, func(t *testing.T, io string) {
		c := newFakeCluster(t, 1)
		c.failPost = func(_ string, attempt int) int {
			if attempt > 0 {
				t.Errorf("a notice carried a cmid")
			}
			return 0
		}
		res := fakeRun(t, c, Config{ViewerIO: io, Viewers: 2, NoticeRetryOff: true, Rates: map[string]float64{"system": 5}}, Options{})
		if res.Sent["system"] < 7 || res.NoticeRetries != 0 || res.LostProtected != 0 || res.AckLatency["system"].Count != res.Sent["system"] {
			t.Errorf("sent %v, retries %d, lost %d, acks %+v", res.Sent, res.NoticeRetries, res.LostProtected, res.AckLatency)
		}
	})
}
