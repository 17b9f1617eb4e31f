//go:build !race

package transport_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/liveroom/liveroom/actors"
	"github.com/liveroom/liveroom/internal/testredis"
	"github.com/liveroom/liveroom/internal/testwait"
	"github.com/liveroom/liveroom/rooms"
	"github.com/liveroom/liveroom/transport"
)

func post(t *testing.T, s *testServer, path, key, body string) map[string]any {
	t.Helper()
	code, r := s.api(t, "POST", path, key, body)
	if code != 200 {
		t.Fatalf("POST %s %s: %d %v", path, body, code, r)
	}
	return r
}

func msgsOf(m map[string]any) []map[string]any {
	raw, _ := m["msgs"].([]any)
	out := make([]map[string]any, len(raw))
	for i, x := range raw {
		out[i] = x.(map[string]any)
	}
	return out
}

func bodies(ms []map[string]any) string {
	var b []string
	for _, m := range ms {
		j, _ := json.Marshal(m["body"])
		b = append(b, string(j))
	}
	return strings.Join(b, ",")
}

// TestJoinRecent (PROTOCOL.md 8.3): a viewer who opens the room after a notice and 50 chat
// messages, with recent 5, starts just before the 5th newest: its notify and pull bring those
// 5 (not the whole ring), a push viewer's first window the same; an older notice after that
// point comes with them. since wins over recent; recent out of range is bad_request.
func TestJoinRecent(t *testing.T) {
	s := startServer(t, nil, nil)
	post(t, s, "/v1/rooms/late/notices", adminKey, `{"body":"old notice"}`)
	for i := range 50 {
		post(t, s, "/v1/rooms/late/messages", apiKey, fmt.Sprintf(`{"uid":"u","kind":"chat","body":%d}`, i))
		if i == 47 {
			post(t, s, "/v1/rooms/late/notices", adminKey, `{"body":"new notice"}`)
		}
	}
	// seq: 1 notice, 2..49 chat 0..47, 50 the new notice, 51..52 chat 48..49.
	pull, push := s.dial(t, "uid=late1"), s.dial(t, "uid=late2")
	j := pull.call(t, map[string]any{"op": "join", "room": "late", "recent": 5})
	if j["op"] != "joined" || num(j["seq"]) != 52 {
		t.Fatalf("joined %v", j)
	}
	since, ok := j["since"].(float64)
	if !ok || int64(since) >= num(j["ts"]) {
		t.Fatalf("joined without a since before the head: %v", j)
	}
	if n := pull.next(t, "notify", 2*time.Second); num(n["ts"]) != num(j["ts"]) {
		t.Fatalf("notify %v", n)
	}
	m := pull.call(t, map[string]any{"op": "pull", "room": "late", "since": int64(since)})
	if got := bodies(msgsOf(m)); got != `46,47,"new notice",48,49` || num(m["dropped"]) != 0 || num(m["next_seq"]) != 52 {
		t.Fatalf("the first window after recent 5: %s (%v)", got, m)
	}
	pj := push.call(t, map[string]any{"op": "join", "room": "late", "recent": 5, "push": true})
	if pj["since"] != j["since"] {
		t.Fatalf("push viewer joined %v, want since %v", pj, j["since"])
	}
	if w := push.next(t, "msgs", 2*time.Second); bodies(msgsOf(w)) != `46,47,"new notice",48,49` {
		t.Fatalf("the first pushed window after recent 5: %v", w)
	}

	// since wins; recent 0 is the head; out of range or not an integer is refused.
	c := s.dial(t, "uid=late3")
	if r := c.call(t, map[string]any{"op": "join", "room": "late", "since": 0, "recent": 5}); num(r["since"]) != 0 {
		t.Errorf("since 0 with recent: %v", r)
	}
	if r := c.call(t, map[string]any{"op": "join", "room": "late", "recent": 0}); num(r["since"]) != num(r["ts"]) {
		t.Errorf("recent 0: %v", r)
	}
	if r := c.call(t, map[string]any{"op": "join", "room": "late", "recent": 200}); num(r["since"]) != 0 {
		t.Errorf("recent 200 in a room of 52: %v (want since 0)", r)
	}
	for _, bad := range []any{-1, 201, 1.5, "5", true} {
		if r := c.call(t, map[string]any{"op": "join", "room": "late", "recent": bad}); r["code"] != "bad_request" {
			t.Errorf("recent %v: %v, want bad_request", bad, r)
		}
	}
	if r := c.call(t, map[string]any{"op": "join", "room": "late"}); r["op"] != "joined" || r["since"] != nil {
		t.Errorf("a plain join after refusals: %v", r)
	}
}

