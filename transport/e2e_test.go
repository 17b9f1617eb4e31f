// End-to-end tests of the WebSocket sessions over real WebSocket and HTTP, against the
// in-memory engine (memengine_test.go): no protoactor, so they run under -race. The same
// contract against a real node: e2e_node_test.go.

package transport_test

import (
	"fmt"
	"net"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/liveroom/liveroom/actors"
	"github.com/liveroom/liveroom/internal/socket"
	"github.com/liveroom/liveroom/internal/testwait"
	"github.com/liveroom/liveroom/transport"
)

func TestHelloJoinNotifyPull(t *testing.T) { helloJoinNotifyPull(t, startFake(t, nil)) }

// helloJoinNotifyPull is the contract's main path on one session: hello, join, the notify
// (merged while a pull is due), pull with dropped, send with its dup, ping, leave.
func helloJoinNotifyPull(t *testing.T, s *testServer) {
	c := s.dial(t, "uid=alice")
	hello := c.next(t, "hello", 2*time.Second)
	lim, _ := hello["limits"].(map[string]any)
	if hello["uid"] != "alice" || num(lim["max_body"]) != 4096 || num(lim["max_rooms"]) != 8 || num(lim["pull_limit"]) != 200 || num(hello["server_ts"]) == 0 {
		t.Fatalf("hello = %v", hello)
	}
	j := c.call(t, map[string]any{"op": "join", "room": "r1"})
	if j["op"] != "joined" || j["room"] != "r1" || num(j["online"]) != 1 || j["epoch"] == "" {
		t.Fatalf("joined = %v", j)
	}
	since := num(j["ts"])
	for i := 0; i < 5; i++ {
		code, body := s.api(t, "POST", "/v1/rooms/r1/messages", apiKey, fmt.Sprintf(`{"uid":"bob","kind":"chat","body":{"n":%d}}`, i))
		if code != 200 || num(body["seq"]) != int64(i+1) {
			t.Fatalf("post %d: %d %v", i, code, body)
		}
	}
	n := c.next(t, "notify", 2*time.Second)
	if n["room"] != "r1" || num(n["ts"]) <= since {
		t.Fatalf("notify = %v", n)
	}
	c.none(t, "notify", 100*time.Millisecond) // merged: one notify, pull pending
	m := c.call(t, map[string]any{"op": "pull", "room": "r1", "since": since, "limit": 3})
	msgs, _ := m["msgs"].([]any)
	if m["op"] != "msgs" || len(msgs) != 3 || num(m["dropped"]) != 2 || m["more"] != false || m["epoch"] != j["epoch"] {
		t.Fatalf("msgs = %v", m)
	}
	last := msgs[2].(map[string]any)
	if num(last["seq"]) != 5 || num(m["next"]) != num(last["ts"]) || last["uid"] != "bob" || last["pri"] != "normal" {
		t.Fatalf("newest kept? %v", m)
	}
	// A send through the WebSocket and its repeat, and the notify for it: a room this small
	// notifies as soon as the message is stamped, so the notify may come before the replies.
	sentID := c.send(t, map[string]any{"op": "send", "room": "r1", "kind": "chat", "body": map[string]any{"t": "hi"}, "cmid": "c1"})
	dupID := c.send(t, map[string]any{"op": "send", "room": "r1", "kind": "chat", "body": map[string]any{"t": "hi"}, "cmid": "c1"})
	var sent, dup, notified map[string]any
	for sent == nil || dup == nil || notified == nil {
		f := c.next(t, "", 2*time.Second)
		switch id, _ := f["id"].(float64); {
		case f["op"] == "notify":
			notified = f
		case int64(id) == sentID:
			sent = f
		case int64(id) == dupID:
			dup = f
		}
	}
	if sent["op"] != "sent" || num(sent["seq"]) != 6 {
		t.Fatalf("sent = %v", sent)
	}
	if dup["dup"] != true || num(dup["seq"]) != 6 || num(dup["ts"]) != num(sent["ts"]) {
		t.Fatalf("dup = %v", dup)
	}
	m = c.call(t, map[string]any{"op": "pull", "room": "r1", "since": num(m["next"])})
	if msgs, _ := m["msgs"].([]any); len(msgs) != 1 || num(m["dropped"]) != 0 {
		t.Fatalf("second pull = %v", m)
	}
	if r := c.call(t, map[string]any{"op": "ping"}); r["op"] != "pong" || num(r["server_ts"]) == 0 {
		t.Fatalf("pong = %v", r)
	}
	if r := c.call(t, map[string]any{"op": "leave", "room": "r1"}); r["op"] != "left" {
		t.Fatalf("left = %v", r)
	}
	if r := c.call(t, map[string]any{"op": "pull", "room": "r1", "since": 0}); r["code"] != "not_joined" {
		t.Fatalf("pull after leave = %v", r)
	}
}

