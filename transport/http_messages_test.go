package transport

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/valyala/fasthttp"

	"github.com/liveroom/liveroom/ring"
	"github.com/liveroom/liveroom/rooms"
)

func TestHTTPPostMessage(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxBody = 64 })
	h.eng.stamp = rooms.Stamp{TS: 1732280000123456, Seq: 42}
	ok := func(key, body, wantCall string) {
		t.Helper()
		r := h.do("POST", "/v1/rooms/r1/messages", key, body)
		h.expect(r, 200, "")
		if r.body != `{"ts":1732280000123456,"seq":42}` {
			t.Errorf("%s: reply %s", body, r.body)
		}
		if got := h.eng.last(); got != wantCall {
			t.Errorf("%s:\n got  %s\n want %s", body, got, wantCall)
		}
	}
	ok("api", `{"uid":"u1","kind":"chat","body":{"text":"hi"}}`,
		`Send r1 uid="u1" kind="chat" pri=normal body={"text":"hi"} cmid="" src=1`)
	ok("admin", `{"uid":"u1","kind":"chat","body":{"text":"hi"}}`,
		`Send r1 uid="u1" kind="chat" pri=normal body={"text":"hi"} cmid="" src=2`)
	ok("api", ` { "uid" : "" , "kind":"gift", "pri":"high", "body": [ 1, 2 , {"a" : null} ], "cmid":"c-7" } `,
		`Send r1 uid="" kind="gift" pri=high body=[1,2,{"a":null}] cmid="c-7" src=1`)
	ok("api", `{"kind":"like","pri":"low","body":"x","extra":true}`, // uid absent = "", unknown fields ignored
		`Send r1 uid="" kind="like" pri=low body="x" cmid="" src=1`)
	ok("api", `{"uid":null,"kind":"`+strings.Repeat("k", 32)+`","body":false}`,
		`Send r1 uid="" kind="`+strings.Repeat("k", 32)+`" pri=normal body=false cmid="" src=1`)
	// The limit is on the encoded body: white space between tokens does not count.
	padded := `{"a":"` + strings.Repeat("x", 56) + `"}`
	ok("api", `{"kind":"k","body":`+strings.Replace(padded, ":", " :        ", 1)+`}`,
		`Send r1 uid="" kind="k" pri=normal body=`+padded+` cmid="" src=1`)

	h.eng.stamp.Dup = true
	r := h.do("POST", "/v1/rooms/r1/messages", "api", `{"uid":"u1","kind":"chat","body":1,"cmid":"c1"}`)
	if r.status != 200 || r.body != `{"ts":1732280000123456,"seq":42,"dup":true}` {
		t.Errorf("dup reply %d %s", r.status, r.body)
	}

	bad := func(body string, status int, code string) {
		t.Helper()
		n := h.eng.ncalls()
		h.expect(h.do("POST", "/v1/rooms/r1/messages", "api", body), status, code)
		if h.eng.ncalls() != n {
			t.Errorf("%s reached the engine", body)
		}
	}
	bad(``, 400, "bad_request")
	bad(`   `, 400, "bad_request")
	bad(`{`, 400, "bad_request")
	bad(`[]`, 400, "bad_request")
	bad(`"x"`, 400, "bad_request")
	bad(`null`, 400, "bad_request") // no kind, no body
	bad(`{"uid":"u1","kind":"chat"}`, 400, "bad_request")
	bad(`{"uid":"u1","kind":"chat","body":null}`, 400, "bad_request")
	bad(`{"uid":1,"kind":"chat","body":1}`, 400, "bad_request")
	bad(`{"uid":"u 1","kind":"chat","body":1}`, 400, "bad_request")
	bad(`{"uid":"`+strings.Repeat("u", 129)+`","kind":"chat","body":1}`, 400, "bad_request")
	bad(`{"uid":"u1","kind":7,"body":1}`, 400, "bad_request")
	bad(`{"uid":"u1","body":1}`, 400, "bad_request")
	bad(`{"uid":"u1","kind":"","body":1}`, 400, "bad_request")
	bad(`{"uid":"u1","kind":"`+strings.Repeat("k", 33)+`","body":1}`, 400, "bad_request")
	bad(`{"uid":"u1","kind":"chat","pri":"urgent","body":1}`, 400, "bad_request")
	bad(`{"uid":"u1","kind":"chat","pri":2,"body":1}`, 400, "bad_request")
	bad(`{"uid":"u1","kind":"chat","pri":"NORMAL","body":1}`, 400, "bad_request")
	bad(`{"uid":"u1","kind":"chat","body":1,"cmid":5}`, 400, "bad_request")
	bad(`{"uid":"u1","kind":"chat","body":1,"cmid":"`+strings.Repeat("c", 129)+`"}`, 400, "bad_request")
	bad(`{"uid":"u1","kind":"chat","body":1} {"again":1}`, 400, "bad_request")
	bad(`{"uid":"u1","kind":"chat","body":1}}`, 400, "bad_request")
	bad(`{"uid":"u1","kind":"chat","body":"`+strings.Repeat("x", 63)+`"}`, 413, "too_large")
	bad(`{"uid":"u1","kind":"chat","body":{"a":"`+strings.Repeat("x", 58)+`"}}`, 413, "too_large")
	// Exactly max_body (64) encoded is fine.
	h.expect(h.do("POST", "/v1/rooms/r1/messages", "api", `{"kind":"chat","body":"`+strings.Repeat("x", 62)+`"}`), 200, "")
}

