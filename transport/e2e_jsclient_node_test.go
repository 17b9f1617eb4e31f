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
// event. Three clients tap 4 likes each, sent as one add of 4 (the client sums the taps of
// each addEvery); one taps 130 at once, sent as adds of 100 and 30; one adds 25 at once with
// addEvery 0, one frame each, over the session's burst of 20: five are refused with
// rate_limited, and every client's last total is 12 + 130 + 20 = 162.
func TestJSClientCounters(t *testing.T) {
	s := startServer(t, nil, func(c *actors.Config) { c.DispatchInterval = 5 * time.Millisecond })
	if code, _ := s.api(t, "PUT", "/v1/rooms/jscnt/config", adminKey, `{"counters_interval_ms":100}`); code != 200 {
		t.Fatalf("config: %d", code)
	}
	ws := "ws://" + s.addr + "/v1/ws"
	seen := runJSClients(t, map[string]any{"groups": []map[string]any{
		{"name": "taps", "url": ws, "uid": "tap", "clients": 3, "room": "jscnt", "likes": 4},
		{"name": "many", "url": ws, "uid": "many", "clients": 1, "room": "jscnt", "likes": 130},
		{"name": "burst", "url": ws, "uid": "burst", "clients": 1, "room": "jscnt", "likes": 25, "addEvery": 0},
	}, "staggerMs": 0, "waitMs": 10000, "wantLikes": 162})
	frames := map[string]int{"taps": 1, "many": 2, "burst": 25}
	for name, cs := range seen {
		for i, c := range cs {
			if c.Likes == nil || *c.Likes != 162 || c.Online == nil || *c.Online != 5 {
				t.Errorf("%s %d: likes %v online %v, want 162 and 5", name, i, c.Likes, c.Online)
			}
			want := 0
			if name == "burst" {
				want = 5
			}
			if n := len(c.Refused); n != want || (n > 0 && c.Refused[0] != "rate_limited") {
				t.Errorf("%s %d: refused %v, want %d rate_limited", name, i, c.Refused, want)
			}
			if c.Stats.Adds != frames[name] {
				t.Errorf("%s %d: %d taps in %d add frames, want %d", name, i, c.Stats.Taps, c.Stats.Adds, frames[name])
			}
		}
	}
	if code, info := s.api(t, "GET", "/v1/rooms/jscnt", apiKey, ""); code != 200 || fmt.Sprint(info["counters"]) != "map[likes:162]" {
		t.Errorf("room info: %d %v", code, info)
	}
}