func TestJoinSinceNotifiesAtOnce(t *testing.T) {
	s := startFake(t, nil)
	_, first := s.api(t, "POST", "/v1/rooms/r2/messages", apiKey, `{"uid":"bob","kind":"chat","body":1}`)
	s.api(t, "POST", "/v1/rooms/r2/messages", apiKey, `{"uid":"bob","kind":"chat","body":2}`)
	c := s.dial(t, "uid=alice")
	c.call(t, map[string]any{"op": "join", "room": "r2", "since": num(first["ts"])})
	n := c.next(t, "notify", time.Second)
	m := c.call(t, map[string]any{"op": "pull", "room": "r2", "since": num(first["ts"])})
	if msgs, _ := m["msgs"].([]any); len(msgs) != 1 || num(m["next"]) != num(n["ts"]) {
		t.Fatalf("pull = %v (notify %v)", m, n)
	}
}

func TestBadInputKeepsSession(t *testing.T) {
	s := startFake(t, nil)
	c := s.dial(t, "uid=alice")
	c.next(t, "hello", time.Second)
	f := func(frame string, wantCode string) {
		t.Helper()
		if err := c.conn.WriteMessage(1, []byte(frame)); err != nil {
			t.Fatal(err)
		}
		e := c.next(t, "error", 2*time.Second)
		if e["code"] != wantCode {
			t.Errorf("%s: error %v, want %s", frame, e, wantCode)
		}
	}
	f(`{not json`, "bad_request")
	f(`[1,2]`, "bad_request")
	f(`{"op":"dance","id":1}`, "bad_request")
	f(`{"op":"join","room":"bad room!","id":2}`, "bad_request")
	f(`{"op":"join","room":42,"id":3}`, "bad_request")
	f(`{"op":"pull","room":"nope","since":0,"id":4}`, "not_joined")
	f(`{"op":"send","room":"nope","kind":"chat","body":1,"id":5}`, "not_joined")
	c.call(t, map[string]any{"op": "join", "room": "ok"})
	f(`{"op":"send","room":"ok","kind":"chat","body":"`+strings.Repeat("x", 5000)+`","id":6}`, "too_large")
	f(`{"op":"send","room":"ok","kind":"chat","pri":"system","body":1,"id":7}`, "forbidden")
	f(`{"op":"send","room":"ok","kind":"","body":1,"id":8}`, "bad_request")
	f(`{"op":"pull","room":"ok","since":-1,"id":9}`, "bad_request")
	f(`{"op":"pull","room":"ok","since":"x","id":10}`, "bad_request")
	for i := 0; i < 8; i++ {
		c.call(t, map[string]any{"op": "join", "room": fmt.Sprintf("room%d", i)})
	}
	f(`{"op":"join","room":"one-too-many","id":11}`, "too_many_rooms")
	// The error echoes the id.
	if e := c.call(t, map[string]any{"op": "nope", "id": 77}); num(e["id"]) != 77 {
		t.Errorf("error did not echo id: %v", e)
	}
	// Still alive.
	if r := c.call(t, map[string]any{"op": "ping"}); r["op"] != "pong" {
		t.Fatal(r)
	}
	// A frame over max_frame closes with 1009.
	_ = c.conn.WriteMessage(1, []byte(`{"op":"ping","pad":"`+strings.Repeat("x", 9000)+`"}`))
	if code := c.waitClosed(t, 2*time.Second); code != transport.CloseTooLarge {
		t.Fatalf("close code %d, want 1009", code)
	}
}

func TestAuthAndConnectionLimits(t *testing.T) {
	s := startFake(t, func(c *transport.Config) { c.Dev = false; c.ConnPerUID = 3; c.ConnPerIP = 1000 })
	if _, err := s.tryDial("uid=alice"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("dev uid login outside dev mode: %v", err)
	}
	if _, err := s.tryDial("token=garbage"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("bad token: %v", err)
	}
	tok, err := s.srv.IssueToken("carol", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		c := s.dial(t, "token="+tok)
		c.next(t, "hello", time.Second)
	}
	if _, err := s.tryDial("token=" + tok); err == nil || !strings.Contains(err.Error(), "429") {
		t.Fatalf("4th connection in the window: %v", err)
	}
}

