package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"
)

// fakeServer speaks the server side of PROTOCOL.md section 3 well enough to test the client:
// auth before the upgrade, hello, and then a per-session handler. It is written from the
// protocol, not from the real server.
type fakeServer struct {
	url  string // ws://127.0.0.1:port/v1/ws
	ln   net.Listener
	srv  *fasthttp.Server
	up   websocket.FastHTTPUpgrader
	node string

	// handler runs on the session's goroutine after hello; the session ends when it returns.
	handler func(s *fakeSession)
	// hello, when set, replaces the hello frame (nil map: send none).
	hello func(uid string) any

	mu       sync.Mutex
	sessions map[*fakeSession]struct{}
	dials    int
	refused  int
	refuse   atomic.Int32 // refuse this many upgrades with 503
	wg       sync.WaitGroup
}

// fakeSession is one server-side WebSocket session.
type fakeSession struct {
	ws       *websocket.Conn
	uid      string
	remoteIP net.IP
	query    string

	wmu sync.Mutex
}

// fakeReq is any client frame.
type fakeReq struct {
	Op    string          `json:"op"`
	ID    uint64          `json:"id"`
	Room  string          `json:"room"`
	Since *int64          `json:"since"`
	Limit int             `json:"limit"`
	Kind  string          `json:"kind"`
	Pri   string          `json:"pri"`
	Body  json.RawMessage `json:"body"`
	CMID  string          `json:"cmid"`
}

func newFakeServer(tb testing.TB, handler func(s *fakeSession)) *fakeServer {
	fs, err := startFakeServer(handler)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(fs.close)
	return fs
}

func startFakeServer(handler func(s *fakeSession)) (*fakeServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	fs := &fakeServer{
		url:      "ws://" + ln.Addr().String() + "/v1/ws",
		ln:       ln,
		node:     "fake-1",
		handler:  handler,
		sessions: make(map[*fakeSession]struct{}),
	}
	fs.up = websocket.FastHTTPUpgrader{
		ReadBufferSize:  512,
		WriteBufferSize: 512,
		CheckOrigin:     func(*fasthttp.RequestCtx) bool { return true },
	}
	// KeepHijackedConns makes NetConn().Close() really drop the connection (tests simulate
	// network failures with it); the session's deferred ws.Close does the cleanup.
	fs.srv = &fasthttp.Server{Handler: fs.serveHTTP, Concurrency: 1 << 20, KeepHijackedConns: true}
	go func() { _ = fs.srv.Serve(ln) }()
	return fs, nil
}

// serveHTTP authenticates as the protocol says: ?token= (the fake accepts "tok-<uid>") or
// ?uid= in dev mode; anything else is 401 before the upgrade. uid "flood" gets 429.
func (fs *fakeServer) serveHTTP(ctx *fasthttp.RequestCtx) {
	if string(ctx.Path()) != "/v1/ws" {
		ctx.Error(`{"error":{"code":"bad_request","message":"no such path"}}`, 404)
		return
	}
	uid := string(ctx.QueryArgs().Peek("uid"))
	if tok := string(ctx.QueryArgs().Peek("token")); tok != "" {
		var ok bool
		if uid, ok = strings.CutPrefix(tok, "tok-"); !ok {
			uid = ""
		}
	}
	if fs.refuse.Load() > 0 {
		fs.refuse.Add(-1)
		fs.mu.Lock()
		fs.refused++
		fs.mu.Unlock()
		ctx.Error(`{"error":{"code":"unavailable","message":"refused for the test"}}`, 503)
		return
	}
	switch uid {
	case "":
		ctx.Error(`{"error":{"code":"unauthorized","message":"bad or missing token"}}`, 401)
		return
	case "flood":
		ctx.Error(`{"error":{"code":"rate_limited","message":"too many connections"}}`, 429)
		return
	}
	s := &fakeSession{uid: uid, remoteIP: append(net.IP(nil), ctx.RemoteIP()...),
		query: ctx.QueryArgs().String()}
	fs.mu.Lock()
	fs.dials++
	fs.mu.Unlock()
	err := fs.up.Upgrade(ctx, func(ws *websocket.Conn) {
		s.ws = ws
		fs.mu.Lock()
		fs.sessions[s] = struct{}{}
		fs.wg.Add(1)
		fs.mu.Unlock()
		defer func() {
			fs.mu.Lock()
			delete(fs.sessions, s)
			fs.mu.Unlock()
			_ = ws.Close()
			fs.wg.Done()
		}()
		fs.mu.Lock()
		helloFn, handler := fs.hello, fs.handler
		fs.mu.Unlock()
		var hello any = map[string]any{"op": "hello", "uid": uid, "node": fs.node,
			"server_ts": time.Now().UnixMicro(),
			"limits":    map[string]int{"max_body": 4096, "max_rooms": 8, "pull_limit": 200}}
		if helloFn != nil {
			hello = helloFn(uid)
		}
		if hello != nil {
			if err := s.send(hello); err != nil {
				return
			}
		}
		if handler != nil {
			handler(s)
		}
	})
	if err != nil {
		return
	}
}

// set replaces the hello and the handler for sessions that start from now on.
func (fs *fakeServer) set(hello func(uid string) any, handler func(s *fakeSession)) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.hello, fs.handler = hello, handler
}

func (fs *fakeServer) dialCount() int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.dials
}

func (fs *fakeServer) sessionList() []*fakeSession {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	out := make([]*fakeSession, 0, len(fs.sessions))
	for s := range fs.sessions {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].uid < out[j].uid })
	return out
}

func (fs *fakeServer) close() {
	_ = fs.ln.Close()
	for _, s := range fs.sessionList() {
		_ = s.ws.NetConn().Close()
	}
	fs.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = fs.srv.ShutdownWithContext(ctx)
}

func (s *fakeSession) send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.sendRaw(b)
}

func (s *fakeSession) sendRaw(b []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_ = s.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return s.ws.WriteMessage(websocket.TextMessage, b)
}

// closeWith sends a close frame with code and text, then drops the connection.
func (s *fakeSession) closeWith(code int, text string) {
	s.wmu.Lock()
	_ = s.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text),
		time.Now().Add(time.Second))
	s.wmu.Unlock()
	_ = s.ws.NetConn().Close()
}

// read returns the next client frame; a close from the client is an error.
func (s *fakeSession) read() (fakeReq, error) {
	var r fakeReq
	_, b, err := s.ws.ReadMessage()
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("fake server: bad client frame %q: %w", b, err)
	}
	return r, nil
}

func replyError(s *fakeSession, id uint64, code, msg string) error {
	return s.send(map[string]any{"op": "error", "id": id, "code": code, "message": msg})
}
