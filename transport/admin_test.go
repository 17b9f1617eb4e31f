package transport

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/valyala/fasthttp"
)

func get(t *testing.T, url string) int {
	t.Helper()
	status, _, err := fasthttp.Get(nil, url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return status
}

// With AdminSeparate, /metrics and the admin page leave the public listener for the admin
// one, which also serves pprof and the API the admin page calls.
func TestAdminListener(t *testing.T) {
	s := newOpsServer(t, Config{AdminSeparate: true})
	public := "http://" + serveTCP(t, s)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.ServeAdmin(ln) }()
	admin := "http://" + ln.Addr().String()
	f := func(url string, want int) {
		t.Helper()
		if got := get(t, url); got != want {
			t.Errorf("GET %s: %d, want %d", url, got, want)
		}
	}
	for _, p := range []string{"/metrics", "/admin", "/admin.js", "/admin.css", "/debug/pprof/"} {
		f(public+p, 404)
	}
	f(public+"/v1/route?uid=u1", 200)
	f(public+"/v1/sdk/liveroom.js", 200)
	for _, p := range []string{"/metrics", "/admin", "/admin.js", "/debug/pprof/", "/debug/pprof/cmdline", "/v1/route?uid=u1", "/healthz"} {
		f(admin+p, 200)
	}
	status, body, _ := fasthttp.Get(nil, admin+"/metrics")
	if status != 200 || !bytes.Contains(body, []byte("liveroom_sessions")) {
		t.Errorf("admin /metrics: %d", status)
	}

	// Without it, /metrics and the admin page stay public and pprof is nowhere.
	s = newOpsServer(t, Config{})
	public = "http://" + serveTCP(t, s)
	f(public+"/metrics", 200)
	f(public+"/admin", 200)
	f(public+"/debug/pprof/", 404)
}

// syncBuffer is a log sink tests read while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) lines(t *testing.T, msg string) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.b.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// Every admin action made with a key is one audit line with the action, the key's role, the
// room and the target; requests without a valid key and ordinary traffic are not.
func TestAuditLines(t *testing.T) {
	var logs syncBuffer
	s, err := New(Config{JWTSecret: tSecret, APIKey: tAPI, AdminKey: tAdmin, TrustedProxies: []string{"10.0.0.0/8"}},
		newFakeEngine(), nil, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	do := func(method, path, key, body string) {
		t.Helper()
		var req fasthttp.Request
		req.Header.SetMethod(method)
		req.SetRequestURI(path)
		req.Header.Set("X-Forwarded-For", "203.0.113.7")
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		req.SetBodyString(body)
		ctx := &fasthttp.RequestCtx{}
		ctx.Init(&req, &net.TCPAddr{IP: net.ParseIP("10.0.0.1"), Port: 1}, nil)
		s.Handler()(ctx)
	}
	do("PUT", "/v1/rooms/r1/bans/u1", tAPI, `{"ttl_s":60}`)
	do("DELETE", "/v1/rooms/r1/bans/u1", tAPI, "")
	do("PUT", "/v1/rooms/r1/mutes/u2", tAPI, "")
	do("PUT", "/v1/rooms/r1/whitelist/u3", tAPI, "")
	do("DELETE", "/v1/rooms/r1/viewers/u4", tAPI, "")
	do("PUT", "/v1/rooms/r1/config", tAdmin, `{"slow_mode_s":5}`)
	do("POST", "/v1/rooms/r1/notices", tAdmin, `{"body":{"t":"hi"}}`)
	do("POST", "/v1/notices", tAdmin, `{"body":{"t":"all"}}`)
	do("PUT", "/v1/rooms/r1/config", tAPI, `{}`)                                    // the server key on an admin endpoint: 403, logged
	do("PUT", "/v1/rooms/r1/bans/u9", "wrong-key", "")                              // no valid key: not logged
	do("POST", "/v1/rooms/r1/messages", tAPI, `{"uid":"u","kind":"chat","body":1}`) // traffic: not logged
	do("GET", "/v1/rooms/r1", tAPI, "")
	got := logs.lines(t, "audit")
	type line struct{ action, role, room, target string }
	want := []line{
		{"ban", "server", "r1", "u1"}, {"unban", "server", "r1", "u1"}, {"mute", "server", "r1", "u2"},
		{"whitelist", "server", "r1", "u3"}, {"kick", "server", "r1", "u4"}, {"config", "admin", "r1", ""},
		{"notice", "admin", "r1", ""}, {"notice_all", "admin", "", ""}, {"config", "server", "r1", ""},
	}
	if len(got) != len(want) {
		t.Fatalf("%d audit lines, want %d: %v", len(got), len(want), got)
	}
	str := func(v any) string { s, _ := v.(string); return s }
	for i, w := range want {
		g := got[i]
		if (line{str(g["action"]), str(g["role"]), str(g["room"]), str(g["target"])}) != w {
			t.Errorf("line %d: %v, want %+v", i, g, w)
		}
		if g["remote"] != "203.0.113.7" || g["level"] != "INFO" {
			t.Errorf("line %d: remote %v level %v", i, g["remote"], g["level"])
		}
	}
	if got[0]["body"] != `{"ttl_s":60}` || got[0]["ok"] != true || got[0]["status"] != float64(200) {
		t.Errorf("ban line: %v", got[0])
	}
	if last := got[len(got)-1]; last["ok"] != false || last["status"] != float64(403) {
		t.Errorf("refused config: %v", last)
	}
}

func TestAuditOf(t *testing.T) {
	f := func(method, path, name, room, target string) {
		t.Helper()
		a, ok := auditOf(method, path)
		if name == "" {
			if ok {
				t.Errorf("%s %s: audited as %+v", method, path, a)
			}
			return
		}
		if !ok || a.name != name || a.room != room || a.target != target {
			t.Errorf("%s %s: %+v %v, want %q %q %q", method, path, a, ok, name, room, target)
		}
	}
	f("PUT", "/v1/bans/u1", "ban_global", "", "u1")
	f("DELETE", "/v1/bans/u1", "unban_global", "", "u1")
	f("DELETE", "/v1/viewers/u1", "kick_global", "", "u1")
	f("POST", "/v1/node/drain", "drain", "", "")
	f("DELETE", "/v1/rooms/r/pins/123", "unpin", "r", "123")
	f("PUT", "/v1/rooms/r/counters/likes", "counter_set", "r", "likes")
	f("POST", "/v1/rooms/r/counters/likes", "", "", "")
	f("GET", "/v1/bans", "", "", "")
	f("POST", "/v1/bans/u1", "", "", "")
	f("PUT", "/v1/bans/", "", "", "")
	f("POST", "/v1/rooms/r/messages", "", "", "")
	f("POST", "/v1/node/other", "", "", "")
	f("PUT", "/healthz", "", "", "")
}
