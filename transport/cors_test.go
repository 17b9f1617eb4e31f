package transport

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestCORSPreflightAndActualRequests(t *testing.T) {
	s := newOpsServer(t, Config{CORSOrigins: []string{"https://app.example", "https://other.example"}})
	const peer = "192.0.2.1:5000"
	f := func(method, origin string, preflight bool, wantStatus int, wantAllow string) {
		t.Helper()
		h := []string{"Origin", origin}
		if preflight {
			h = append(h, "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization, content-type")
		}
		if origin == "" {
			h = nil
		}
		ctx := request(s, method, "/v1/route?uid=u1", peer, h...)
		res := &ctx.Response
		if res.StatusCode() != wantStatus {
			t.Errorf("%s Origin %q preflight=%v: status %d, want %d (%s)", method, origin, preflight, res.StatusCode(), wantStatus, res.Body())
		}
		if got := string(res.Header.Peek("Access-Control-Allow-Origin")); got != wantAllow {
			t.Errorf("%s Origin %q: Allow-Origin %q, want %q", method, origin, got, wantAllow)
		}
		if origin != "" && !strings.Contains(string(res.Header.Peek("Vary")), "Origin") {
			t.Errorf("%s Origin %q: no Vary: Origin", method, origin)
		}
		if preflight && wantStatus == 204 {
			if m := string(res.Header.Peek("Access-Control-Allow-Methods")); !strings.Contains(m, "POST") || !strings.Contains(m, "DELETE") {
				t.Errorf("Allow-Methods %q", m)
			}
			if h := string(res.Header.Peek("Access-Control-Allow-Headers")); !strings.Contains(h, "Authorization") {
				t.Errorf("Allow-Headers %q", h)
			}
			if len(res.Header.Peek("Access-Control-Allow-Credentials")) != 0 {
				t.Error("credentials allowed")
			}
		}
	}
	f("OPTIONS", "https://app.example", true, 204, "https://app.example")
	f("OPTIONS", "https://other.example", true, 204, "https://other.example")
	f("OPTIONS", "https://evil.example", true, 403, "")
	f("GET", "https://app.example", false, 200, "https://app.example")
	f("GET", "https://evil.example", false, 200, "") // served; the browser withholds it
	f("GET", "", false, 200, "")
	// OPTIONS that is not a preflight is a method the API does not have.
	f("OPTIONS", "https://app.example", false, 405, "https://app.example")

	// Without a list: no CORS at all.
	s = newOpsServer(t, Config{})
	ctx := request(s, "OPTIONS", "/v1/route?uid=u1", peer, "Origin", "https://app.example", "Access-Control-Request-Method", "GET")
	if ctx.Response.StatusCode() != 405 || len(ctx.Response.Header.Peek("Access-Control-Allow-Origin")) != 0 {
		t.Errorf("no list: %d %q", ctx.Response.StatusCode(), ctx.Response.Header.Peek("Access-Control-Allow-Origin"))
	}
	// "*" allows any origin (echoed).
	s = newOpsServer(t, Config{CORSOrigins: []string{"*"}})
	ctx = request(s, "OPTIONS", "/v1/rooms/r/messages", peer, "Origin", "https://any.example", "Access-Control-Request-Method", "POST")
	if ctx.Response.StatusCode() != 204 || string(ctx.Response.Header.Peek("Access-Control-Allow-Origin")) != "https://any.example" {
		t.Errorf("*: %d %q", ctx.Response.StatusCode(), ctx.Response.Header.Peek("Access-Control-Allow-Origin"))
	}
}

// An upgrade whose Origin is not listed is refused with 403 before its token is looked at;
// a listed origin, or none (not a browser), goes on to the token check (401 here: no token).
func TestUpgradeOriginRefused(t *testing.T) {
	s := newOpsServer(t, Config{CORSOrigins: []string{"https://app.example"}})
	f := func(origin string, want int) {
		t.Helper()
		h := []string{"Connection", "Upgrade", "Upgrade", "websocket", "Sec-WebSocket-Version", "13", "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="}
		if origin != "" {
			h = append(h, "Origin", origin)
		}
		ctx := request(s, "GET", "/v1/ws", "192.0.2.1:5000", h...)
		if ctx.Response.StatusCode() != want {
			t.Errorf("Origin %q: %d %s, want %d", origin, ctx.Response.StatusCode(), ctx.Response.Body(), want)
		}
	}
	f("https://evil.example", 403)
	f("null", 403)
	f("https://app.example", 401)
	f("", 401)
	if v := testutil.ToFloat64(s.metrics.ConnRejected.WithLabelValues("origin")); v != 2 {
		t.Errorf("conn_rejected{why=origin} = %v, want 2", v)
	}
	// Without a list every origin may upgrade (the token is the check).
	s = newOpsServer(t, Config{})
	ctx := request(s, "GET", "/v1/ws", "192.0.2.1:5000", "Origin", "https://evil.example")
	if ctx.Response.StatusCode() != 401 {
		t.Errorf("no list: %d", ctx.Response.StatusCode())
	}
}
