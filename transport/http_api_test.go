package transport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/liveroom/liveroom/actors"
	"github.com/liveroom/liveroom/metrics"
	"github.com/liveroom/liveroom/ring"
	"github.com/liveroom/liveroom/rooms"
)

const (
	tSecret = "test-jwt-secret"
	tAPI    = "test-api-key"
	tAdmin  = "test-admin-key"
)

// fakeEngine records the calls of the HTTP API and answers what the test set. It embeds the
// Engine interface so that methods added to Engine later do not break it (calling one panics,
// which fails the test loudly).
type fakeEngine struct {
	Engine

	mu    sync.Mutex
	calls []string // one line per call, e.g. "Send r1 uid=u1 kind=chat pri=normal ..."

	stamp    rooms.Stamp
	rooms    int // NoticeAll's answer
	epoch    string
	window   ring.Window
	info     rooms.Info
	config   rooms.Config
	node, ws string // Route's answer
	err      error  // returned by every method when set
	readyErr error

	waitDeadline time.Duration // time left on WaitNew's ctx when it was called
	newMsg       chan struct{} // WaitNew returns when it is closed (nil: only at ctx's end)
	waiting      atomic.Int32  // WaitNew calls in progress
}

// newFakeEngine returns a fake whose answers, until a test sets others, are ones the real
// engine could give: every reply is checked against openapi.json (openapi_check_test.go).
func newFakeEngine() *fakeEngine {
	return &fakeEngine{epoch: "e1", stamp: rooms.Stamp{TS: 1, Seq: 1}, config: rooms.DefaultConfig(),
		info: rooms.Info{Room: "r1", Epoch: "e1", Config: rooms.DefaultConfig()}}
}

func (f *fakeEngine) record(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

// last returns the last call recorded ("" if none).
func (f *fakeEngine) last() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		return ""
	}
	return f.calls[len(f.calls)-1]
}

func (f *fakeEngine) ncalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// answer returns the fields a method answers with, read under the lock.
func (f *fakeEngine) answer() fakeEngine {
	f.mu.Lock()
	defer f.mu.Unlock()
	return fakeEngine{stamp: f.stamp, rooms: f.rooms, epoch: f.epoch, window: f.window, info: f.info, config: f.config,
		node: f.node, ws: f.ws, err: f.err, readyErr: f.readyErr, newMsg: f.newMsg}
}

func (f *fakeEngine) Send(_ context.Context, room string, r rooms.SendRequest) (rooms.Stamp, error) {
	f.record("Send %s uid=%q kind=%q pri=%s body=%s cmid=%q src=%d", room, r.UID, r.Kind, r.Pri, r.Body, r.CMID, r.Source)
	a := f.answer()
	return a.stamp, a.err
}

func (f *fakeEngine) NoticeAll(_ context.Context, kind string, body json.RawMessage) (int, error) {
	f.record("NoticeAll kind=%q body=%s", kind, body)
	a := f.answer()
	return a.rooms, a.err
}

func (f *fakeEngine) Pull(_ context.Context, room, uid string, since int64, limit int) (actors.PullResult, error) {
	f.record("Pull %s since=%d limit=%d%s", room, since, limit, viewerOf(uid))
	a := f.answer()
	return actors.PullResult{Epoch: a.epoch, Body: a.window.Encode(nil), Next: a.window.Next, NextSeq: a.window.NextSeq, Dropped: a.window.Dropped, Count: len(a.window.Msgs)}, a.err
}

