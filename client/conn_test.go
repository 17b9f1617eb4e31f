package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func dialT(t testing.TB, url string, o DialOptions) *Conn {
	t.Helper()
	c, err := Dial(testCtx(t), url, o)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() {
		_ = c.Close()
		<-c.Done()
	})
	return c
}

func TestDialHelloAndAuth(t *testing.T) {
	fs := newFakeServer(t, func(s *fakeSession) { _, _ = s.read() })

	c := dialT(t, fs.url, DialOptions{DevUID: "u1"})
	h := c.Hello()
	if h.UID != "u1" || h.Node != "fake-1" || h.ServerTS <= 0 ||
		h.Limits != (Limits{MaxBody: 4096, MaxRooms: 8, PullLimit: 200}) {
		t.Fatalf("hello = %+v", h)
	}

	c2 := dialT(t, fs.url+"?x=1", DialOptions{Token: "tok-u2"})
	if c2.Hello().UID != "u2" {
		t.Fatalf("token login: uid %q", c2.Hello().UID)
	}
	for _, s := range fs.sessionList() {
		if s.uid == "u2" && (!strings.Contains(s.query, "token=tok-u2") || !strings.Contains(s.query, "x=1")) {
			t.Fatalf("query %q: want the token and the URL's own query", s.query)
		}
	}

	f := func(o DialOptions, status int) {
		t.Helper()
		_, err := Dial(testCtx(t), fs.url, o)
		var he *HandshakeError
		if !errors.As(err, &he) || he.Status != status {
			t.Fatalf("Dial(%+v) = %v, want HandshakeError %d", o, err, status)
		}
		if !strings.Contains(he.Body, "error") {
			t.Fatalf("handshake body %q", he.Body)
		}
	}
	f(DialOptions{}, 401)
	f(DialOptions{Token: "forged"}, 401)
	f(DialOptions{DevUID: "flood"}, 429)
}

func TestDialBadInput(t *testing.T) {
	f := func(url string, o DialOptions) {
		t.Helper()
		c, err := Dial(testCtx(t), url, o)
		if err == nil {
			_ = c.Close()
			t.Fatalf("Dial(%q, %+v) succeeded", url, o)
		}
	}
	f("http://127.0.0.1:1/v1/ws", DialOptions{})
	f("::", DialOptions{})
	f("ws://127.0.0.1:1/v1/ws", DialOptions{DevUID: "u"}) // nothing listens
}

