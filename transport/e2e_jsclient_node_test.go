//go:build !race

package transport_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/liveroom/liveroom/actors"
)

// The JS client's tests against a real node (startServer, e2e_node_test.go): they start a
// protoactor cluster member, so they run in make test's non-race pass.

// The JS client's counters on the real engine: add sends the add op, "counters" events carry
// the totals (from joined and the counters frames) and online, a refused add is an "error"
// event. Three clients add 4 likes each and one adds 25 at once, over the session's burst of
// 20: five are refused with rate_limited, and every client's last total is 32.
func TestJSClientCounters(t *testing.T) {
	s := startServer(t, nil, func(c *actors.Config) { c.DispatchInterval = 5 * time.Millisecond })
	if code, _ := s.api(t, "PUT", "/v1/rooms/jscnt/config", adminKey, `{"counters_interval_ms":100}`); code != 200 {
		t.Fatalf("config: %d", code)
	}
	ws := "ws://" + s.addr + "/v1/ws"
	seen := runJSClients(t, map[string]any{"groups": []map[string]any{
		{"name": "taps", "url": ws, "uid": "tap", "clients": 3, "room": "jscnt", "likes": 4},
		{"name": "burst", "url": ws, "uid": "burst", "clients": 1, "room": "jscnt", "likes": 25},
	}, "staggerMs": 0, "waitMs": 10000, "wantLikes": 32})
	for name, cs := range seen {
		for i, c := range cs {
			if c.Likes == nil || *c.Likes != 32 || c.Online == nil || *c.Online != 4 {
				t.Errorf("%s %d: likes %v online %v, want 32 and 4", name, i, c.Likes, c.Online)
			}
			want := 0
			if name == "burst" {
				want = 5
			}
			if n := len(c.Refused); n != want || (n > 0 && c.Refused[0] != "rate_limited") {
				t.Errorf("%s %d: refused %v, want %d rate_limited", name, i, c.Refused, want)
			}
		}
	}
	if code, info := s.api(t, "GET", "/v1/rooms/jscnt", apiKey, ""); code != 200 || fmt.Sprint(info["counters"]) != "map[likes:32]" {
		t.Errorf("room info: %d %v", code, info)
	}
}
