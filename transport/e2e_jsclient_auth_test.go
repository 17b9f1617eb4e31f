//go:build !race

package transport_test

import (
	"fmt"
	"strings"
	"testing"
)

// The JS client's tokens, push and drain: a token that expires ends the client ("stopped"
// expired) unless getToken gives new ones, which it hands over with op auth before the expiry
// (no close at all); a token already expired is not retried for ever; push sessions get their
// windows without notifies or pulls; a kick shutdown with retry_ms brings it back within
// retry_ms each time; a kick expired with getToken reconnects.
func TestJSClientTokensPushAndDrain(t *testing.T) {
	s := startServer(t, nil, nil)
	ws := "ws://" + s.addr + "/v1/ws"
	cases := map[string]closeCase{
		"shutdown-retry": {frames: []string{`{"op":"kick","reason":"shutdown","retry_ms":100}`}, code: 1001, reason: "shutdown"},
		"expired-kick":   {frames: []string{`{"op":"kick","reason":"expired"}`}, code: 4001, reason: "expired"},
	}
	fake := newClosingServer(t, cases)
	fakeWS := "ws" + strings.TrimPrefix(fake.URL, "http") + "/"
	tok := func(ttl int) map[string]any { return map[string]any{"secret": secret, "ttlS": ttl} }
	groups := []map[string]any{
		{"name": "expires", "url": ws, "uid": "js-exp", "clients": 1, "room": "js", "token": tok(2)},
		{"name": "refreshes", "url": ws, "uid": "js-ref", "clients": 1, "room": "js", "token": tok(3), "getToken": true},
		{"name": "expired-token", "url": ws, "uid": "js-old", "clients": 1, "token": tok(-60)},
		{"name": "bad-refresh", "url": ws, "uid": "js-bad", "clients": 1, "token": tok(-60), "getToken": true},
		{"name": "push", "url": ws, "uid": "js-push", "clients": 1, "room": "js-push", "push": true, "send": 5},
		{"name": "shutdown-retry", "url": fakeWS + "shutdown-retry", "uid": "u", "clients": 1},
		{"name": "expired-kick", "url": fakeWS + "expired-kick", "uid": "u", "clients": 1, "token": tok(3600), "getToken": true},
	}
	seen := runJSClients(t, map[string]any{"groups": groups, "staggerMs": 50, "waitMs": 4500})
	one := func(name string) jsClientSeen { return seen[name][0] }

	if c := one("expires"); str(c.Stopped) != "expired" || c.Opens != 1 || fmt.Sprint(c.Closes) != "[[4001 expired]]" ||
		fmt.Sprint(c.Kicks) != "[[<nil> expired]]" {
		t.Errorf("expires: %+v", c)
	}
	if c := one("refreshes"); c.Stopped != nil || c.Opens != 1 || len(c.Closes) != 0 || c.Authed < 2 {
		t.Errorf("refreshes: %+v (want two refreshes or more and no close in 4.5 s of 3 s tokens)", c)
	}
	for _, name := range []string{"expired-token", "bad-refresh"} {
		if c := one(name); str(c.Stopped) != "expired" || c.Opens != 0 {
			t.Errorf("%s: %+v", name, c)
		}
	}
	if c := one("push"); c.Messages < 5 || c.Stats.Notifies != 0 || c.Stats.Pulls != 0 || c.Stopped != nil {
		t.Errorf("push: %+v (want its 5 messages pushed, no notify, no pull)", c)
	}
	if c := one("shutdown-retry"); len(c.Gaps) < 5 || c.Stopped != nil {
		t.Errorf("shutdown-retry: %+v", c)
	} else {
		for _, g := range c.Gaps {
			if g > 100+50 {
				t.Errorf("shutdown-retry: reconnected %d ms after the close, retry_ms 100: %v", g, c.Gaps)
				break
			}
		}
	}
	if c := one("expired-kick"); c.Stopped != nil || fake.count("expired-kick") < 2 {
		t.Errorf("expired-kick with getToken: %+v after %d connections", c, fake.count("expired-kick"))
	}
}