func TestDialBeforeHello(t *testing.T) {
	fs := newFakeServer(t, func(s *fakeSession) { _, _ = s.read() })

	// A session closed before hello.
	fs.set(func(string) any { return nil }, func(s *fakeSession) { s.closeWith(CloseTooManyConns, "slow down") })
	_, err := Dial(testCtx(t), fs.url, DialOptions{DevUID: "u1"})
	var ce *CloseError
	if !errors.As(err, &ce) || ce.Code != CloseTooManyConns || ce.Text != "slow down" || !errors.Is(err, ErrClosed) {
		t.Fatalf("err = %v, want CloseError 4029", err)
	}

	// No hello at all: HandshakeTimeout, then ctx.
	fs.set(func(string) any { return nil }, func(s *fakeSession) { _, _ = s.read() })
	start := time.Now()
	_, err = Dial(testCtx(t), fs.url, DialOptions{DevUID: "u1", HandshakeTimeout: 50 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "hello") {
		t.Fatalf("err = %v, want a hello timeout", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("HandshakeTimeout not applied")
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	if _, err = Dial(ctx, fs.url, DialOptions{DevUID: "u1"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}

	// Something else than hello first.
	read := func(s *fakeSession) { _, _ = s.read() }
	fs.set(func(string) any { return map[string]any{"op": "notify", "room": "r", "ts": 1} }, read)
	if _, err = Dial(testCtx(t), fs.url, DialOptions{DevUID: "u1"}); err == nil || !strings.Contains(err.Error(), "want hello") {
		t.Fatalf("err = %v", err)
	}
	fs.set(func(string) any { return map[string]any{"op": "error", "code": "unavailable"} }, read)
	if _, err = Dial(testCtx(t), fs.url, DialOptions{DevUID: "u1"}); !IsCode(err, CodeUnavailable) {
		t.Fatalf("err = %v", err)
	}
}

// echoHandler answers every request on its own goroutine, so replies come back out of order;
// each reply is derived from its request so a mismatched id shows.
func echoHandler(s *fakeSession) {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		req, err := s.read()
		if err != nil {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := rand.IntN(4); i > 0; i-- {
				runtime.Gosched()
			}
			var since int64
			if req.Since != nil {
				since = *req.Since
			}
			var v any
			switch req.Op {
			case "join":
				v = map[string]any{"op": "joined", "id": req.ID, "room": req.Room, "epoch": "e-" + req.Room,
					"ts": since * 3, "seq": since, "online": 1}
			case "leave":
				v = map[string]any{"op": "left", "id": req.ID, "room": req.Room}
			case "pull":
				v = map[string]any{"op": "msgs", "id": req.ID, "room": req.Room, "epoch": "e",
					"msgs": []Message{{TS: since + 1, Seq: uint64(req.Limit), Pri: "normal", Kind: "chat",
						Body: json.RawMessage(`{"n":` + strconv.FormatInt(since, 10) + `}`)}},
					"dropped": req.Limit, "next": since + 1}
			case "send":
				var b struct{ N int64 }
				_ = json.Unmarshal(req.Body, &b)
				v = map[string]any{"op": "sent", "id": req.ID, "room": req.Room, "ts": b.N, "seq": b.N + 1,
					"dup": req.CMID == "dup"}
			case "ping":
				v = map[string]any{"op": "pong", "id": req.ID, "server_ts": 42}
			default:
				v = map[string]any{"op": "error", "id": req.ID, "code": "bad_request"}
			}
			_ = s.send(v)
		}()
	}
}

func TestRequestsMatchedByIDUnderConcurrency(t *testing.T) {
	fs := newFakeServer(t, echoHandler)
	c := dialT(t, fs.url, DialOptions{DevUID: "u1"})
	ctx := testCtx(t)
	const G, N = 16, 150
	var wg sync.WaitGroup
	errs := make(chan error, G)
	for g := range G {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fail := func(format string, a ...any) { errs <- fmt.Errorf(format, a...) }
			for i := range N {
				n := int64(g*1000 + i)
				room := "r-" + strconv.FormatInt(n, 10)
				switch i % 4 {
				case 0:
					j, err := c.Join(ctx, room, &n)
					if err != nil || j.Room != room || j.Seq != uint64(n) || j.TS != 3*n || j.Epoch != "e-"+room {
						fail("join %d: %+v %v", n, j, err)
						return
					}
				case 1:
					m, err := c.Pull(ctx, room, n, i+1)
					if err != nil || m.Next != n+1 || len(m.Msgs) != 1 || m.Msgs[0].Seq != uint64(i+1) ||
						m.Dropped != uint64(i+1) || string(m.Msgs[0].Body) != `{"n":`+strconv.FormatInt(n, 10)+`}` {
						fail("pull %d: %+v %v", n, m, err)
						return
					}
				case 2:
					s, err := c.Send(ctx, room, Outgoing{Kind: "chat", Body: json.RawMessage(`{"n":` + strconv.FormatInt(n, 10) + `}`)})
					if err != nil || s.TS != n || s.Seq != uint64(n+1) || s.Dup {
						fail("send %d: %+v %v", n, s, err)
						return
					}
				case 3:
					if ts, err := c.Ping(ctx); err != nil || ts != 42 {
						fail("ping: %d %v", ts, err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	c.pmu.Lock()
	left := len(c.pending)
	c.pmu.Unlock()
	if left != 0 {
		t.Fatalf("%d pending calls left", left)
	}
	s, err := c.Send(ctx, "r", Outgoing{Kind: "chat", CMID: "dup", Body: json.RawMessage(`{"n":5}`)})
	if err != nil || !s.Dup {
		t.Fatalf("dup send: %+v %v", s, err)
	}
	if err := c.Leave(ctx, "r"); err != nil {
		t.Fatal(err)
	}
}

func TestNotifyKickAndClose(t *testing.T) {
	hub := newFakeHub()
	fs := newFakeServer(t, hub.serveRooms)
	type note struct {
		room string
		ts   int64
	}
	notes := make(chan note, 16)
	kicks := make(chan [2]string, 16)
	var closes atomic.Int32
	var closeCode atomic.Int64
	c := dialT(t, fs.url, DialOptions{DevUID: "u1",
		OnNotify: func(room string, ts int64) { notes <- note{room, ts} },
		OnKick:   func(room, reason string) { kicks <- [2]string{room, reason} },
		OnClose: func(code int, text string) {
			closes.Add(1)
			closeCode.Store(int64(code))
		},
	})
	ctx := testCtx(t)
	j, err := c.Join(ctx, "R", nil)
	if err != nil || j.Room != "R" || j.Epoch != "R-e1" || j.Online != 1 {
		t.Fatalf("join: %+v %v", j, err)
	}
	m := hub.add("R", PriNormal, "chat", "u9", `{"t":"hi"}`)
	if n := <-notes; n != (note{"R", m.TS}) {
		t.Fatalf("notify %+v, want R %d", n, m.TS)
	}
	got, err := c.Pull(ctx, "R", j.TS, 0)
	if err != nil || len(got.Msgs) != 1 || got.Msgs[0].TS != m.TS || got.Msgs[0].UID != "u9" ||
		string(got.Msgs[0].Body) != `{"t":"hi"}` || got.Next != m.TS || got.Epoch != "R-e1" {
		t.Fatalf("pull: %+v %v", got, err)
	}

	if hub.kick("R", "u1", "banned") != 1 {
		t.Fatal("no session kicked")
	}
	if k := <-kicks; k != [2]string{"R", "banned"} {
		t.Fatalf("kick %v", k)
	}
	if _, err := c.Pull(ctx, "R", 0, 0); !IsCode(err, CodeNotJoined) {
		t.Fatalf("pull after kick: %v", err)
	}

	// A session-wide kick, then the server closes with 4008.
	s := fs.sessionList()[0]
	_ = s.send(map[string]any{"op": "kick", "reason": "unresponsive"})
	s.closeWith(CloseUnresponsive, "unresponsive")
	if k := <-kicks; k != [2]string{"", "unresponsive"} {
		t.Fatalf("kick %v", k)
	}
	<-c.Done()
	if closes.Load() != 1 || closeCode.Load() != CloseUnresponsive {
		t.Fatalf("OnClose calls %d code %d", closes.Load(), closeCode.Load())
	}
	if code, text := c.CloseReason(); code != CloseUnresponsive || text != "unresponsive" {
		t.Fatalf("CloseReason %d %q", code, text)
	}
	if _, err := c.Ping(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("ping after close: %v", err)
	}
}

func TestServerErrors(t *testing.T) {
	hub := newFakeHub()
	hub.banned["R/u1"] = true
	fs := newFakeServer(t, hub.serveRooms)
	loose := make(chan *ServerError, 1)
	c := dialT(t, fs.url, DialOptions{DevUID: "u1", OnError: func(e *ServerError) { loose <- e }})
	ctx := testCtx(t)

	_, err := c.Join(ctx, "R", nil)
	var se *ServerError
	if !errors.As(err, &se) || se.Code != CodeBanned || se.ID == 0 || se.Message != "banned from R" {
		t.Fatalf("join: %v", err)
	}
	if _, err := c.Send(ctx, "other", Outgoing{Kind: "chat"}); !IsCode(err, CodeNotJoined) {
		t.Fatalf("send: %v", err)
	}
	// An error frame for no request goes to OnError; the session stays usable.
	if err := fs.sessionList()[0].send(map[string]any{"op": "error", "id": 999999, "code": CodeBadRequest}); err != nil {
		t.Fatal(err)
	}
	if e := <-loose; e.Code != CodeBadRequest || e.ID != 999999 {
		t.Fatalf("OnError got %+v", e)
	}
	if _, err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(ctx, "R", Outgoing{Kind: "chat", Body: json.RawMessage(`{bad`)}); err == nil ||
		!strings.Contains(err.Error(), "not valid JSON") {
		t.Fatalf("bad body: %v", err)
	}
}

func TestContextTimeoutAndLateReply(t *testing.T) {
	held := make(chan fakeReq, 4)
	release := make(chan struct{})
	fs := newFakeServer(t, func(s *fakeSession) {
		for {
			req, err := s.read()
			if err != nil {
				return
			}
			if req.Op == "pull" {
				held <- req
				go func() {
					<-release
					_ = s.send(map[string]any{"op": "msgs", "id": req.ID, "room": req.Room, "next": 5})
				}()
				continue
			}
			_ = s.send(map[string]any{"op": "pong", "id": req.ID, "server_ts": 7})
		}
	})
	c := dialT(t, fs.url, DialOptions{DevUID: "u1"})
	ctx, cancel := context.WithTimeout(testCtx(t), 30*time.Millisecond)
	defer cancel()
	if _, err := c.Pull(ctx, "R", 0, 0); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("pull: %v, want DeadlineExceeded", err)
	}
	<-held
	c.pmu.Lock()
	n := len(c.pending)
	c.pmu.Unlock()
	if n != 0 {
		t.Fatalf("%d pending after timeout", n)
	}
	close(release) // the late reply must be skipped, not confuse the next request
	if ts, err := c.Ping(testCtx(t)); err != nil || ts != 7 {
		t.Fatalf("ping after late reply: %d %v", ts, err)
	}
	done, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if _, err := c.Ping(done); !errors.Is(err, context.Canceled) {
		t.Fatalf("ping with a done ctx: %v", err)
	}
}

func TestConnEndFailsPending(t *testing.T) {
	got := make(chan struct{})
	fs := newFakeServer(t, func(s *fakeSession) {
		if _, err := s.read(); err == nil {
			close(got)
			_ = s.ws.NetConn().Close() // drop, no close frame
		}
	})
	var code atomic.Int64
	c := dialT(t, fs.url, DialOptions{DevUID: "u1", OnClose: func(c int, _ string) { code.Store(int64(c)) }})
	_, err := c.Join(testCtx(t), "R", nil)
	<-got
	var ce *CloseError
	if !errors.As(err, &ce) || ce.Code != CloseAbnormal || !errors.Is(err, ErrClosed) {
		t.Fatalf("join on a dropped conn: %v", err)
	}
	<-c.Done()
	if code.Load() != CloseAbnormal {
		t.Fatalf("OnClose code %d", code.Load())
	}
}

func TestCloseNormal(t *testing.T) {
	serverSaw := make(chan error, 1)
	fs := newFakeServer(t, func(s *fakeSession) {
		_, err := s.read()
		serverSaw <- err
	})
	var c *Conn
	var calls atomic.Int32
	closedIn := make(chan struct{})
	c = dialT(t, fs.url, DialOptions{DevUID: "u1",
		OnNotify: func(string, int64) {
			_ = c.Close() // from the reader goroutine: must not deadlock
			close(closedIn)
		},
		OnClose: func(code int, _ string) {
			if code == CloseNormal {
				calls.Add(1)
			}
		}})
	_ = fs.sessionList()[0].send(map[string]any{"op": "notify", "room": "R", "ts": 1})
	<-closedIn
	err := <-serverSaw
	if !strings.Contains(fmt.Sprint(err), "1000") {
		t.Fatalf("server read %v, want close 1000", err)
	}
	<-c.Done()
	if calls.Load() != 1 {
		t.Fatalf("OnClose(1000) called %d times", calls.Load())
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := c.Ping(testCtx(t)); !errors.Is(err, ErrClosed) {
		t.Fatalf("ping after Close: %v", err)
	}
}

func TestBadAndHugeFrames(t *testing.T) {
	fs := newFakeServer(t, func(s *fakeSession) {
		_ = s.sendRaw([]byte(`not json`))
		_ = s.sendRaw([]byte(`{"op":"notify","room":"R","ts":1.5}`)) // wrong type: bad frame
		_ = s.sendRaw([]byte(`{"op":"future-op","x":[1,2]}`))        // unknown op: skipped
		echoHandler(s)
	})
	notes := make(chan int64, 4)
	c := dialT(t, fs.url, DialOptions{DevUID: "u1", OnNotify: func(_ string, ts int64) { notes <- ts }})
	if _, err := c.Ping(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if c.BadFrames() != 2 || len(notes) != 0 {
		t.Fatalf("bad frames %d, notifies %d", c.BadFrames(), len(notes))
	}

	fs2 := newFakeServer(t, func(s *fakeSession) {
		_ = s.sendRaw([]byte(`{"op":"notify","room":"` + strings.Repeat("x", 2000) + `","ts":1}`))
		_, _ = s.read()
	})
	c2 := dialT(t, fs2.url, DialOptions{DevUID: "u1", MaxFrameSize: 1024})
	<-c2.Done()
	if code, _ := c2.CloseReason(); code != CloseAbnormal {
		t.Fatalf("oversized frame: close %d", code)
	}
}