// pinnedBodies returns the bodies of a joined frame's pinned list.
func pinnedBodies(t *testing.T, j map[string]any) string {
	t.Helper()
	raw, ok := j["pinned"].([]any)
	if !ok {
		t.Fatalf("joined without pinned: %v", j)
	}
	var ms []map[string]any
	for _, x := range raw {
		m := x.(map[string]any)
		if m["pri"] != "system" || num(m["pin_until"]) <= num(m["ts"]) {
			t.Fatalf("pinned message %v", m)
		}
		ms = append(ms, m)
	}
	return bodies(ms)
}

// TestPins (PROTOCOL.md 8.3): notices pinned with pin_s carry pin_until and are in every
// joiner's pinned list, oldest first, at most 8; DELETE unpins with an unpin notice that every
// viewer gets; bad pin_s and unknown pins are refused.
func TestPins(t *testing.T) {
	s := startServer(t, nil, nil)
	viewers := []*wsClient{s.dial(t, "uid=p1"), s.dial(t, "uid=p2")}
	for _, v := range viewers {
		if j := v.call(t, map[string]any{"op": "join", "room": "pins"}); pinnedBodies(t, j) != "" {
			t.Fatalf("a room without pins: %v", j)
		}
	}
	var ts []int64
	for i := range 9 {
		r := post(t, s, "/v1/rooms/pins/notices", adminKey, fmt.Sprintf(`{"body":%d,"pin_s":600}`, i))
		ts = append(ts, num(r["ts"]))
	}
	post(t, s, "/v1/rooms/pins/notices", adminKey, `{"body":"not pinned"}`)
	late := s.dial(t, "uid=p3")
	if got := pinnedBodies(t, late.call(t, map[string]any{"op": "join", "room": "pins"})); got != "1,2,3,4,5,6,7,8" {
		t.Fatalf("pinned %s: want the newest 8, oldest first", got)
	}

	for _, bad := range []string{`{"body":1,"pin_s":0}`, `{"body":1,"pin_s":86401}`, `{"body":1,"pin_s":1.5}`, `{"body":1,"pin_s":"60"}`} {
		if code, r := s.api(t, "POST", "/v1/rooms/pins/notices", adminKey, bad); code != 400 {
			t.Errorf("notice %s: %d %v, want 400", bad, code, r)
		}
	}
	if code, _ := s.api(t, "POST", "/v1/notices", adminKey, `{"body":1,"pin_s":60}`); code != 400 {
		t.Errorf("pin_s on /v1/notices: %d, want 400", code)
	}
	for _, c := range []struct {
		path, key string
		code      int
	}{
		{fmt.Sprint("/v1/rooms/pins/pins/", ts[0]), adminKey, 404}, // unpinned by the ninth
		{"/v1/rooms/pins/pins/12345", adminKey, 404},
		{"/v1/rooms/pins/pins/abc", adminKey, 400},
		{fmt.Sprint("/v1/rooms/pins/pins/", ts[4]), apiKey, 403},
	} {
		if code, r := s.api(t, "DELETE", c.path, c.key, ""); code != c.code {
			t.Errorf("DELETE %s: %d %v, want %d", c.path, code, r, c.code)
		}
	}
	code, r := s.api(t, "DELETE", fmt.Sprint("/v1/rooms/pins/pins/", ts[4]), adminKey, "")
	if code != 200 || num(r["seq"]) != 11 {
		t.Fatalf("unpin: %d %v", code, r)
	}
	if got := pinnedBodies(t, s.dial(t, "uid=p4").call(t, map[string]any{"op": "join", "room": "pins"})); got != "1,2,3,5,6,7,8" {
		t.Errorf("pinned after the unpin: %s", got)
	}
	for _, v := range append(viewers, late) {
		acct := &seqAccount{name: "viewer"}
		var unpin map[string]any
		for unpin == nil {
			v.next(t, "notify", 2*time.Second)
			m := v.call(t, map[string]any{"op": "pull", "room": "pins", "since": acct.since})
			acct.window(t, m)
			for _, msg := range msgsOf(m) {
				if msg["kind"] == "unpin" {
					unpin = msg
				}
				if msg["kind"] == "notice" && num(msg["ts"]) == ts[8] && num(msg["pin_until"]) != ts[8]+600e6 {
					t.Errorf("pinned notice %v: pin_until is not ts + 600 s", msg)
				}
			}
		}
		if b := unpin["body"].(map[string]any); unpin["pri"] != "system" || num(b["ts"]) != ts[4] {
			t.Errorf("the unpin notice %v", unpin)
		}
	}
}

