//go:build !race

// End-to-end tests against a real in-process node: what the actors do behind the sessions
// (the notify retries and the unresponsive kick, the grain's rings and notice de-dup, the
// replica's pushed windows, the room-open limit, bans on the replica). They start a protoactor
// cluster member, whose internals race under -race (DESIGN.md section 4): `make test` runs
// them in its non-race pass. The session tests run over the in-memory engine (e2e_test.go),
// with -race; the main path and the leak check run here too, against the real actors.

package transport_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/liveroom/liveroom/actors"
	"github.com/liveroom/liveroom/internal/testwait"
	"github.com/liveroom/liveroom/transport"
)

// startServer serves a server over a real node (one-member cluster, in-memory store).
func startServer(t testing.TB, tcfg func(*transport.Config), acfg func(*actors.Config)) *testServer {
	t.Helper()
	ac := actors.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), DispatchInterval: 10 * time.Millisecond}
	if acfg != nil {
		acfg(&ac)
	}
	node, err := actors.NewNode(ac)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // after the server's shutdown (cleanups run last first)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = node.Shutdown(ctx)
	})
	s := serve(t, tcfg, node, node.Metrics())
	s.node = node
	return s
}

func TestHelloJoinNotifyPullNode(t *testing.T) { helloJoinNotifyPull(t, startServer(t, nil, nil)) }

func TestNoGoroutineGrowthNode(t *testing.T) { noGoroutineGrowth(t, startServer(t, nil, nil)) }

func TestRetryThenKickUnresponsive(t *testing.T) {
	s := startServer(t, nil, func(c *actors.Config) { c.NotifyRetry = 200 * time.Millisecond })
	c := s.dial(t, "uid=sleepy")
	c.call(t, map[string]any{"op": "join", "room": "r3"})
	s.api(t, "POST", "/v1/rooms/r3/messages", apiKey, `{"uid":"bob","kind":"chat","body":1}`)
	for i := 0; i < 3; i++ {
		c.next(t, "notify", 2*time.Second)
	}
	k := c.next(t, "kick", 2*time.Second)
	if k["reason"] != "unresponsive" {
		t.Fatalf("kick = %v", k)
	}
	if code := c.waitClosed(t, 2*time.Second); code != transport.CloseUnresponsive {
		t.Fatalf("close code %d, want 4008", code)
	}
}

func TestSystemNoticesSurviveFlood(t *testing.T) {
	s := startServer(t, nil, nil)
	code, _ := s.api(t, "PUT", "/v1/rooms/flood/config", adminKey, `{"rate":{"normal":100000},"ring":{"normal":50}}`)
	if code != 200 {
		t.Fatal(code)
	}
	c := s.dial(t, "uid=viewer")
	j := c.call(t, map[string]any{"op": "join", "room": "flood"})
	var notices []int64
	for i := 0; i < 600; i++ {
		if i%100 == 50 {
			_, st := s.api(t, "POST", "/v1/rooms/flood/notices", adminKey, fmt.Sprintf(`{"body":{"n":%d}}`, i))
			notices = append(notices, num(st["seq"]))
			continue
		}
		if code, b := s.api(t, "POST", "/v1/rooms/flood/messages", apiKey, `{"uid":"spam","kind":"chat","body":1}`); code != 200 {
			t.Fatalf("post: %d %v", code, b)
		}
	}
	// Pull with a small limit: every notice arrives, and msgs + dropped accounts every seq.
	since, seen, accounted := num(j["ts"]), map[int64]bool{}, int64(0)
	for {
		m := c.call(t, map[string]any{"op": "pull", "room": "flood", "since": since, "limit": 4})
		msgs, _ := m["msgs"].([]any)
		for _, x := range msgs {
			mm := x.(map[string]any)
			if mm["pri"] == "system" {
				seen[num(mm["seq"])] = true
			}
		}
		accounted += int64(len(msgs)) + num(m["dropped"])
		if num(m["next"]) == since {
			break
		}
		since = num(m["next"])
	}
	for _, seq := range notices {
		if !seen[seq] {
			t.Errorf("system notice seq %d lost", seq)
		}
	}
	if accounted != 600 {
		t.Errorf("accounted %d seqs, want 600", accounted)
	}
}

// A join with "push":true gets each round's window as a msgs frame without id, with the same
// accounting as a pull, and no notify.
func TestPushMode(t *testing.T) {
	s := startServer(t, nil, nil)
	c := s.dial(t, "uid=pushy")
	j := c.call(t, map[string]any{"op": "join", "room": "push", "push": true})
	for i := 0; i < 3; i++ {
		s.api(t, "POST", "/v1/rooms/push/messages", apiKey, fmt.Sprintf(`{"uid":"bob","kind":"chat","body":%d}`, i))
	}
	got, since := int64(0), num(j["ts"])
	for got < 3 {
		m := c.next(t, "msgs", 2*time.Second)
		if _, hasID := m["id"]; hasID {
			t.Fatalf("pushed window has an id: %v", m)
		}
		msgs, _ := m["msgs"].([]any)
		got += int64(len(msgs)) + num(m["dropped"])
		if len(msgs) > 0 && num(msgs[0].(map[string]any)["ts"]) <= since {
			t.Fatalf("window repeats what was pushed before: %v", m)
		}
		since = num(m["next"])
	}
	if got != 3 {
		t.Fatalf("accounted %d, want 3", got)
	}
	c.none(t, "notify", 100*time.Millisecond)
}

