package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// apiRec is one request the fake API server saw.
type apiRec struct {
	Method, Path, Query, Auth, Body string
}

// fakeAPI answers by "METHOD /path" with a status and a body, recording every request.
type fakeAPI struct {
	mu      sync.Mutex
	reqs    []apiRec
	answers map[string][2]string // key -> {status, body}
	block   chan struct{}        // "GET /block" waits on it
}

func newFakeAPI(t *testing.T) (*fakeAPI, *httptest.Server) {
	fa := &fakeAPI{answers: map[string][2]string{}, block: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fa.mu.Lock()
		fa.reqs = append(fa.reqs, apiRec{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Get("Authorization"), string(b)})
		a, ok := fa.answers[r.Method+" "+r.URL.EscapedPath()]
		fa.mu.Unlock()
		if r.URL.Path == "/block" {
			<-fa.block
		}
		if !ok {
			a = [2]string{"200", `{}`}
		}
		status := map[string]int{"200": 200, "204": 204, "400": 400, "403": 403, "413": 413, "429": 429, "500": 500}[a[0]]
		w.WriteHeader(status)
		_, _ = io.WriteString(w, a[1])
	}))
	t.Cleanup(func() {
		close(fa.block)
		srv.Close()
	})
	return fa, srv
}

func (fa *fakeAPI) answer(key, status, body string) {
	fa.mu.Lock()
	defer fa.mu.Unlock()
	fa.answers[key] = [2]string{status, body}
}

func (fa *fakeAPI) last() apiRec {
	fa.mu.Lock()
	defer fa.mu.Unlock()
	return fa.reqs[len(fa.reqs)-1]
}