func (f *fakeEngine) WaitNew(ctx context.Context, room, uid string, since int64) error {
	dl, _ := ctx.Deadline()
	f.mu.Lock()
	f.waitDeadline = time.Until(dl)
	f.mu.Unlock()
	f.record("WaitNew %s since=%d%s", room, since, viewerOf(uid))
	a := f.answer()
	if a.err != nil {
		return a.err
	}
	f.waiting.Add(1)
	defer f.waiting.Add(-1)
	select {
	case <-a.newMsg:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// viewerOf is how a call records the viewer it is made for (nothing for a key).
func viewerOf(uid string) string {
	if uid == "" {
		return ""
	}
	return " viewer=" + uid
}

func (f *fakeEngine) Info(_ context.Context, room string) (rooms.Info, error) {
	f.record("Info %s", room)
	a := f.answer()
	return a.info, a.err
}

func (f *fakeEngine) SetConfig(_ context.Context, room string, p rooms.ConfigPatch) (rooms.Config, error) {
	b, _ := json.Marshal(p)
	f.record("SetConfig %s %s", room, b)
	a := f.answer()
	return a.config, a.err
}

func (f *fakeEngine) Moderate(_ context.Context, room string, op rooms.ModOp) error {
	f.record("Moderate %s %s %s set=%v ttl=%v", room, op.List, op.UID, op.Set, op.TTL)
	return f.answer().err
}

func (f *fakeEngine) KickViewer(_ context.Context, room, uid string) error {
	f.record("KickViewer %s %s", room, uid)
	return f.answer().err
}

func (f *fakeEngine) Ready(context.Context) error {
	f.record("Ready")
	return f.answer().readyErr
}

func (f *fakeEngine) Route(_ context.Context, uid string) (string, string, error) {
	f.record("Route %s", uid)
	a := f.answer()
	return a.node, a.ws, a.err
}

// set changes the fake's answers under its lock.
func (f *fakeEngine) set(change func(f *fakeEngine)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(f)
}

// countingHandler counts log records at info level and above: the HTTP API must never log
// per request at info (audit lines of admin actions excepted: audit.go).
type countingHandler struct{ n *atomic.Int32 }

func (h countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h countingHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelInfo && r.Message != "audit" {
		h.n.Add(1)
	}
	return nil
}
func (h countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h countingHandler) WithGroup(string) slog.Handler      { return h }

// harness is a Server over a fakeEngine, served on an in-memory listener and called through
// a real fasthttp.Client, so request parsing, limits and the error handler are the real ones.
type harness struct {
	t       *testing.T
	srv     *Server
	eng     *fakeEngine
	metrics *metrics.Metrics
	client  *fasthttp.Client
	auth    *Auth
	infoLog atomic.Int32
}

func newHarness(t *testing.T, mut func(*Config)) *harness {
	t.Helper()
	cfg := Config{JWTSecret: tSecret, APIKey: tAPI, AdminKey: tAdmin, Node: "node-a"}
	if mut != nil {
		mut(&cfg)
	}
	h := &harness{t: t, eng: newFakeEngine(), metrics: metrics.New()}
	srv, err := New(cfg, h.eng, h.metrics, slog.New(countingHandler{&h.infoLog}))
	if err != nil {
		t.Fatal(err)
	}
	h.srv, h.auth = srv, srv.auth
	ln := fasthttputil.NewInmemoryListener()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	h.client = &fasthttp.Client{Dial: func(string) (net.Conn, error) { return ln.Dial() }, ReadTimeout: 10 * time.Second}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
		if n := h.infoLog.Load(); n != 0 {
			t.Errorf("%d log records at info level or above during requests", n)
		}
	})
	return h
}

// resp is one answer.
type resp struct {
	status int
	body   string
	header *fasthttp.ResponseHeader
}

// code returns the error code of an error body ("" if it is not one).
func (r resp) code() string {
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal([]byte(r.body), &e) != nil {
		return ""
	}
	return e.Error.Code
}