func TestModerationAndKicks(t *testing.T) {
	s := startFake(t, nil)
	c := s.dial(t, "uid=mallory")
	c.call(t, map[string]any{"op": "join", "room": "mod"})
	if code, _ := s.api(t, "PUT", "/v1/rooms/mod/mutes/mallory", apiKey, ""); code != 200 {
		t.Fatal(code)
	}
	if r := c.call(t, map[string]any{"op": "send", "room": "mod", "kind": "chat", "body": 1}); r["code"] != "muted" {
		t.Fatalf("muted send = %v", r)
	}
	s.api(t, "DELETE", "/v1/rooms/mod/mutes/mallory", apiKey, "")
	r := c.call(t, map[string]any{"op": "send", "room": "mod", "kind": "chat", "body": 1})
	if r["op"] != "sent" {
		t.Fatalf("unmuted send = %v", r)
	}
	// One notify until the viewer pulls, and call drops the frames it does not wait for (this
	// message's notify among them, when it comes first): a pull now lets the next message
	// notify whatever the order.
	c.call(t, map[string]any{"op": "pull", "room": "mod", "since": num(r["ts"])})
	s.api(t, "PUT", "/v1/rooms/mod/whitelist/mallory", apiKey, `{"ttl_s":60}`)
	r = c.call(t, map[string]any{"op": "send", "room": "mod", "kind": "chat", "body": 1})
	c.next(t, "notify", 2*time.Second)
	m := c.call(t, map[string]any{"op": "pull", "room": "mod", "since": num(r["ts"]) - 1})
	if msgs, _ := m["msgs"].([]any); len(msgs) != 1 || msgs[0].(map[string]any)["pri"] != "high" {
		t.Fatalf("whitelisted message = %v", m)
	}
	if code, _ := s.api(t, "PUT", "/v1/rooms/mod/bans/mallory", apiKey, `{"ttl_s":600}`); code != 200 {
		t.Fatal(code)
	}
	k := c.next(t, "kick", 2*time.Second)
	if k["room"] != "mod" || k["reason"] != "banned" {
		t.Fatalf("kick = %v", k)
	}
	if r := c.call(t, map[string]any{"op": "join", "room": "mod"}); r["code"] != "banned" {
		t.Fatalf("join after ban = %v", r)
	}
	// The session lives on in other rooms; a kick by the server names the room.
	c.call(t, map[string]any{"op": "join", "room": "other"})
	s.api(t, "DELETE", "/v1/rooms/other/viewers/mallory", apiKey, "")
	if k := c.next(t, "kick", 2*time.Second); k["room"] != "other" || k["reason"] != "kicked" {
		t.Fatalf("kick = %v", k)
	}
}

func TestSessionCapAndShutdown(t *testing.T) {
	s := startFake(t, nil)
	var cs []*wsClientT
	for i := 0; i < 6; i++ {
		c := s.dial(t, "uid=many")
		c.next(t, "hello", time.Second)
		cs = append(cs, c)
	}
	if k := cs[0].next(t, "kick", 2*time.Second); k["reason"] != "replaced" {
		t.Fatalf("kick = %v", k)
	}
	if code := cs[0].waitClosed(t, 2*time.Second); code != transport.CloseTooManyConns {
		t.Fatalf("replaced close %d", code)
	}
	other := s.dial(t, "uid=other")
	other.next(t, "hello", time.Second)
	go func() { _ = s.srv.Shutdown(t.Context()) }()
	if k := other.next(t, "kick", 5*time.Second); k["reason"] != "shutdown" {
		t.Fatalf("kick = %v", k)
	}
	if code := other.waitClosed(t, 5*time.Second); code != transport.CloseGoingAway {
		t.Fatalf("shutdown close %d, want 1001", code)
	}
}

type wsClientT = wsClient

func TestNoGoroutineGrowthAfterSessionsClose(t *testing.T) { noGoroutineGrowth(t, startFake(t, nil)) }

