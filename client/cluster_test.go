package client

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/liveroom/liveroom/internal/testwait"
)

// fakeNode is one node of a fake cluster on one port: GET /v1/route answers what the test set,
// everything else goes to a fakeServer's WebSocket side (auth, hello, the hub's rooms).
type fakeNode struct {
	base string // http://127.0.0.1:port
	ws   string // ws://127.0.0.1:port/v1/ws
	fs   *fakeServer
	ln   net.Listener
	srv  *fasthttp.Server

	mu     sync.Mutex
	status int    // of /v1/route; 0: 503
	routed string // the ws of a 200 answer
	routes int    // /v1/route requests
	query  string // the last one's query
	dead   bool
}

// newFakeNode starts a node on addr ("" for a free port) whose sessions are served by hub.
func newFakeNode(t *testing.T, hub *fakeHub, addr string) *fakeNode {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	n := &fakeNode{fs: newFakeServer(t, hub.serveRooms), ln: ln, base: "http://" + ln.Addr().String()}
	n.ws = "ws://" + ln.Addr().String() + "/v1/ws"
	n.srv = &fasthttp.Server{Handler: n.serve, KeepHijackedConns: true}
	go func() { _ = n.srv.Serve(ln) }()
	t.Cleanup(n.kill)
	return n
}