func TestHTTPNotices(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxBody = 32 })
	h.eng.stamp = rooms.Stamp{TS: 7, Seq: 3}
	r := h.do("POST", "/v1/rooms/r1/notices", "admin", `{"body":{"text":"welcome"}}`)
	h.expect(r, 200, "")
	if r.body != `{"ts":7,"seq":3}` {
		t.Errorf("reply %s", r.body)
	}
	if got, want := h.eng.last(), `Send r1 uid="" kind="notice" pri=system body={"text":"welcome"} cmid="" src=2`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	h.expect(h.do("POST", "/v1/rooms/r1/notices", "admin", `{"kind":"pin","body":"x"}`), 200, "")
	if got, want := h.eng.last(), `Send r1 uid="" kind="pin" pri=system body="x" cmid="" src=2`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}

	h.eng.rooms = 3
	r = h.do("POST", "/v1/notices", "admin", `{"kind":"maint","body":{"t":1}}`)
	if r.status != 200 || r.body != `{"rooms":3}` {
		t.Errorf("notice all: %d %s", r.status, r.body)
	}
	if got, want := h.eng.last(), `NoticeAll kind="maint" body={"t":1}`; got != want {
		t.Errorf("got %s want %s", got, want)
	}
	h.expect(h.do("POST", "/v1/notices", "admin", `{"body":"y"}`), 200, "")
	if got, want := h.eng.last(), `NoticeAll kind="notice" body="y"`; got != want {
		t.Errorf("got %s want %s", got, want)
	}

	for _, path := range []string{"/v1/rooms/r1/notices", "/v1/notices"} {
		n := h.eng.ncalls()
		h.expect(h.do("POST", path, "admin", `{}`), 400, "bad_request")
		h.expect(h.do("POST", path, "admin", `{"body":null}`), 400, "bad_request")
		h.expect(h.do("POST", path, "admin", `{"kind":"","body":1}`), 400, "bad_request")
		h.expect(h.do("POST", path, "admin", `{"kind":1,"body":1}`), 400, "bad_request")
		h.expect(h.do("POST", path, "admin", `{"body":"`+strings.Repeat("x", 31)+`"}`), 413, "too_large")
		if h.eng.ncalls() != n {
			t.Errorf("%s: a bad notice reached the engine: %s", path, h.eng.last())
		}
	}
}

