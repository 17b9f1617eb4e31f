//go:build !race

package transport_test

import (
	"testing"
	"time"

	"github.com/liveroom/liveroom/internal/testwait"
)

func (s *testServer) token(t *testing.T, uid string, ttl time.Duration, rooms []string) string {
	t.Helper()
	tok, err := s.srv.Auth().IssueToken(uid, ttl, rooms)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// A session ends when its token expires: kick "expired" (no room), then close 4001. A session
// whose token is refreshed in time lives on.
func TestTokenExpiryEndsSession(t *testing.T) {
	s := startServer(t, nil, nil)
	short := s.dial(t, "token="+s.token(t, "exp1", 2*time.Second, nil))
	short.next(t, "hello", 2*time.Second)
	refreshed := s.dial(t, "token="+s.token(t, "exp2", 2*time.Second, nil))
	refreshed.next(t, "hello", 2*time.Second)
	long := s.dial(t, "token="+s.token(t, "exp3", time.Hour, nil))
	long.next(t, "hello", 2*time.Second)
	dev := s.dial(t, "uid=exp4") // dev mode, no token: no expiry
	dev.next(t, "hello", 2*time.Second)

	r := refreshed.call(t, map[string]any{"op": "auth", "token": s.token(t, "exp2", time.Hour, nil)})
	if r["op"] != "authed" || num(r["exp"]) < time.Now().Add(59*time.Minute).Unix() {
		t.Fatalf("auth: %v", r)
	}

	k := short.next(t, "kick", 5*time.Second)
	if k["reason"] != "expired" || k["room"] != nil {
		t.Fatalf("kick %v, want a whole-session kick expired", k)
	}
	if code := short.waitClosed(t, 2*time.Second); code != 4001 {
		t.Fatalf("close %d, want 4001", code)
	}
	for name, c := range map[string]*wsClient{"refreshed": refreshed, "long": long, "dev": dev} {
		if p := c.call(t, map[string]any{"op": "ping"}); p["op"] != "pong" {
			t.Errorf("%s: %v after the short token expired", name, p)
		}
	}
}

// auth: the same sub is accepted and its rooms claim applies at once (rooms it drops are left
// with kick forbidden, joins of them are refused); another sub is forbidden; a bad token is
// unauthorized; either leaves the session as it was.
func TestAuthRefresh(t *testing.T) {
	s := startServer(t, nil, nil)
	c := s.dial(t, "token="+s.token(t, "ar", time.Hour, []string{"a", "b"}))
	c.next(t, "hello", 2*time.Second)
	for _, room := range []string{"a", "b"} {
		if r := c.call(t, map[string]any{"op": "join", "room": room}); r["op"] != "joined" {
			t.Fatalf("join %s: %v", room, r)
		}
	}
	if r := c.call(t, map[string]any{"op": "join", "room": "c"}); r["code"] != "forbidden" {
		t.Fatalf("join c with the first token: %v", r)
	}

	bad := map[string]map[string]any{
		"other sub": {"op": "auth", "token": s.token(t, "someone-else", time.Hour, nil), "want": "forbidden"},
		"garbage":   {"op": "auth", "token": "not.a.jwt", "want": "unauthorized"},
		"expired":   {"op": "auth", "token": s.token(t, "ar", -time.Minute, nil), "want": "unauthorized"},
		"no token":  {"op": "auth", "want": "bad_request"},
		"empty":     {"op": "auth", "token": "", "want": "bad_request"},
		"number":    {"op": "auth", "token": 5, "want": "bad_request"},
	}
	for name, f := range bad {
		want := f["want"]
		delete(f, "want")
		if r := c.call(t, f); r["op"] != "error" || r["code"] != want {
			t.Errorf("%s: %v, want error %v", name, r, want)
		}
	}
	// Nothing changed: still in a and b, c still refused.
	if r := c.call(t, map[string]any{"op": "pull", "room": "a"}); r["op"] != "msgs" {
		t.Fatalf("pull a after refused auths: %v", r)
	}

	// Narrowed to b and c: a is left with kick forbidden, b stays, c may be joined now.
	id := c.send(t, map[string]any{"op": "auth", "token": s.token(t, "ar", time.Hour, []string{"b", "c"})})
	k := c.next(t, "kick", 2*time.Second)
	if k["room"] != "a" || k["reason"] != "forbidden" {
		t.Fatalf("kick %v, want room a forbidden", k)
	}
	r := c.next(t, "authed", 2*time.Second)
	if num(r["id"]) != id || num(r["exp"]) <= time.Now().Unix() {
		t.Fatalf("authed %v", r)
	}
	if r := c.call(t, map[string]any{"op": "pull", "room": "a"}); r["code"] != "not_joined" {
		t.Fatalf("pull a after it was dropped: %v", r)
	}
	if r := c.call(t, map[string]any{"op": "pull", "room": "b"}); r["op"] != "msgs" {
		t.Fatalf("pull b: %v", r)
	}
	if r := c.call(t, map[string]any{"op": "join", "room": "c"}); r["op"] != "joined" {
		t.Fatalf("join c with the new token: %v", r)
	}
	if r := c.call(t, map[string]any{"op": "join", "room": "a"}); r["code"] != "forbidden" {
		t.Fatalf("join a with the new token: %v", r)
	}
	// The room no longer counts the session that left it.
	testwait.For(t, 5*time.Second, "room a online 0", func() bool {
		_, info := s.api(t, "GET", "/v1/rooms/a", apiKey, "")
		return info["online"] == 0.0
	})
}