// noGoroutineGrowth: 1,000 sessions that join a room and close leave no goroutine, heap or
// member behind.
func noGoroutineGrowth(t *testing.T, s *testServer) {
	// Warm up: the room, its replica and the pools exist before the baseline.
	w := s.dial(t, "uid=warm")
	w.call(t, map[string]any{"op": "join", "room": "leak"})
	_ = w.conn.Close()
	testwait.For(t, 5*time.Second, "warm-up session gone", func() bool { return s.srv.Sessions() == 0 })
	base := runtime.NumGoroutine()
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	heap0 := ms.HeapInuse
	for i := 0; i < 1000; i++ {
		c, err := s.tryDial(fmt.Sprintf("uid=u%d", i))
		if err != nil {
			t.Fatal(err)
		}
		c.next(t, "hello", 2*time.Second)
		c.call(t, map[string]any{"op": "join", "room": "leak"})
		_ = c.conn.Close()
		<-c.closed
	}
	testwait.For(t, 10*time.Second, "sessions closed", func() bool { return s.srv.Sessions() == 0 })
	testwait.For(t, 10*time.Second, "goroutines back to baseline", func() bool { return runtime.NumGoroutine() <= base+5 })
	// Nothing per session is kept: 1,000 leaked sessions would hold several MB.
	testwait.For(t, 10*time.Second, "heap back near its baseline", func() bool {
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return ms.HeapInuse < heap0+2<<20
	})
	_, info := s.api(t, "GET", "/v1/rooms/leak", apiKey, "")
	testwait.For(t, 5*time.Second, "online back to 0", func() bool {
		_, info = s.api(t, "GET", "/v1/rooms/leak", apiKey, "")
		return num(info["online"]) == 0
	})
}

// Sessions are pinged; one that answers (its reader runs) stays, one that never reads is
// closed after three silent intervals.
func TestKeepalive(t *testing.T) {
	s := startFake(t, func(c *transport.Config) { c.PingInterval = 250 * time.Millisecond })
	alive := s.dial(t, "uid=alive") // its reader answers pings
	alive.next(t, "hello", time.Second)
	conn, _, err := websocket.DefaultDialer.Dial("ws://"+s.addr+"/v1/ws?uid=silent", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close() // never read: pings go unanswered
	testwait.For(t, 2*time.Second, "both sessions open", func() bool { return s.srv.Sessions() == 2 })
	testwait.For(t, 5*time.Second, "the silent session closed", func() bool { return s.srv.Sessions() == 1 })
	if r := alive.call(t, map[string]any{"op": "ping"}); r["op"] != "pong" {
		t.Fatalf("the answering session: %v", r)
	}
}

// Idle sessions wait in the poller: no goroutine is left inside a session once the frames
// are answered, and every parked session wakes up for its next frame.
func TestIdleSessionsHoldNoGoroutine(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the poller is epoll")
	}
	s := startFake(t, nil)
	var cs []*wsClient
	for i := range 200 {
		c := s.dial(t, fmt.Sprintf("uid=idle%d", i))
		c.call(t, map[string]any{"op": "join", "room": "idle"})
		cs = append(cs, c)
	}
	inSession := func() int {
		buf := make([]byte, 8<<20)
		buf = buf[:runtime.Stack(buf, true)]
		return strings.Count(string(buf), "(*wsSession)")
	}
	testwait.For(t, 5*time.Second, "no goroutine inside a session", func() bool { return inSession() == 0 })
	for _, c := range cs {
		if r := c.call(t, map[string]any{"op": "ping"}); r["op"] != "pong" {
			t.Fatalf("parked session answered %v", r)
		}
	}
}