// deadAddr is a loopback address that refuses connections.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func (n *fakeNode) serve(ctx *fasthttp.RequestCtx) {
	if string(ctx.Path()) != "/v1/route" {
		n.fs.serveHTTP(ctx)
		return
	}
	n.mu.Lock()
	n.routes++
	n.query = string(ctx.QueryArgs().QueryString())
	status, ws := n.status, n.routed
	n.mu.Unlock()
	switch status {
	case 200:
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"node":"n","ws":` + strconv.Quote(ws) + `}`)
	case 0:
		ctx.Error(`{"error":{"code":"unavailable","message":"no store"}}`, 503)
	default:
		ctx.Error(`{"error":{"code":"bad_request","message":"bad uid"}}`, status)
	}
}

// route makes /v1/route answer 200 with ws ("" for 503).
func (n *fakeNode) route(ws string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.status, n.routed = 200, ws
	if ws == "" {
		n.status = 0
	}
}

func (n *fakeNode) answer(status int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.status = status
}

func (n *fakeNode) routeCount() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.routes
}

func (n *fakeNode) lastQuery() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.query
}

// kill makes the node dead like kill -9: its port refuses connections, its sessions drop.
func (n *fakeNode) kill() {
	n.mu.Lock()
	dead := n.dead
	n.dead = true
	n.mu.Unlock()
	if dead {
		return
	}
	_ = n.ln.Close()
	for _, s := range n.fs.sessionList() {
		_ = s.ws.NetConn().Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = n.srv.ShutdownWithContext(ctx)
}

func newTestCluster(t *testing.T, o ClusterOptions, nodes ...string) *Cluster {
	t.Helper()
	c, err := NewCluster(nodes, o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewClusterURLs(t *testing.T) {
	f := func(base, want string) {
		t.Helper()
		c, err := NewCluster([]string{base}, ClusterOptions{})
		if want == "" {
			if err == nil {
				t.Fatalf("NewCluster(%q) accepted", base)
			}
			return
		}
		if err != nil {
			t.Fatalf("NewCluster(%q): %v", base, err)
		}
		if c.nodes[0].ws != want {
			t.Fatalf("ws of %q = %q, want %q", base, c.nodes[0].ws, want)
		}
	}
	f("http://127.0.0.1:8080", "ws://127.0.0.1:8080/v1/ws")
	f("http://127.0.0.1:8080/", "ws://127.0.0.1:8080/v1/ws")
	f("https://chat.example:443/lr/?x=1#y", "wss://chat.example:443/lr/v1/ws")
	f("http://u:p@h:1", "ws://h:1/v1/ws")
	f("ws://127.0.0.1:8080", "")
	f("127.0.0.1:8080", "")
	f("http://", "")
	f("http://%zz", "")
	if _, err := NewCluster(nil, ClusterOptions{}); err == nil {
		t.Fatal("NewCluster(nil) accepted")
	}
}

// A viewer follows the route, with its DialOptions' auth on the routed URL.
func TestClusterResolverFollowsTheRoute(t *testing.T) {
	hub := newFakeHub()
	a, b := newFakeNode(t, hub, ""), newFakeNode(t, hub, "")
	a.route(b.ws)
	b.route(b.ws)
	c := newTestCluster(t, ClusterOptions{}, a.base, b.base)
	r := c.newResolver("v 1")
	r.next = 0
	got, err := r.resolve(context.Background())
	if err != nil || got != b.ws {
		t.Fatalf("resolve = %q, %v; want %q", got, err, b.ws)
	}
	if a.routeCount() != 1 || b.routeCount() != 0 || a.lastQuery() != "uid=v+1" {
		t.Fatalf("route requests a=%d b=%d, query %q", a.routeCount(), b.routeCount(), a.lastQuery())
	}

	v, _ := startViewer(t, ViewerOptions{Resolve: c.Resolver("v1"), Dial: DialOptions{Token: "tok-v1"},
		Rooms: []string{"R"}})
	testwait.For(t, 10*time.Second, "join", joinedRoom(v, "R"))
	ss := b.fs.sessionList()
	if len(ss) != 1 || ss[0].uid != "v1" || !strings.Contains(ss[0].query, "token=tok-v1") ||
		len(a.fs.sessionList()) != 0 {
		t.Fatalf("sessions on b %+v, on a %d", ss, len(a.fs.sessionList()))
	}
}

// Nodes that do not answer are skipped and then asked last; a 4xx answer ends the search.
func TestClusterResolverSkipsDeadNodes(t *testing.T) {
	hub := newFakeHub()
	sick, live := newFakeNode(t, hub, ""), newFakeNode(t, hub, "")
	sick.route("") // 503
	live.route("ws://routed/v1/ws")
	c := newTestCluster(t, ClusterOptions{}, "http://"+deadAddr(t), sick.base, live.base)
	f := func(start int, want string, sickAsks int) {
		t.Helper()
		r := c.newResolver("u")
		r.next = start
		got, err := r.resolve(context.Background())
		if err != nil || got != want {
			t.Fatalf("resolve from %d = %q, %v; want %q", start, got, err, want)
		}
		if sick.routeCount() != sickAsks {
			t.Fatalf("from %d: the sick node was asked %d times in all, want %d", start, sick.routeCount(), sickAsks)
		}
	}
	f(0, "ws://routed/v1/ws", 1) // dead refused, sick 503: both marked down
	f(0, "ws://routed/v1/ws", 1) // neither is asked again while live answers
	f(1, "ws://routed/v1/ws", 1)
	f(2, "ws://routed/v1/ws", 1)

	// Everyone down: an error; the marked nodes are still asked, last.
	live.route("")
	r := c.newResolver("u")
	if _, err := r.resolve(context.Background()); err == nil || !strings.Contains(err.Error(), "no node answered") {
		t.Fatalf("resolve with no node answering: %v", err)
	}
	sick.route("ws://sick/v1/ws")
	if got, err := r.resolve(context.Background()); err != nil || got != "ws://sick/v1/ws" {
		t.Fatalf("resolve after sick recovered = %q, %v", got, err)
	}

	// A 400 is the request's fault: no other node is asked.
	sick.answer(400)
	live.route("ws://routed/v1/ws")
	before := live.routeCount()
	r = c.newResolver("u")
	r.next = 1
	var ae *APIError
	if _, err := r.resolve(context.Background()); !errors.As(err, &ae) || ae.Status != 400 || live.routeCount() != before {
		t.Fatalf("resolve after a 400: %v, live asked %d more", err, live.routeCount()-before)
	}
}

// Every call after the first avoids the URL returned last, for Avoid; a route to an avoided URL
// goes to the node that answered, then the next ones; all avoided: the route.
func TestClusterResolverAvoidsTheLastURL(t *testing.T) {
	hub := newFakeHub()
	b, c3 := newFakeNode(t, hub, ""), newFakeNode(t, hub, "")
	const dead = "ws://dead/v1/ws"
	b.route(dead)
	c3.route(dead)
	c := newTestCluster(t, ClusterOptions{Avoid: 10 * time.Second}, b.base, c3.base)
	now := time.Unix(1000, 0)
	var clockMu sync.Mutex
	c.clock = func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return now }
	advance := func(d time.Duration) { clockMu.Lock(); now = now.Add(d); clockMu.Unlock() }
	r := c.newResolver("u")
	r.next = 0
	f := func(want string) {
		t.Helper()
		if got, err := r.resolve(context.Background()); err != nil || got != want {
			t.Fatalf("resolve = %q, %v; want %q", got, err, want)
		}
	}
	f(dead)  // first call: the route
	f(b.ws)  // dead avoided: b answered
	f(c3.ws) // dead and b avoided: the next node
	f(dead)  // everything avoided: the route
	advance(11 * time.Second)
	f(b.ws) // dead avoided again (returned last), b and c3 expired
	f(c3.ws)
	const other = "ws://other/v1/ws"
	b.route(other)
	c3.route(other)
	advance(11 * time.Second)
	f(other)
	f(b.ws) // other avoided, in the slot of an expired entry
	r.mu.Lock()
	if len(r.avoid) != 3 {
		t.Fatalf("avoid list %+v: expired entries not reused", r.avoid)
	}
	r.mu.Unlock()

	// A node marked down is no fallback (the node that answered always is).
	r = c.newResolver("u")
	r.next = 0
	c.nodes[1].downUntil.Store(now.Add(time.Second).UnixNano())
	f(other)
	f(b.ws)
	f(other) // b avoided, c3 down
}

// The scenario the resolver is for: a viewer's node dies while the route still names it; the
// viewer reconnects to a node that answers, without dialling the dead one, and resumes.
func TestClusterResolverViewerLeavesDeadNode(t *testing.T) {
	hub := newFakeHub()
	a, b := newFakeNode(t, hub, ""), newFakeNode(t, hub, "")
	a.route(a.ws)
	b.route(a.ws)
	c := newTestCluster(t, ClusterOptions{}, a.base, b.base)
	v, _ := startViewer(t, ViewerOptions{Resolve: c.Resolver("v1"), Dial: DialOptions{DevUID: "v1"},
		Rooms: []string{"R"}})
	testwait.For(t, 10*time.Second, "join on a", func() bool { return joinedRoom(v, "R")() && len(a.fs.sessionList()) == 1 })
	hub.add("R", PriSystem, "notice", "", `1`)
	testwait.For(t, 10*time.Second, "first notice", func() bool { return v.Stats().Msgs == 1 })
	before, _ := v.Room("R")

	a.kill()
	hub.add("R", PriSystem, "notice", "", `2`)
	testwait.For(t, 10*time.Second, "second notice via b", func() bool { return v.Stats().Msgs == 2 })
	if len(b.fs.sessionList()) != 1 || a.fs.dialCount() != 1 {
		t.Fatalf("sessions on b %d, dials of a %d", len(b.fs.sessionList()), a.fs.dialCount())
	}
	st := v.Stats()
	if st.DialErrors != 0 || st.Reconnects != 1 || st.Gaps != 0 || st.Dropped != 0 {
		t.Fatalf("stats %+v", st)
	}
	log := hub.joinLog()
	if last := log[len(log)-1]; last.Since == nil || *last.Since != before.Next {
		t.Fatalf("resume join %+v, want since %d", last, before.Next)
	}
}

// A route naming a node that is already dead costs the viewer one failed dial, not a loop.
func TestClusterResolverRouteToDeadNode(t *testing.T) {
	hub := newFakeHub()
	a, b := newFakeNode(t, hub, ""), newFakeNode(t, hub, "")
	b.route(a.ws)
	a.kill()
	c := newTestCluster(t, ClusterOptions{}, a.base, b.base)
	v, _ := startViewer(t, ViewerOptions{Resolve: c.Resolver("v1"), Dial: DialOptions{DevUID: "v1"},
		Rooms: []string{"R"}})
	testwait.For(t, 10*time.Second, "join on b", func() bool { return joinedRoom(v, "R")() && len(b.fs.sessionList()) == 1 })
	if st := v.Stats(); st.DialErrors != 1 || st.Connects != 1 {
		t.Fatalf("stats %+v, want 1 dial error then 1 connect", st)
	}
}

// No node answers: Resolve fails, the viewer backs off between attempts and connects once a
// node is back.
func TestClusterResolverAllDeadBacksOff(t *testing.T) {
	addrs := []string{deadAddr(t), deadAddr(t)}
	c := newTestCluster(t, ClusterOptions{RouteTimeout: time.Second}, "http://"+addrs[0], "http://"+addrs[1])
	if _, err := c.Resolver("v1")(context.Background()); err == nil {
		t.Fatal("resolve with every node dead succeeded")
	}
	resolve := c.Resolver("v1")
	var mu sync.Mutex
	var calls []time.Time
	const minB = 40 * time.Millisecond
	v, _ := startViewer(t, ViewerOptions{
		Resolve: func(ctx context.Context) (string, error) {
			mu.Lock()
			calls = append(calls, time.Now())
			mu.Unlock()
			return resolve(ctx)
		},
		Dial: DialOptions{DevUID: "v1"}, Rooms: []string{"R"}, BackoffMin: minB, BackoffMax: time.Second})
	testwait.For(t, 10*time.Second, "4 failed attempts", func() bool { return v.Stats().DialErrors >= 4 })
	mu.Lock()
	for i := 1; i < 4; i++ {
		// The i-th retry waits at least half of minB << (i-1).
		if gap, lo := calls[i].Sub(calls[i-1]), (minB<<(i-1))/2; gap < lo {
			t.Errorf("attempt %d came %v after the previous one, want >= %v", i, gap, lo)
		}
	}
	mu.Unlock()
	if v.Stats().Connects != 0 {
		t.Fatalf("connected to a dead cluster: %+v", v.Stats())
	}

	hub := newFakeHub()
	n := newFakeNode(t, hub, addrs[1])
	n.route(n.ws)
	testwait.For(t, 10*time.Second, "join once a node is back", joinedRoom(v, "R"))
}