// A late joiner on the real engine (PROTOCOL.md 8.3, 8.5): after a pinned notice and 50 chat
// messages (backend posts with names and avatars), a JS client that joins with recent 20 gets
// the last 20 as "message" events, oldest first, with their name and meta, and the pinned
// notice in its first "pinned" event. A speaker whose token carries name and meta is shown
// with them, and "online" follows it in. Nine notices pinned live leave the 8 newest of the
// ten (the oldest out, as the room keeps them), an unpin takes the newest out, and a viewer
// joining afterwards is given the same pins. Every seq is accounted: no gap, nothing dropped.
func TestJSClientLateJoinPinsNames(t *testing.T) {
	s := startServer(t, nil, func(c *actors.Config) { c.DispatchInterval = 5 * time.Millisecond })
	const room = "jslate"
	if code, _ := s.api(t, "PUT", "/v1/rooms/"+room+"/config", adminKey, `{"counters_interval_ms":100}`); code != 200 {
		t.Fatalf("config: %d", code)
	}
	pin0 := num(post(t, s, "/v1/rooms/"+room+"/notices", adminKey, `{"body":{"text":"welcome"},"pin_s":600}`)["ts"])
	for i := range 50 {
		post(t, s, "/v1/rooms/"+room+"/messages", apiKey,
			fmt.Sprintf(`{"uid":"v%d","kind":"chat","name":"Viewer %d","meta":{"avatar":"a%d.png"},"body":{"n":%d}}`, i, i, i, i))
	}
	ws := "ws://" + s.addr + "/v1/ws"
	speaker := map[string]any{"secret": secret, "ttlS": 600, "name": "Ana ✨", "meta": map[string]any{"avatar": "ana.png", "level": 7}}
	seen, live := runJSClientsLive(t, map[string]any{"groups": []map[string]any{
		{"name": "late", "url": ws, "uid": "js-late", "clients": 1, "room": room, "recent": 20, "record": true},
		{"name": "speaker", "url": ws, "uid": "js-speaker", "clients": 1, "room": room, "token": speaker, "send": 1},
	}, "awaitJoined": true, "waitMs": 10000, "wantMessages": 31, "wantOnline": 2,
		"pinLive": map[string]any{"http": "http://" + s.addr, "key": adminKey, "room": room, "count": 9}})
	c := seen["late"][0]
	if len(c.Msgs) != 31 || len(live.Posted) != 9 || live.Unpinned != live.Posted[8] {
		t.Fatalf("late joiner: %d messages (want 20 recent, 1 spoken, 9 pins, 1 unpin), live %+v: %+v", len(c.Msgs), live, c)
	}
	for i, m := range c.Msgs[:20] { // chat 30..49: seq 32..51 (the notice is 1)
		n := 30 + i
		if m.Kind != "chat" || m.Body["n"] != float64(n) || m.Name != fmt.Sprintf("Viewer %d", n) ||
			m.Meta["avatar"] != fmt.Sprintf("a%d.png", n) || m.UID != fmt.Sprintf("v%d", n) {
			t.Errorf("recent message %d: %+v, want chat %d of Viewer %d", i, m, n, n)
		}
	}
	if m := c.Msgs[20]; m.UID != "js-speaker" || m.Name != "Ana ✨" || m.Meta["avatar"] != "ana.png" || m.Meta["level"] != float64(7) {
		t.Errorf("the speaker's message: %+v, want its token's name and meta", m)
	}
	for i, m := range c.Msgs[21:30] {
		if m.Pri != "system" || m.TS != live.Posted[i] || m.PinUntil != m.TS+600_000_000 {
			t.Errorf("pinned notice %d: %+v, want ts %d pinned for 600 s", i, m, live.Posted[i])
		}
	}
	if m := c.Msgs[30]; m.Pri != "system" || m.Kind != "unpin" || m.Cmid != fmt.Sprintf("unpin:%d", live.Unpinned) {
		t.Errorf("the unpin notice: %+v", m)
	}
	for i, m := range c.Msgs {
		if m.Seq != 32+int64(i) {
			t.Fatalf("message %d has seq %d, want %d (gapless from the 20th newest)", i, m.Seq, 32+i)
		}
	}
	if c.Stats.Gaps != 0 || len(c.SeqGaps) != 0 || c.Stats.Dropped != 0 {
		t.Errorf("accounting: %d gaps %v, %d dropped; want none", c.Stats.Gaps, c.SeqGaps, c.Stats.Dropped)
	}

	// Pins: the notice from joined first, never more than 8, at the end the 8 newest less the
	// unpinned one; a new viewer's joined says the same.
	want := fmt.Sprint(live.Posted[1:8])
	if len(c.Pins) == 0 || fmt.Sprint(c.Pins[0]) != fmt.Sprint([]int64{pin0}) || fmt.Sprint(c.Pins[len(c.Pins)-1]) != want {
		t.Errorf("pinned events %v: want [%d] first and %s last", c.Pins, pin0, want)
	}
	for _, p := range c.Pins {
		if len(p) > 8 {
			t.Errorf("a pinned event with %d pins: %v", len(p), p)
		}
	}
	j := s.dial(t, "uid=js-check").call(t, map[string]any{"op": "join", "room": room})
	var got []int64
	for _, p := range j["pinned"].([]any) {
		got = append(got, num(p.(map[string]any)["ts"]))
	}
	if fmt.Sprint(got) != want {
		t.Errorf("a new viewer's joined pins %v, the JS client's %s", got, want)
	}
	if n := len(c.Onlines); n == 0 || c.Onlines[0] != 1 || c.Onlines[n-1] != 2 {
		t.Errorf("online events %v: want 1 (joined) first and 2 (the speaker in) last", c.Onlines)
	}
}