func TestAPIRequestsAndAnswers(t *testing.T) {
	fa, srv := newFakeAPI(t)
	api := NewAPI(srv.URL+"/", "k-admin")
	ctx := testCtx(t)
	check := func(want apiRec) {
		t.Helper()
		got := fa.last()
		if got.Method != want.Method || got.Path != want.Path || got.Query != want.Query || got.Auth != "Bearer k-admin" {
			t.Fatalf("request %+v, want %+v", got, want)
		}
		if want.Body != "" {
			var g, w any
			if json.Unmarshal([]byte(got.Body), &g) != nil || json.Unmarshal([]byte(want.Body), &w) != nil ||
				!jsonEqual(g, w) {
				t.Fatalf("body %s, want %s", got.Body, want.Body)
			}
		} else if got.Body != "" {
			t.Fatalf("unexpected body %s", got.Body)
		}
	}

	fa.answer("POST /v1/rooms/R/messages", "200", `{"ts":12,"seq":3,"dup":true}`)
	s, err := api.Post(ctx, "R", PostMessage{UID: "u1", Kind: "chat", Body: json.RawMessage(`{"t":"x"}`), CMID: "c1"})
	if err != nil || s != (Sent{TS: 12, Seq: 3, Dup: true}) {
		t.Fatalf("post: %+v %v", s, err)
	}
	check(apiRec{Method: "POST", Path: "/v1/rooms/R/messages", Body: `{"uid":"u1","kind":"chat","body":{"t":"x"},"cmid":"c1"}`})
	if _, err := api.Post(ctx, "R", PostMessage{UID: "u", Kind: "chat", Body: json.RawMessage(`{`)}); err == nil {
		t.Fatal("invalid body accepted")
	}

	fa.answer("POST /v1/rooms/a%2Fb/notices", "200", `{"ts":20,"seq":4}`)
	if s, err := api.Notice(ctx, "a/b", "notice", map[string]string{"text": "hi"}); err != nil || s.TS != 20 {
		t.Fatalf("notice: %+v %v", s, err)
	}
	check(apiRec{Method: "POST", Path: "/v1/rooms/a%2Fb/notices", Body: `{"kind":"notice","body":{"text":"hi"}}`})

	fa.answer("POST /v1/notices", "200", `{"rooms":7}`)
	if n, err := api.NoticeAll(ctx, "", "hello"); err != nil || n != 7 {
		t.Fatalf("notice all: %d %v", n, err)
	}
	check(apiRec{Method: "POST", Path: "/v1/notices", Body: `{"body":"hello"}`})

	fa.answer("GET /v1/rooms/R", "200", `{"room":"R","online":5,"ts":9,"seq":2,"config":{"rate":{"high":50,"normal":200,"low":100},"ring":{"system":256,"high":512,"normal":1024,"low":256},"extra":1},"stats":{"accepted":10,"rate_limited":1,"evicted":2,"notifies":3,"pulls":4}}`)
	ri, err := api.Room(ctx, "R")
	if err != nil || ri.Online != 5 || ri.Seq != 2 || ri.Stats != (RoomStats{10, 1, 2, 3, 4}) {
		t.Fatalf("room: %+v %v", ri, err)
	}
	var rc RoomConfig
	if err := json.Unmarshal(ri.Config, &rc); err != nil || rc.Rate.Normal != 200 || rc.Ring.Normal != 1024 {
		t.Fatalf("config %s: %+v %v", ri.Config, rc, err)
	}
	check(apiRec{Method: "GET", Path: "/v1/rooms/R"})

	fa.answer("PUT /v1/rooms/R/config", "200", `{"rate":{"high":50,"normal":10,"low":100}}`)
	raw, err := api.SetConfig(ctx, "R", map[string]any{"rate": map[string]int{"normal": 10}})
	if err != nil || !strings.Contains(string(raw), `"normal":10`) {
		t.Fatalf("set config: %s %v", raw, err)
	}
	check(apiRec{Method: "PUT", Path: "/v1/rooms/R/config", Body: `{"rate":{"normal":10}}`})

	moderation := []struct {
		call func() error
		want apiRec
	}{
		{func() error { return api.Ban(ctx, "R", "u 1", 10*time.Minute) }, apiRec{Method: "PUT", Path: "/v1/rooms/R/bans/u%201", Body: `{"ttl_s":600}`}},
		{func() error { return api.Ban(ctx, "R", "u1", 0) }, apiRec{Method: "PUT", Path: "/v1/rooms/R/bans/u1", Body: `{"ttl_s":0}`}},
		{func() error { return api.Mute(ctx, "R", "u1", 1500*time.Millisecond) }, apiRec{Method: "PUT", Path: "/v1/rooms/R/mutes/u1", Body: `{"ttl_s":2}`}},
		{func() error { return api.Whitelist(ctx, "R", "u1", time.Hour) }, apiRec{Method: "PUT", Path: "/v1/rooms/R/whitelist/u1", Body: `{"ttl_s":3600}`}},
		{func() error { return api.Unban(ctx, "R", "u1") }, apiRec{Method: "DELETE", Path: "/v1/rooms/R/bans/u1"}},
		{func() error { return api.Unmute(ctx, "R", "u1") }, apiRec{Method: "DELETE", Path: "/v1/rooms/R/mutes/u1"}},
		{func() error { return api.Unwhitelist(ctx, "R", "u1") }, apiRec{Method: "DELETE", Path: "/v1/rooms/R/whitelist/u1"}},
		{func() error { return api.Kick(ctx, "R", "u1") }, apiRec{Method: "DELETE", Path: "/v1/rooms/R/viewers/u1"}},
	}
	for _, m := range moderation {
		if err := m.call(); err != nil {
			t.Fatalf("%+v: %v", m.want, err)
		}
		check(m.want)
	}
	if err := api.Ban(ctx, "R", "u1", -time.Second); err == nil {
		t.Fatal("negative ttl accepted")
	}

	fa.answer("GET /v1/rooms/R/messages", "200", `{"room":"R","epoch":"E","msgs":[{"ts":5,"seq":1,"pri":"high","kind":"gift","uid":"u","body":[1]}],"dropped":2,"next":5,"more":true}`)
	m, err := api.Pull(ctx, "R", 3, 50, 1500*time.Millisecond)
	if err != nil || m.Epoch != "E" || len(m.Msgs) != 1 || m.Msgs[0].Pri != "high" || string(m.Msgs[0].Body) != "[1]" ||
		m.Dropped != 2 || m.Next != 5 || !m.More {
		t.Fatalf("pull: %+v %v", m, err)
	}
	check(apiRec{Method: "GET", Path: "/v1/rooms/R/messages", Query: "since=3&limit=50&wait=2"})
	if _, err := api.Pull(ctx, "R", 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	check(apiRec{Method: "GET", Path: "/v1/rooms/R/messages", Query: "since=0"})

	fa.answer("GET /v1/route", "200", `{"node":"n2","ws":"ws://h:1/v1/ws"}`)
	if r, err := api.Route(ctx, "u&1"); err != nil || r != (Route{Node: "n2", WS: "ws://h:1/v1/ws"}) {
		t.Fatalf("route: %+v %v", r, err)
	}
	check(apiRec{Method: "GET", Path: "/v1/route", Query: "uid=u%261"})

	fa.answer("GET /v1/dev/token", "200", `{"token":"jwt"}`)
	if tok, err := api.DevToken(ctx, "u1"); err != nil || tok != "jwt" {
		t.Fatalf("dev token: %q %v", tok, err)
	}
	if err := api.Health(ctx); err != nil {
		t.Fatal(err)
	}
	fa.answer("GET /readyz", "500", "not ready: store unreachable\n")
	if err := api.Ready(ctx); err == nil {
		t.Fatal("ready with 500")
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestAPIErrors(t *testing.T) {
	fa, srv := newFakeAPI(t)
	api := NewAPI(srv.URL, "k")
	ctx := testCtx(t)
	f := func(status, body string, want APIError) {
		t.Helper()
		fa.answer("POST /v1/rooms/R/messages", status, body)
		_, err := api.Post(ctx, "R", PostMessage{UID: "u", Kind: "chat"})
		var ae *APIError
		if !errors.As(err, &ae) || *ae != want {
			t.Fatalf("%s %s: %v, want %+v", status, body, err, want)
		}
	}
	f("429", `{"error":{"code":"rate_limited","message":"normal over 200/s"}}`, APIError{429, CodeRateLimited, "normal over 200/s"})
	f("403", `{"error":{"code":"muted","message":""}}`, APIError{403, CodeMuted, ""})
	f("413", `{"error":{"code":"too_large","message":"body over 4096"}}`, APIError{413, CodeTooLarge, "body over 4096"})
	f("400", `{"error":{}}`, APIError{400, "", `{"error":{}}`})
	f("500", "upstream exploded\n", APIError{500, "", "upstream exploded"})
	f("500", strings.Repeat("x", 1000), APIError{500, "", strings.Repeat("x", 256)})
	fa.answer("POST /v1/rooms/R/messages", "429", `{"error":{"code":"rate_limited"}}`)
	if _, err := api.Post(ctx, "R", PostMessage{}); !IsCode(err, CodeRateLimited) {
		t.Fatalf("IsCode: %v", err)
	}

	// A 2xx answer that is not the expected JSON.
	fa.answer("GET /v1/rooms/R", "200", `not json`)
	if _, err := api.Room(ctx, "R"); err == nil || !strings.Contains(err.Error(), "decoding") {
		t.Fatalf("bad answer: %v", err)
	}

	// Deadlines come from ctx; a server that does not answer ends with DeadlineExceeded.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := api.Do(short, "GET", "/block", nil, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("blocked request: %v", err)
	}
	api.Timeout = 50 * time.Millisecond
	if err := api.Do(context.Background(), "GET", "/block", nil, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("blocked request without ctx deadline: %v", err)
	}
	done, cancel2 := context.WithCancel(ctx)
	cancel2()
	if err := api.Health(done); !errors.Is(err, context.Canceled) {
		t.Fatalf("done ctx: %v", err)
	}
	if err := NewAPI("http://127.0.0.1:1", "").Health(ctx); err == nil {
		t.Fatal("nothing listens, yet no error")
	}
	if err := api.Do(ctx, "POST", "/x", func() {}, nil); err == nil {
		t.Fatal("unencodable body accepted")
	}
}

// TestAPIRetriesOnlyWhatIsSafe: a server that drops every other connection before answering
// (as a restarted server's stale kept-alive connections do).
func TestAPIRetriesOnlyWhatIsSafe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	var mu sync.Mutex
	var served, dropped int
	go func() {
		for n := 0; ; n++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn, drop bool) {
				defer c.Close()
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				_, _ = io.Copy(io.Discard, req.Body)
				mu.Lock()
				defer mu.Unlock()
				if drop {
					dropped++
					return
				}
				served++
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 16\r\nConnection: close\r\n\r\n{\"ts\":1,\"seq\":2}")
			}(c, n%2 == 0)
		}
	}()
	api := NewAPI("http://"+ln.Addr().String(), "k")
	ctx := testCtx(t)
	counts := func() (int, int) { mu.Lock(); defer mu.Unlock(); return served, dropped }

	// Attempt 1 is dropped, the retry answered.
	if s, err := api.Post(ctx, "R", PostMessage{UID: "u", Kind: "chat", CMID: "c1"}); err != nil || s.Seq != 2 {
		t.Fatalf("post with cmid: %+v %v", s, err)
	}
	if s, d := counts(); s != 1 || d != 1 {
		t.Fatalf("served %d dropped %d", s, d)
	}
	if err := api.Kick(ctx, "R", "u"); err != nil { // DELETE: retried
		t.Fatalf("kick: %v", err)
	}
	// Without a cmid a POST is not resent: the error comes back.
	if _, err := api.Post(ctx, "R", PostMessage{UID: "u", Kind: "chat"}); !errors.Is(err, fasthttp.ErrConnectionClosed) {
		t.Fatalf("post without cmid: %v", err)
	}
	if s, d := counts(); s != 2 || d != 3 {
		t.Fatalf("served %d dropped %d", s, d)
	}
}