// TestNoticeCMID: an admin retrying a notice with the same cmid (after a timeout or a
// failover) gets the first notice's ts and seq back, and the room holds it once.
func TestNoticeCMID(t *testing.T) {
	s := startServer(t, nil, nil)
	code, first := s.api(t, "POST", "/v1/rooms/nc/notices", adminKey, `{"body":"hi","cmid":"n-1"}`)
	if code != 200 || first["dup"] != nil {
		t.Fatalf("first notice: %d %v", code, first)
	}
	code, again := s.api(t, "POST", "/v1/rooms/nc/notices", adminKey, `{"body":"hi","cmid":"n-1"}`)
	if code != 200 || again["dup"] != true || num(again["seq"]) != num(first["seq"]) || num(again["ts"]) != num(first["ts"]) {
		t.Fatalf("retried notice: %d %v, first %v", code, again, first)
	}
	code, other := s.api(t, "POST", "/v1/rooms/nc/notices", adminKey, `{"body":"hi","cmid":"n-2"}`)
	if code != 200 || num(other["seq"]) != num(first["seq"])+1 {
		t.Fatalf("another cmid: %d %v", code, other)
	}
	if code, w := s.api(t, "GET", "/v1/rooms/nc/messages?since=0", apiKey, ""); code != 200 || len(w["msgs"].([]any)) != 2 {
		t.Fatalf("room holds %v", w)
	}
	if code, b := s.api(t, "POST", "/v1/notices", adminKey, `{"body":"hi","cmid":"n-3"}`); code != 400 {
		t.Fatalf("cmid on /v1/notices: %d %v", code, b)
	}
}

// A viewer cannot create rooms without bound: a token opening rooms through the HTTP pull is
// refused (429) after its burst, and the rooms it touched are forgotten when they go idle.
func TestViewerCannotOpenRoomsWithoutBound(t *testing.T) {
	s := startServer(t, func(c *transport.Config) { c.HTTPRatePerUID, c.HTTPRatePerIP = 1000, 1000 }, func(c *actors.Config) {
		c.RoomOpenBurst, c.RoomOpenRate = 5, 0.1
		c.ReplicaIdle, c.RoomIdle = 100*time.Millisecond, 200*time.Millisecond
	})
	tok, err := s.srv.IssueToken("prober", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var ok, limited int
	for i := range 50 {
		code, body := s.api(t, "GET", fmt.Sprintf("/v1/rooms/probe-%d/messages?token=%s", i, tok), "", "")
		switch code {
		case 200:
			ok++
		case 429:
			limited++
			if e, _ := body["error"].(map[string]any); e["code"] != "rate_limited" {
				t.Fatalf("refusal %v", body)
			}
		default:
			t.Fatalf("probe %d: %d %v", i, code, body)
		}
	}
	if ok != 5 || limited != 45 {
		t.Fatalf("50 new rooms: %d opened, %d refused; want 5 and 45", ok, limited)
	}
	// Another viewer is not affected, nor is the backend.
	other, _ := s.srv.IssueToken("someone", time.Hour)
	if code, body := s.api(t, "GET", "/v1/rooms/probe-x/messages?token="+other, "", ""); code != 200 {
		t.Fatalf("another viewer: %d %v", code, body)
	}
	if code, body := s.api(t, "GET", "/v1/rooms/probe-y/messages", apiKey, ""); code != 200 {
		t.Fatalf("the backend: %d %v", code, body)
	}
	testwait.For(t, 10*time.Second, "the probed rooms to passivate", func() bool {
		return testutilValue(s.node.Metrics().Rooms) == 0
	})
}

// A banned viewer can no longer read the room over HTTP: pull and long-poll are refused.
func TestBannedViewerCannotReadOverHTTP(t *testing.T) {
	s := startServer(t, nil, nil)
	tok, _ := s.srv.IssueToken("troll", time.Hour)
	s.api(t, "POST", "/v1/rooms/b/messages", apiKey, `{"uid":"bob","kind":"chat","body":1}`)
	if code, _ := s.api(t, "GET", "/v1/rooms/b/messages?token="+tok, "", ""); code != 200 {
		t.Fatalf("before the ban: %d", code)
	}
	if code, _ := s.api(t, "PUT", "/v1/rooms/b/bans/troll", apiKey, ""); code != 200 {
		t.Fatalf("ban: %d", code)
	}
	s.api(t, "POST", "/v1/rooms/b/messages", apiKey, `{"uid":"bob","kind":"chat","body":2}`)
	testwait.For(t, 5*time.Second, "the ban to reach the replica", func() bool {
		code, _ := s.api(t, "GET", "/v1/rooms/b/messages?token="+tok, "", "")
		return code == 403
	})
	code, body := s.api(t, "GET", "/v1/rooms/b/messages?since=0&wait=2&token="+tok, "", "")
	if e, _ := body["error"].(map[string]any); code != 403 || e["code"] != "banned" {
		t.Fatalf("long-poll after the ban: %d %v", code, body)
	}
	// Lifted: readable again.
	s.api(t, "DELETE", "/v1/rooms/b/bans/troll", apiKey, "")
	testwait.For(t, 5*time.Second, "the lifted ban to reach the replica", func() bool {
		code, _ := s.api(t, "GET", "/v1/rooms/b/messages?token="+tok, "", "")
		return code == 200
	})
}