// do sends one request; authz is the whole Authorization header ("" = none), or a bare key
// name: "api" and "admin" mean the test keys.
func (h *harness) do(method, uri, authz, body string) resp {
	h.t.Helper()
	req, res := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(res)
	req.SetRequestURI("http://liveroom.test" + uri)
	req.Header.SetMethod(method)
	switch authz {
	case "":
	case "api":
		req.Header.Set("Authorization", "Bearer "+tAPI)
	case "admin":
		req.Header.Set("Authorization", "Bearer "+tAdmin)
	default:
		req.Header.Set("Authorization", authz)
	}
	if body != "" {
		req.SetBodyString(body)
	}
	if err := h.client.Do(req, res); err != nil {
		h.t.Fatalf("%s %s: %v", method, uri, err)
	}
	var hdr fasthttp.ResponseHeader
	res.Header.CopyTo(&hdr)
	return resp{status: res.StatusCode(), body: string(res.Body()), header: &hdr}
}

// expect checks status and, for errors, the code and that the body is the error format.
func (h *harness) expect(r resp, status int, code string) {
	h.t.Helper()
	if r.status != status {
		h.t.Errorf("status %d, want %d (body %s)", r.status, status, r.body)
	}
	if code != "" && r.code() != code {
		h.t.Errorf("error code %q, want %q (body %s)", r.code(), code, r.body)
	}
	if status >= 400 && !strings.HasPrefix(r.body, `{"error":{"code":"`) {
		h.t.Errorf("error body not in the API format: %s", r.body)
	}
	if ct := string(r.header.ContentType()); status != 200 && ct != "application/json" {
		h.t.Errorf("content type %q", ct)
	}
}

// waitFor polls cond until it holds or fails the test after 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestHTTPKeyChecks: every keyed endpoint answers 401 without a valid key, 403 to the server
// key where the admin key is needed, and reaches the engine with the right key.
func TestHTTPKeyChecks(t *testing.T) {
	h := newHarness(t, nil)
	viewerJWT, _ := h.auth.IssueToken("u1", time.Hour, nil)
	endpoints := []struct {
		method, path, body string
		admin              bool
	}{
		{"POST", "/v1/rooms/r1/messages", `{"uid":"u1","kind":"chat","body":1}`, false},
		{"POST", "/v1/rooms/r1/notices", `{"body":"hi"}`, true},
		{"POST", "/v1/notices", `{"body":"hi"}`, true},
		{"GET", "/v1/rooms/r1", "", false},
		{"PUT", "/v1/rooms/r1/config", `{"rate":{"normal":10}}`, true},
		{"PUT", "/v1/rooms/r1/bans/u1", "", false},
		{"DELETE", "/v1/rooms/r1/bans/u1", "", false},
		{"PUT", "/v1/rooms/r1/mutes/u1", "", false},
		{"DELETE", "/v1/rooms/r1/mutes/u1", "", false},
		{"PUT", "/v1/rooms/r1/whitelist/u1", "", false},
		{"DELETE", "/v1/rooms/r1/whitelist/u1", "", false},
		{"DELETE", "/v1/rooms/r1/viewers/u1", "", false},
	}
	for _, e := range endpoints {
		t.Run(e.method+" "+e.path, func(t *testing.T) {
			h.t = t
			before := h.eng.ncalls()
			for _, authz := range []string{"", "Bearer wrong", "Bearer " + tAPI + "x", "Basic " + tAPI, tAPI, "Bearer " + viewerJWT} {
				h.expect(h.do(e.method, e.path, authz, e.body), 401, "unauthorized")
			}
			if e.admin {
				h.expect(h.do(e.method, e.path, "api", e.body), 403, "forbidden")
			} else {
				h.expect(h.do(e.method, e.path, "api", e.body), 200, "")
			}
			if n := h.eng.ncalls() - before; e.admin && n != 0 || !e.admin && n != 1 {
				t.Errorf("engine called %d times by refused requests", n)
			}
			h.expect(h.do(e.method, e.path, "admin", e.body), 200, "")
			h.expect(h.do(e.method, e.path, "bearer "+tAdmin, e.body), 200, "") // scheme is case-insensitive
		})
	}
}