// A push viewer that stops reading fills its socket; the rounds go on for everyone else
// (a write to it must not wait: Notify skips a full socket and the round comes back to it).
func TestStuckPushViewerDoesNotHoldTheRound(t *testing.T) {
	s := startFake(t, func(c *transport.Config) {
		c.WriteTimeout = time.Minute // a round waiting on the stuck socket would stand this long
		c.PingInterval = time.Minute
		c.MaxBody = 64 << 10
	})
	small := websocket.Dialer{NetDialContext: (&net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}).DialContext}
	stuck, _, err := small.Dial("ws://"+s.addr+"/v1/ws?uid=stuck", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()
	if _, _, err := stuck.ReadMessage(); err != nil { // hello
		t.Fatal(err)
	}
	if err := stuck.WriteMessage(websocket.TextMessage, []byte(`{"op":"join","room":"stuck","push":true,"id":1}`)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := stuck.ReadMessage(); err != nil { // joined; it reads nothing more
		t.Fatal(err)
	}
	c := s.dial(t, "uid=reader")
	c.call(t, map[string]any{"op": "join", "room": "stuck", "push": true})
	body := `"` + strings.Repeat("x", 60000) + `"`
	for i := range 120 { // 7 MB of windows toward the stuck socket
		s.api(t, "POST", "/v1/rooms/stuck/messages", apiKey, fmt.Sprintf(`{"uid":"bob","kind":"chat","body":%s,"cmid":"m%d"}`, body, i))
		start := time.Now()
		for {
			m := c.next(t, "msgs", 5*time.Second) // the reader gets every round's window
			msgs, _ := m["msgs"].([]any)
			if len(msgs) > 0 && msgs[len(msgs)-1].(map[string]any)["cmid"] == fmt.Sprintf("m%d", i) {
				break
			}
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("message %d reached the reader after %v", i, d)
		}
	}
}

// A whole-session kick (no room) writes the kick frame, closes with the reason's code and
// leaves every room the session had joined.
func TestWholeSessionKicks(t *testing.T) {
	s := startFake(t, nil)
	for reason, code := range map[string]int{"unresponsive": transport.CloseUnresponsive, "banned": transport.CloseBanned,
		"replaced": transport.CloseTooManyConns, "shutdown": transport.CloseGoingAway, "kicked": transport.CloseNormal} {
		c := s.dial(t, "uid="+reason)
		c.call(t, map[string]any{"op": "join", "room": "k-" + reason})
		c.call(t, map[string]any{"op": "join", "room": "k-all"})
		s.mem.kickSession(reason, reason)
		if k := c.next(t, "kick", 2*time.Second); k["reason"] != reason || k["room"] != nil {
			t.Fatalf("kick = %v, want reason %s and no room", k, reason)
		}
		if got := c.waitClosed(t, 2*time.Second); got != code {
			t.Errorf("%s: close code %d, want %d", reason, got, code)
		}
		testwait.For(t, 2*time.Second, "the kicked session's rooms to be left", func() bool {
			_, a := s.api(t, "GET", "/v1/rooms/k-"+reason, apiKey, "")
			_, b := s.api(t, "GET", "/v1/rooms/k-all", apiKey, "")
			return num(a["online"]) == 0 && num(b["online"]) == 0
		})
	}
}

// A notify with the member's counters frame behind it (actors.SharedFrame.Then: both due in
// one round) reaches the viewer as two frames in one write, the notify first: one read on the
// viewer's socket returns both, and again when another member shares the same pair.
func TestNotifyWithCountersOneWrite(t *testing.T) {
	s := startFake(t, nil)
	var conns []*websocket.Conn
	for _, uid := range []string{"p1", "p2"} {
		conn, _, err := websocket.DefaultDialer.Dial("ws://"+s.addr+"/v1/ws?uid="+uid, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, b, err := conn.ReadMessage(); err != nil || !strings.Contains(string(b), `"op":"hello"`) {
			t.Fatalf("hello: %s %v", b, err)
		}
		if err := conn.WriteMessage(websocket.TextMessage, []byte(`{"op":"join","room":"pair","id":1}`)); err != nil {
			t.Fatal(err)
		}
		if _, b, err := conn.ReadMessage(); err != nil || !strings.Contains(string(b), `"op":"joined"`) {
			t.Fatalf("joined: %s %v", b, err)
		}
		conns = append(conns, conn)
	}
	s.mem.mu.Lock()
	members := append([]*memMember(nil), s.mem.rooms["pair"].members...)
	s.mem.mu.Unlock()
	notify := `{"op":"notify","room":"pair","ts":7}`
	counters := `{"op":"counters","room":"pair","counters":{"likes":12},"online":2}`
	pair := &actors.SharedFrame{Data: []byte(notify), Then: &actors.SharedFrame{Data: []byte(counters)}}
	for i, m := range members {
		// false is "busy, the round tries again" (the session may still be finishing a write):
		// nothing was written then, so trying again until it takes the pair is what a round does.
		testwait.For(t, 5*time.Second, fmt.Sprintf("member %d takes the pair", i), func() bool { return m.sess.Notify(pair) })
	}
	want := string(socket.ServerFrame(websocket.TextMessage, []byte(notify))) + string(socket.ServerFrame(websocket.TextMessage, []byte(counters)))
	for i, conn := range conns {
		nc := conn.NetConn()
		_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		b := make([]byte, 4096)
		n, err := nc.Read(b)
		if err != nil || string(b[:n]) != want {
			t.Fatalf("viewer %d: one read returned %q (%v), want both frames %q", i, b[:n], err, want)
		}
	}
}