// testWindow is a window of two messages as the engine would return it.
func testWindow() ring.Window {
	w := ring.Window{
		Msgs: []*ring.Message{
			{TS: 100, Seq: 5, Pri: ring.System, Kind: "notice", Body: json.RawMessage(`{"t":"hi"}`)},
			{TS: 120, Seq: 9, Pri: ring.Normal, Kind: "chat", UID: "u1", CMID: "c1", Body: json.RawMessage(`"yo"`)},
		},
		Dropped: 3, Next: 120, NextSeq: 9,
	}
	for _, m := range w.Msgs {
		m.Encode() // before they are shared, as the rings do
	}
	return w
}

const testWindowJSON = `{"room":"r1","epoch":"e1","msgs":[` +
	`{"ts":100,"seq":5,"pri":"system","kind":"notice","uid":"","body":{"t":"hi"}},` +
	`{"ts":120,"seq":9,"pri":"normal","kind":"chat","uid":"u1","cmid":"c1","body":"yo"}` +
	`],"dropped":3,"next":120,"next_seq":9,"more":false}`

// TestHTTPPullAuth: a viewer token (header or ?token=) allowing the room, or a key.
func TestHTTPPullAuth(t *testing.T) {
	h := newHarness(t, nil)
	h.eng.window = testWindow()
	tok := func(claims jwt.MapClaims, m jwt.SigningMethod, key any) string {
		s, err := jwt.NewWithClaims(m, claims).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	exp := time.Now().Add(time.Hour).Unix()
	any1, _ := h.auth.IssueToken("u1", time.Hour, nil)
	onlyR1, _ := h.auth.IssueToken("u1", time.Hour, []string{"r0", "r1"})
	onlyR2, _ := h.auth.IssueToken("u1", time.Hour, []string{"r2"})
	noRooms, _ := h.auth.IssueToken("u1", time.Hour, []string{})
	expired, _ := h.auth.IssueToken("u1", -time.Minute, nil)
	hs512 := tok(jwt.MapClaims{"sub": "u1", "exp": exp}, jwt.SigningMethodHS512, []byte(tSecret))
	none := tok(jwt.MapClaims{"sub": "u1", "exp": exp}, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType)
	otherKey := tok(jwt.MapClaims{"sub": "u1", "exp": exp}, jwt.SigningMethodHS256, []byte("other"))
	noExp := tok(jwt.MapClaims{"sub": "u1"}, jwt.SigningMethodHS256, []byte(tSecret))
	badSub := tok(jwt.MapClaims{"sub": "u 1", "exp": exp}, jwt.SigningMethodHS256, []byte(tSecret))
	roomsStr := tok(jwt.MapClaims{"sub": "u1", "exp": exp, "rooms": "r1"}, jwt.SigningMethodHS256, []byte(tSecret))

	f := func(query, authz string, status int, code string) {
		t.Helper()
		r := h.do("GET", "/v1/rooms/r1/messages"+query, authz, "")
		h.expect(r, status, code)
		if status == 200 && r.body != testWindowJSON {
			t.Errorf("body %s", r.body)
		}
	}
	f("?token="+any1, "", 200, "")
	f("", "Bearer "+any1, 200, "")
	f("?token="+onlyR1, "", 200, "")
	f("", "api", 200, "")
	f("", "admin", 200, "")
	f("?token="+onlyR2, "", 403, "forbidden")
	f("?token="+noRooms, "", 403, "forbidden")
	f("", "", 401, "unauthorized")
	f("?token=garbage", "", 401, "unauthorized")
	f("", "Bearer garbage", 401, "unauthorized")
	f("?token="+expired, "", 401, "unauthorized")
	f("?token="+hs512, "", 401, "unauthorized")
	f("?token="+none, "", 401, "unauthorized")
	f("?token="+otherKey, "", 401, "unauthorized")
	f("?token="+noExp, "", 401, "unauthorized")
	f("?token="+badSub, "", 401, "unauthorized")
	f("?token="+roomsStr, "", 401, "unauthorized")
	f("?uid=u1", "", 401, "unauthorized") // dev mode only
	// A bad room id: 400 after authentication, not 403.
	h.expect(h.do("GET", "/v1/rooms/r%20x/messages?token="+any1, "", ""), 400, "bad_request")
	h.expect(h.do("GET", "/v1/rooms/r%20x/messages", "", ""), 401, "unauthorized")

	d := newHarness(t, func(c *Config) { c.Dev = true })
	d.eng.window = testWindow()
	d.expect(d.do("GET", "/v1/rooms/r1/messages?uid=u1", "", ""), 200, "")
	d.expect(d.do("GET", "/v1/rooms/r1/messages?uid=u%201", "", ""), 401, "unauthorized")
}

// TestHTTPPullQuery: since, limit and wait are checked and clamped before reaching the engine.
func TestHTTPPullQuery(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxWait = 50 * time.Millisecond })
	ok := func(query, wantCall string) {
		t.Helper()
		h.expect(h.do("GET", "/v1/rooms/r1/messages"+query, "api", ""), 200, "")
		if got := h.eng.last(); got != wantCall {
			t.Errorf("%s: got %s, want %s", query, got, wantCall)
		}
	}
	ok("", "Pull r1 since=0 limit=100")
	ok("?since=1732280000123456&limit=5", "Pull r1 since=1732280000123456 limit=5")
	ok("?limit=200", "Pull r1 since=0 limit=200")
	ok("?limit=201", "Pull r1 since=0 limit=200")
	ok("?limit=99999999999", "Pull r1 since=0 limit=200")
	ok("?since=&limit=&wait=", "Pull r1 since=0 limit=100")
	ok("?wait=0", "Pull r1 since=0 limit=100")
	ok("?wait=-3", "Pull r1 since=0 limit=100") // clamped to 0: no wait
	bad := func(query string) {
		t.Helper()
		n := h.eng.ncalls()
		h.expect(h.do("GET", "/v1/rooms/r1/messages"+query, "api", ""), 400, "bad_request")
		if h.eng.ncalls() != n {
			t.Errorf("%s reached the engine", query)
		}
	}
	bad("?since=-1")
	bad("?since=abc")
	bad("?since=1.5")
	bad("?since=99999999999999999999")
	bad("?limit=0")
	bad("?limit=-5")
	bad("?limit=ten")
	bad("?limit=2.5")
	bad("?wait=soon")
	bad("?wait=NaN")
	bad("?wait=Inf")

	// wait over MaxWait is clamped: WaitNew's deadline is at most MaxWait away, then the pull
	// answers the (empty) window.
	h.eng.window = ring.Window{Next: 0}
	r := h.do("GET", "/v1/rooms/r1/messages?since=5&wait=30", "api", "")
	h.expect(r, 200, "")
	if r.body != `{"room":"r1","epoch":"e1","msgs":[],"dropped":0,"next":0,"next_seq":0,"more":false}` {
		t.Errorf("empty window body %s", r.body)
	}
	h.eng.mu.Lock()
	calls, dl := h.eng.calls, h.eng.waitDeadline
	h.eng.mu.Unlock()
	if len(calls) < 2 || calls[len(calls)-2] != "WaitNew r1 since=5" || calls[len(calls)-1] != "Pull r1 since=5 limit=100" {
		t.Errorf("calls %q", calls[max(0, len(calls)-2):])
	}
	if dl <= 0 || dl > 50*time.Millisecond {
		t.Errorf("WaitNew deadline %v, want (0, 50ms]", dl)
	}
}