// TestHTTPRouting: unknown paths 404, wrong methods 405 with Allow, both in the error format.
func TestHTTPRouting(t *testing.T) {
	h := newHarness(t, nil)
	f := func(method, path string, status int, allow string) {
		t.Helper()
		r := h.do(method, path, "admin", "")
		if status == 405 {
			h.expect(r, 405, "bad_request")
			if got := string(r.header.Peek("Allow")); got != allow {
				t.Errorf("%s %s: Allow %q, want %q", method, path, got, allow)
			}
			return
		}
		h.expect(r, status, "not_found")
	}
	f("GET", "/nope", 404, "")
	f("GET", "/v1", 404, "")
	f("GET", "/v1/roomsx", 404, "")
	f("PUT", "/v1/bans/u1/x", 404, "")
	f("DELETE", "/v1/viewers/u1/x", 404, "")
	f("GET", "/v1/rooms/r1/nope", 404, "")
	f("GET", "/v1/rooms/r1/bans/", 405, "PUT, DELETE")
	f("PUT", "/v1/rooms/r1/nope/u1", 404, "")
	f("PUT", "/v1/rooms/r1/bans/u1/x", 404, "")
	f("GET", "/v1/rooms/r1/messages/x", 404, "")
	f("GET", "/v1/rooms/r1/", 404, "")
	f("GET", "/V1/rooms/r1", 404, "")
	f("DELETE", "/v1/rooms/r1/messages", 405, "GET, POST")
	f("PUT", "/v1/rooms/r1", 405, "GET")
	f("GET", "/v1/rooms/r1/notices", 405, "POST")
	f("GET", "/v1/notices", 405, "POST")
	f("POST", "/v1/rooms/r1/config", 405, "PUT")
	f("GET", "/v1/rooms/r1/bans/u1", 405, "PUT, DELETE")
	f("PUT", "/v1/rooms/r1/viewers/u1", 405, "DELETE")
	f("POST", "/v1/route?uid=u1", 405, "GET")
	f("POST", "/healthz", 405, "GET, HEAD")
	f("DELETE", "/readyz", 405, "GET, HEAD")
	f("POST", "/metrics", 405, "GET")
	f("POST", "/", 405, "GET, HEAD")
	f("PUT", "/v1/sdk/liveroom.js", 405, "GET, HEAD")
	if n := h.eng.ncalls(); n != 0 {
		t.Errorf("engine called %d times: %s", n, h.eng.last())
	}
}

// TestHTTPBadIDs: room ids and uids in paths are checked (400), after the key.
func TestHTTPBadIDs(t *testing.T) {
	h := newHarness(t, nil)
	long := strings.Repeat("a", 129)
	for _, c := range []struct{ method, path string }{
		{"GET", "/v1/rooms/bad%20room"},
		{"GET", "/v1/rooms/" + long},
		{"POST", "/v1/rooms/r%C3%A9/messages"},
		{"GET", "/v1/rooms/r!/messages"},
		{"POST", "/v1/rooms/r%2Fx/notices"}, // decodes to r/x: not a room path at all
		{"PUT", "/v1/rooms/r$/config"},
		{"PUT", "/v1/rooms/r1/bans/u%20x"},
		{"DELETE", "/v1/rooms/r1/mutes/" + long},
		{"PUT", "/v1/rooms/r1/whitelist/u*"},
		{"DELETE", "/v1/rooms/r1/viewers/u%22"},
		{"DELETE", "/v1/rooms/r%23/viewers/u1"},
	} {
		r := h.do(c.method, c.path, "admin", `{"kind":"k","body":1}`)
		want := 400
		if strings.Contains(c.path, "%2F") {
			want = 404
		}
		if r.status != want {
			t.Errorf("%s %s: %d %s", c.method, c.path, r.status, r.body)
		}
	}
	// The key is checked before the ids: nothing about the path is told without one.
	h.expect(h.do("GET", "/v1/rooms/bad%20room", "", ""), 401, "unauthorized")
	if n := h.eng.ncalls(); n != 0 {
		t.Errorf("engine called: %s", h.eng.last())
	}
}