// TestPinsSurviveRestart: pins are in the store; with Redis they are back after the node
// restarts (and the unpin with them), with the memory store after the room passivates.
func TestPinsSurviveRestart(t *testing.T) {
	url := testredis.Start(t)
	store := func() rooms.Store {
		st, err := rooms.NewRedisStore(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	a := startServer(t, nil, func(c *actors.Config) { c.Store, c.DurableStamps = store(), true })
	keep := num(post(t, a, "/v1/rooms/durable/notices", adminKey, `{"body":"keep","pin_s":600}`)["ts"])
	drop := num(post(t, a, "/v1/rooms/durable/notices", adminKey, `{"body":"drop","pin_s":600}`)["ts"])
	if code, _ := a.api(t, "DELETE", fmt.Sprint("/v1/rooms/durable/pins/", drop), adminKey, ""); code != 200 {
		t.Fatal("unpin failed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.node.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	b := startServer(t, nil, func(c *actors.Config) { c.Store, c.DurableStamps = store(), true })
	j := b.dial(t, "uid=back").call(t, map[string]any{"op": "join", "room": "durable"})
	if got := pinnedBodies(t, j); got != `"keep"` || num(j["seq"]) != 3 {
		t.Fatalf("after the restart: pinned %s, joined %v", got, j)
	}
	if pinned := j["pinned"].([]any)[0].(map[string]any); num(pinned["ts"]) != keep {
		t.Errorf("restored pin %v, want ts %d", pinned, keep)
	}

	m := startServer(t, nil, func(c *actors.Config) {
		c.RoomIdle, c.ReplicaIdle = 200*time.Millisecond, 200*time.Millisecond
	})
	post(t, m, "/v1/rooms/mem/notices", adminKey, `{"body":"mem","pin_s":600}`)
	testwait.For(t, 10*time.Second, "the room to passivate", func() bool { return testutilValue(m.node.Metrics().Rooms) == 0 })
	if got := pinnedBodies(t, m.dial(t, "uid=mem").call(t, map[string]any{"op": "join", "room": "mem"})); got != `"mem"` {
		t.Errorf("after passivation on the memory store: pinned %s", got)
	}
}

// TestSpeaker (PROTOCOL.md 8.5): the token's name and meta are stamped on the session's
// messages as every viewer sees them; a send cannot set them; a backend post can; tokens and
// posts with bad ones are refused.
func TestSpeaker(t *testing.T) {
	s := startServer(t, nil, nil)
	auth := transport.NewAuth(transport.Config{JWTSecret: secret})
	tok := func(name string, meta json.RawMessage) string {
		t.Helper()
		tk, err := auth.IssueSpeakerToken("ann", time.Hour, nil, name, meta)
		if err != nil {
			t.Fatal(err)
		}
		return tk
	}
	ann := s.dial(t, "token="+tok("Ann 安", json.RawMessage(` {"avatar": "https://x/a.png", "lv": 3} `)))
	plain := s.dial(t, "uid=bob")
	watchers := []*wsClient{ann, plain, s.dial(t, "uid=carol")}
	for _, v := range watchers {
		v.call(t, map[string]any{"op": "join", "room": "who"})
	}
	if r := ann.call(t, map[string]any{"op": "send", "room": "who", "kind": "chat", "body": 1, "name": "Admin"}); r["code"] != "bad_request" {
		t.Errorf("a send with name: %v", r)
	}
	if r := ann.call(t, map[string]any{"op": "send", "room": "who", "kind": "chat", "body": 1, "meta": map[string]any{"lv": 99}}); r["code"] != "bad_request" {
		t.Errorf("a send with meta: %v", r)
	}
	ann.call(t, map[string]any{"op": "send", "room": "who", "kind": "chat", "body": "hi"})
	plain.call(t, map[string]any{"op": "send", "room": "who", "kind": "chat", "body": "yo"})
	post(t, s, "/v1/rooms/who/messages", apiKey, `{"uid":"bot","kind":"chat","body":"beep","name":"Bot","meta":{"badge":"robot"}}`)
	want := []string{
		`{"avatar":"https://x/a.png","lv":3} Ann 安 ann "hi"`,
		`  bob "yo"`,
		`{"badge":"robot"} Bot bot "beep"`,
	}
	for _, v := range watchers {
		var got []string
		var since int64
		for len(got) < 3 {
			m := v.call(t, map[string]any{"op": "pull", "room": "who", "since": since})
			since = num(m["next"])
			for _, msg := range msgsOf(m) {
				var meta []byte
				if _, has := msg["meta"]; has {
					meta, _ = json.Marshal(msg["meta"])
				}
				name, _ := msg["name"].(string)
				if _, has := msg["name"]; has && name == "" {
					t.Errorf("an empty name is written: %v", msg)
				}
				b, _ := json.Marshal(msg["body"])
				got = append(got, fmt.Sprintf("%s %s %s %s", meta, name, msg["uid"], b))
			}
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("message %d as a viewer sees it: %q, want %q", i, got[i], want[i])
			}
		}
	}

	for _, c := range []struct {
		name string
		meta json.RawMessage
	}{
		{strings.Repeat("é", 65), nil},
		{"a\nb", nil},
		{"a\u0085b", nil},
		{"", json.RawMessage(`[1]`)},
		{"", json.RawMessage(`"x"`)},
		{"", json.RawMessage(`{"a":"` + strings.Repeat("x", 250) + `"}`)},
		{"", json.RawMessage(`{"a":"\ud800"}`)},
	} {
		if _, err := s.tryDial("token=" + tok(c.name, c.meta)); err == nil {
			t.Errorf("a token with name %q meta %s was accepted", c.name, c.meta)
		}
	}
	if _, err := s.tryDial("token=" + tok(strings.Repeat("é", 64), json.RawMessage(`{"a":"`+strings.Repeat("x", 248)+`"}`))); err != nil {
		t.Errorf("a token at the bounds: %v", err)
	}
	for _, bad := range []string{
		`{"uid":"u","kind":"chat","body":1,"name":"` + strings.Repeat("n", 65) + `"}`,
		`{"uid":"u","kind":"chat","body":1,"name":"a\u0007"}`,
		`{"uid":"u","kind":"chat","body":1,"name":7}`,
		`{"uid":"u","kind":"chat","body":1,"meta":[]}`,
		`{"uid":"u","kind":"chat","body":1,"meta":{"a":"` + strings.Repeat("x", 250) + `"}}`,
		"{\"uid\":\"u\",\"kind\":\"chat\",\"body\":1,\"name\":\"\xff\"}",
	} {
		if code, r := s.api(t, "POST", "/v1/rooms/who/messages", apiKey, bad); code != 400 {
			t.Errorf("post %q: %d %v, want 400", bad, code, r)
		}
	}
}
