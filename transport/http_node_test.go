package transport

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/liveroom/liveroom/ring"
	"github.com/liveroom/liveroom/rooms"
)

func TestHTTPHealth(t *testing.T) {
	h := newHarness(t, nil)
	f := func(method, path string, status int, body string) {
		t.Helper()
		r := h.do(method, path, "", "")
		if r.status != status || r.body != body {
			t.Errorf("%s %s: %d %s, want %d %s", method, path, r.status, r.body, status, body)
		}
	}
	f("GET", "/healthz", 200, `{"ok":true}`)
	f("HEAD", "/healthz", 200, ``)
	f("GET", "/readyz", 200, `{"ok":true}`)
	h.eng.set(func(f *fakeEngine) { f.readyErr = errors.New("store unreachable") })
	f("GET", "/readyz", 503, `{"error":{"code":"unavailable","message":"not ready: store unreachable"}}`)
	h.eng.set(func(f *fakeEngine) { f.readyErr = rooms.Errorf(rooms.CodeInternal, "cluster not joined") })
	f("GET", "/readyz", 503, `{"error":{"code":"unavailable","message":"not ready: cluster not joined"}}`)
}

func TestHTTPMetrics(t *testing.T) {
	h := newHarness(t, nil)
	h.metrics.Accepted.With(ring.Normal).Add(5)
	r := h.do("GET", "/metrics", "", "")
	if r.status != 200 || !strings.Contains(r.body, `liveroom_accepted_total{pri="normal"} 5`) || !strings.Contains(r.body, "go_goroutines") {
		t.Errorf("metrics: %d %.300s", r.status, r.body)
	}
	if ct := string(r.header.ContentType()); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("metrics content type %q", ct)
	}
}

func TestHTTPRoute(t *testing.T) {
	h := newHarness(t, nil)
	f := func(query string, status int, body string) {
		t.Helper()
		r := h.do("GET", "/v1/route"+query, "", "")
		if r.status != status || (body != "" && r.body != body) {
			t.Errorf("%s: %d %s, want %d %s", query, r.status, r.body, status, body)
		}
	}
	// Not from the Host header (liveroom.test): the harness's listener is in memory, so the
	// configured address (":8080") and the loopback host.
	f("?uid=u1", 200, `{"node":"node-a","ws":"ws://127.0.0.1:8080/v1/ws"}`)
	if h.eng.last() != "Route u1" {
		t.Errorf("call %s", h.eng.last())
	}
	f("", 400, "")
	f("?uid=", 400, "")
	f("?uid=u%201", 400, "")
	f("?uid="+strings.Repeat("u", 129), 400, "")
	h.eng.set(func(f *fakeEngine) { f.node, f.ws = "node-b", "ws://10.0.0.2:8080/v1/ws" })
	f("?uid=u2", 200, `{"node":"node-b","ws":"ws://10.0.0.2:8080/v1/ws"}`)
	h.eng.set(func(f *fakeEngine) { f.node, f.err = "", rooms.Errorf(rooms.CodeUnavailable, "no live node") })
	f("?uid=u2", 503, "")

	a := newHarness(t, func(c *Config) { c.Advertise = "wss://chat.example.com/v1/ws" })
	r := a.do("GET", "/v1/route?uid=u1", "", "")
	if r.body != `{"node":"node-a","ws":"wss://chat.example.com/v1/ws"}` {
		t.Errorf("advertised: %s", r.body)
	}
}

func TestHTTPDevToken(t *testing.T) {
	h := newHarness(t, nil)
	h.expect(h.do("GET", "/v1/dev/token?uid=u1", "", ""), 404, "not_found")
	h.expect(h.do("POST", "/v1/dev/token?uid=u1", "", ""), 404, "not_found")

	d := newHarness(t, func(c *Config) { c.Dev = true })
	r := d.do("GET", "/v1/dev/token?uid=alice", "", "")
	d.expect(r, 200, "")
	tok, ok := strings.CutPrefix(r.body, `{"token":"`)
	tok, ok2 := strings.CutSuffix(tok, `"}`)
	if !ok || !ok2 {
		t.Fatalf("reply %s", r.body)
	}
	v, err := d.auth.ParseToken(tok)
	if err != nil || v.UID != "alice" || v.Rooms != nil {
		t.Errorf("token: %+v %v", v, err)
	}
	// It works where viewer tokens are taken, and lasts one day.
	d.expect(d.do("GET", "/v1/rooms/r1/messages?token="+tok, "", ""), 200, "")
	exp := tokenExpiry(t, tok)
	if left := time.Until(exp); left < 23*time.Hour || left > 24*time.Hour+time.Minute {
		t.Errorf("token expires in %v", left)
	}
	d.expect(d.do("GET", "/v1/dev/token", "", ""), 400, "bad_request")
	d.expect(d.do("GET", "/v1/dev/token?uid=a%20b", "", ""), 400, "bad_request")
	d.expect(d.do("POST", "/v1/dev/token?uid=alice", "", ""), 405, "bad_request")
}

func TestHTTPWeb(t *testing.T) {
	h := newHarness(t, nil)
	f := func(h *harness, path string, status int, ctype string) {
		t.Helper()
		r := h.do("GET", path, "", "")
		if r.status != status {
			t.Errorf("%s: status %d", path, r.status)
		}
		if status == 200 && (!strings.HasPrefix(string(r.header.ContentType()), ctype) || len(r.body) == 0) {
			t.Errorf("%s: %q, %d bytes", path, r.header.ContentType(), len(r.body))
		}
	}
	f(h, "/", 404, "")
	f(h, "/admin", 200, "text/html")
	f(h, "/v1/sdk/liveroom.js", 200, "text/javascript")
	f(h, "/v1/sdk/liveroom.d.ts", 200, "application/typescript")
	f(h, "/v1/sdk/package.json", 200, "application/json")
	f(h, "/index.html", 404, "")
	f(h, "/web/liveroom.js", 404, "")
	d := newHarness(t, func(c *Config) { c.Dev = true })
	f(d, "/", 200, "text/html")
	f(d, "/admin", 200, "text/html")
	f(d, "/v1/sdk/liveroom.js", 200, "text/javascript")
	f(d, "/demo.js", 200, "text/javascript")
	f(d, "/demo.css", 200, "text/css")
	f(d, "/admin.js", 200, "text/javascript")
	f(d, "/admin.css", 200, "text/css")
	f(h, "/demo.js", 404, "")
	for _, path := range []string{"/", "/v1/sdk/liveroom.js", "/readyz"} {
		if r := d.do("HEAD", path, "", ""); r.status != 200 || r.body != "" {
			t.Errorf("HEAD %s: %d %q", path, r.status, r.body)
		}
	}
}