// TestHTTPLongPoll: a pull with wait returns as soon as a new message arrives, and at once on
// Shutdown.
func TestHTTPLongPoll(t *testing.T) {
	h := newHarness(t, nil)
	h.eng.newMsg = make(chan struct{})
	h.eng.window = testWindow()
	got := make(chan resp, 1)
	go func() { got <- h.do("GET", "/v1/rooms/r1/messages?since=99&wait=30", "api", "") }()
	waitFor(t, "the long-poll to wait", func() bool { return h.eng.waiting.Load() == 1 })
	select {
	case r := <-got:
		t.Fatalf("answered before a message: %d %s", r.status, r.body)
	default:
	}
	close(h.eng.newMsg)
	r := <-got
	if r.status != 200 || r.body != testWindowJSON {
		t.Errorf("after a message: %d %s", r.status, r.body)
	}

	// Shutdown ends a long-poll (with an empty window) instead of waiting for it.
	h.eng.set(func(f *fakeEngine) { f.newMsg, f.window = nil, ring.Window{Next: 99} })
	go func() { got <- h.do("GET", "/v1/rooms/r1/messages?since=99&wait=30", "api", "") }()
	waitFor(t, "the second long-poll to wait", func() bool { return h.eng.waiting.Load() == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := h.srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	r = <-got
	if r.status != 200 || r.body != `{"room":"r1","epoch":"e1","msgs":[],"dropped":0,"next":99,"next_seq":0,"more":false}` {
		t.Errorf("long-poll at shutdown: %d %s", r.status, r.body)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("shutdown waited %v for the long-poll", d)
	}
}

// TestHTTPPullWaitError: an engine error while waiting (not the timeout) is answered.
func TestHTTPPullWaitError(t *testing.T) {
	h := newHarness(t, nil)
	h.eng.err = rooms.Errorf(rooms.CodeUnavailable, "room moving")
	h.expect(h.do("GET", "/v1/rooms/r1/messages?wait=1", "api", ""), 503, "unavailable")
}

// benchServer is a Server over a fake engine for benchmarks driving Handler() directly.
func benchServer(b *testing.B, eng *fakeEngine) *Server {
	s, err := New(Config{JWTSecret: tSecret, APIKey: tAPI, AdminKey: tAdmin}, eng, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return s
}

// BenchmarkHTTPPull: one 100-message pull through the router with the server key
// (`go test -run '^$' -bench HTTPP -benchtime=2000x ./transport/`).
func BenchmarkHTTPPull(b *testing.B) {
	w := ring.Window{Next: 1000}
	for i := 0; i < 100; i++ {
		m := &ring.Message{TS: int64(900 + i), Seq: uint64(i + 1), Pri: ring.Normal, Kind: "chat", UID: "u1", Body: json.RawMessage(`{"text":"hello there"}`)}
		m.Encode()
		w.Msgs = append(w.Msgs, m)
	}
	eng := &fakeEngine{epoch: "e1", window: w}
	h := benchServer(b, eng).Handler()
	var ctx fasthttp.RequestCtx
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.SetRequestURI("/v1/rooms/r1/messages?since=899&limit=100")
		ctx.Request.Header.Set("Authorization", "Bearer "+tAPI)
		h(&ctx)
		if ctx.Response.StatusCode() != 200 {
			b.Fatal(string(ctx.Response.Body()))
		}
		eng.calls = eng.calls[:0]
	}
	b.SetBytes(int64(len(ctx.Response.Body())))
}

// BenchmarkHTTPPost: one message post through the router with the server key.
func BenchmarkHTTPPost(b *testing.B) {
	eng := &fakeEngine{stamp: rooms.Stamp{TS: 1, Seq: 1}}
	h := benchServer(b, eng).Handler()
	body := []byte(`{"uid":"u1","kind":"chat","body":{"text":"hello there"},"cmid":"c-1"}`)
	var ctx fasthttp.RequestCtx
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.SetRequestURI("/v1/rooms/r1/messages")
		ctx.Request.Header.SetMethod("POST")
		ctx.Request.Header.Set("Authorization", "Bearer "+tAPI)
		ctx.Request.SetBody(body)
		h(&ctx)
		if ctx.Response.StatusCode() != 200 {
			b.Fatal(string(ctx.Response.Body()))
		}
		eng.calls = eng.calls[:0]
	}
}
