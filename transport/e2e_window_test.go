//go:build !race

package transport_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/liveroom/liveroom/actors"
)

// seqAccount checks PROTOCOL.md section 8.1 over a chain of windows: each msgs frame covers
// exactly len(msgs) + dropped == next_seq - the previous next_seq.
type seqAccount struct {
	name  string
	since int64
	seq   uint64
	msgs  int
}

func (a *seqAccount) window(t *testing.T, m map[string]any) {
	t.Helper()
	ns, ok := m["next_seq"].(float64)
	if !ok {
		t.Fatalf("%s: a msgs frame without next_seq: %v", a.name, m)
	}
	msgs, _ := m["msgs"].([]any)
	if got, want := uint64(len(msgs))+uint64(num(m["dropped"])), uint64(ns)-a.seq; got != want {
		t.Fatalf("%s: len(msgs)+dropped = %d, next_seq - previous = %d - %d: %v", a.name, got, uint64(ns), a.seq, m)
	}
	if n := len(msgs); n > 0 && num(msgs[n-1].(map[string]any)["ts"]) == num(m["next"]) &&
		uint64(num(msgs[n-1].(map[string]any)["seq"])) != uint64(ns) {
		t.Fatalf("%s: next_seq %d is not the seq of the message at next: %v", a.name, uint64(ns), m)
	}
	a.since, a.seq, a.msgs = num(m["next"]), uint64(ns), a.msgs+len(msgs)
}

// TestNextSeqEveryWindow: a pulling viewer (small limits: windows that skip chat and windows
// cut short by protected messages), a push viewer (pushed windows of 2 that continue in the
// next round with more) and an HTTP puller all account for every seq of the room with
// next_seq, and reach the head.
func TestNextSeqEveryWindow(t *testing.T) {
	s := startServer(t, nil, func(c *actors.Config) { c.PushLimit = 2 })
	puller, pusher := s.dial(t, "uid=alice"), s.dial(t, "uid=bob")
	j := puller.call(t, map[string]any{"op": "join", "room": "ns"})
	if num(j["seq"]) != 0 {
		t.Fatalf("joined %v", j)
	}
	pusher.call(t, map[string]any{"op": "join", "room": "ns", "push": true})
	for i := range 12 {
		path, body := "/v1/rooms/ns/messages", fmt.Sprintf(`{"uid":"u","kind":"chat","body":%d}`, i)
		if i%3 == 0 {
			path, body = "/v1/rooms/ns/notices", fmt.Sprintf(`{"body":%d}`, i)
		}
		if code, _ := s.api(t, "POST", path, adminKey, body); code != 200 {
			t.Fatalf("post %d: %d", i, code)
		}
	}
	const head = 12

	pa := &seqAccount{name: "puller", since: num(j["ts"])}
	for i := 0; pa.seq < head; i++ {
		if i > 50 {
			t.Fatalf("puller stuck at seq %d", pa.seq)
		}
		pa.window(t, puller.call(t, map[string]any{"op": "pull", "room": "ns", "since": pa.since, "limit": 1 + i%2}))
	}

	pu := &seqAccount{name: "pusher"}
	for pu.seq < head {
		m := pusher.next(t, "msgs", 5*time.Second)
		if _, hasID := m["id"]; hasID {
			t.Fatalf("a pushed window with an id: %v", m)
		}
		if msgs, _ := m["msgs"].([]any); len(msgs) > 2 {
			t.Fatalf("a pushed window over the push limit: %v", m)
		}
		more := m["more"] == true
		pu.window(t, m)
		if more && pu.seq >= head {
			t.Fatalf("more at the head: %v", m)
		}
	}
	if pu.msgs < 4 { // the four notices at least: never skipped
		t.Errorf("pusher got %d messages", pu.msgs)
	}

	ha := &seqAccount{name: "http"}
	for i := 0; ha.seq < head; i++ {
		if i > 50 {
			t.Fatalf("http puller stuck at seq %d", ha.seq)
		}
		code, m := s.api(t, "GET", fmt.Sprintf("/v1/rooms/ns/messages?since=%d&limit=3", ha.since), apiKey, "")
		if code != 200 {
			t.Fatalf("http pull: %d %v", code, m)
		}
		ha.window(t, m)
	}
	// At the head: an empty window still says where it ends.
	code, m := s.api(t, "GET", fmt.Sprintf("/v1/rooms/ns/messages?since=%d", ha.since), apiKey, "")
	if msgs, _ := m["msgs"].([]any); code != 200 || len(msgs) != 0 || num(m["next_seq"]) != head {
		t.Fatalf("the window at the head: %d %v", code, m)
	}
	code, m = s.api(t, "GET", "/v1/rooms/empty/messages", apiKey, "")
	if ns, ok := m["next_seq"].(float64); code != 200 || !ok || ns != 0 {
		t.Fatalf("an empty room's window: %d %v", code, m)
	}
}