// TestHTTPStatusMapping: engine errors become the statuses of PROTOCOL.md section 5.
func TestHTTPStatusMapping(t *testing.T) {
	// The fake answers each error from each endpoint, most of which the real engine never gives
	// there (a kick answered muted): these replies are not the document's to describe.
	exemptReplies(t, "the fake engine answers every error code from every endpoint")
	h := newHarness(t, nil)
	f := func(err error, status int, code string) {
		t.Helper()
		h.eng.set(func(f *fakeEngine) { f.err = err })
		for _, c := range []struct{ method, path, body string }{
			{"POST", "/v1/rooms/r1/messages", `{"uid":"u1","kind":"chat","body":1}`},
			{"GET", "/v1/rooms/r1/messages", ""},
			{"GET", "/v1/rooms/r1", ""},
			{"PUT", "/v1/rooms/r1/bans/u1", ""},
			{"DELETE", "/v1/rooms/r1/viewers/u1", ""},
			{"POST", "/v1/notices", `{"body":1}`},
		} {
			r := h.do(c.method, c.path, "admin", c.body)
			h.expect(r, status, code)
		}
	}
	f(rooms.Errorf(rooms.CodeBadRequest, "x"), 400, "bad_request")
	f(rooms.Errorf(rooms.CodeUnauthorized, "x"), 401, "unauthorized")
	f(rooms.Errorf(rooms.CodeForbidden, "x"), 403, "forbidden")
	f(rooms.Errorf(rooms.CodeMuted, "x"), 403, "muted")
	f(rooms.Errorf(rooms.CodeBanned, "x"), 403, "banned")
	f(rooms.Errorf(rooms.CodeNotFound, "x"), 404, "not_found")
	f(rooms.Errorf(rooms.CodeNotJoined, "x"), 409, "not_joined")
	f(rooms.Errorf(rooms.CodeTooManyRooms, "x"), 409, "too_many_rooms")
	f(rooms.Errorf(rooms.CodeTooLarge, "x"), 413, "too_large")
	f(rooms.Errorf(rooms.CodeRateLimited, "x"), 429, "rate_limited")
	f(rooms.Errorf(rooms.CodeInternal, "x"), 500, "internal")
	f(rooms.Errorf(rooms.CodeUnavailable, "x"), 503, "unavailable")
	f(fmt.Errorf("room r1: %w", rooms.Errorf(rooms.CodeMuted, "wrapped")), 403, "muted")
	f(errors.New("something broke"), 500, "internal")
	f(context.DeadlineExceeded, 503, "unavailable")
	f(fmt.Errorf("request: %w", context.DeadlineExceeded), 503, "unavailable")
}

// TestWriteErrorMessage: the message survives, escaped, in valid JSON.
func TestWriteErrorMessage(t *testing.T) {
	var ctx fasthttp.RequestCtx
	writeError(&ctx, rooms.Errorf(rooms.CodeBadRequest, "bad \"quote\" \\ and \n newline é"))
	var e struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(ctx.Response.Body(), &e); err != nil {
		t.Fatalf("%s: %v", ctx.Response.Body(), err)
	}
	if e.Error.Code != "bad_request" || e.Error.Message != "bad \"quote\" \\ and \n newline é" || ctx.Response.StatusCode() != 400 {
		t.Errorf("got %+v status %d", e, ctx.Response.StatusCode())
	}
}

// TestHandlerDirect drives Handler() with a bare RequestCtx (no connection).
func TestHandlerDirect(t *testing.T) {
	h := newHarness(t, nil)
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI("/healthz")
	h.srv.Handler()(&ctx)
	if ctx.Response.StatusCode() != 200 || string(ctx.Response.Body()) != `{"ok":true}` {
		t.Errorf("healthz: %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
}
