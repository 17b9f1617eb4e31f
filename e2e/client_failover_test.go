package e2e

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/golang-jwt/jwt/v5"

	"github.com/liveroom/liveroom/client"
	"github.com/liveroom/liveroom/internal/testetcd"
	"github.com/liveroom/liveroom/internal/testredis"
	"github.com/liveroom/liveroom/internal/testwait"
)

// pollUntil polls cond every 10 ms until it holds, failing the test after timeout.
func pollUntil(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func viewerToken(t *testing.T, uid string) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256,
		jwt.MapClaims{"sub": uid, "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte("S"))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// failoverViewer is a Go client viewer of the test and the node it was routed to.
type failoverViewer struct {
	uid       string
	node      string // where /v1/route sent it first
	v         *client.Viewer
	displaced int // kills of the node it was on

	mu  sync.Mutex
	got []client.Message // every message received, in order
}

func (fv *failoverViewer) onMessage(_ string, m *client.Message) {
	fv.mu.Lock()
	defer fv.mu.Unlock()
	fv.got = append(fv.got, *m)
}

func (fv *failoverViewer) received() []client.Message {
	fv.mu.Lock()
	defer fv.mu.Unlock()
	return append([]client.Message(nil), fv.got...)
}

// nodeOf is the node the viewer's current session is on ("" between sessions).
func (fv *failoverViewer) nodeOf() string {
	if c := fv.v.Conn(); c != nil {
		return c.Hello().Node
	}
	return ""
}

// kill -9 of nodes with Go client viewers on them: those viewers reconnect to a survivor
// through client.Cluster's resolver (the directory still lists the dead node for a few
// seconds), with backoff, resume with join + since, and every viewer ends with every system
// notice, before and after the kills, with exact accounting and the room's epoch unchanged.
// The first kill is of the node hosting the room's grain (the room moves too: the viewers'
// joins wait for it), the second of a node that does not host it (only sessions move).
//
// "members": 3 members on static seeds. "edges": 2 members and 3 edges (--edge) on etcd, with
// viewers on all five: every node lists the 2 members only, rooms live on members, a kick
// through a member closes a session on an edge, and the second kill is of an edge.
func TestClientFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three to five liveroomd processes and redis-server")
	}
	t.Run("members", func(t *testing.T) { clientFailover(t, 3, 0) })
	t.Run("edges", func(t *testing.T) { clientFailover(t, 2, 3) })
}

func clientFailover(t *testing.T, members, edges int) {
	flags := []string{"--redis", testredis.Start(t)}
	if edges > 0 {
		flags = append(flags, "--etcd", testetcd.Start(t))
	}
	nodes := startClusterEach(t, members+edges, func(i int) []string {
		if i >= members {
			return []string{"--edge", "--drain", "1s"}
		}
		return nil
	}, flags...)
	bases := make([]string, len(nodes))
	apis := make([]*client.API, len(nodes))
	for i, nd := range nodes {
		bases[i] = "http://" + nd.http
		apis[i] = client.NewAPI(bases[i], "A")
	}
	name := func(i int) string { return fmt.Sprintf("n%d", i+1) }
	const room = "cf"
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var (
		nmu     sync.Mutex
		notices []client.Sent
	)
	post := func(api *client.API, body string) error {
		rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
		defer rcancel()
		s, err := api.Notice(rctx, room, "", body)
		if err == nil {
			nmu.Lock()
			notices = append(notices, s)
			nmu.Unlock()
		}
		return err
	}
	hostOf := func(via int) (idx int, epoch any) {
		info := getJSON(t, bases[via]+"/v1/rooms/"+room, "K")
		for i := range nodes {
			if info["node"] == name(i) {
				return i, info["epoch"]
			}
		}
		t.Fatalf("no node hosts the room: %v", info)
		return -1, nil
	}
	if err := post(apis[len(nodes)-1], "before 1"); err != nil {
		t.Fatal(err)
	}
	hostIdx, epoch := hostOf(1)
	if hostIdx >= members {
		t.Fatalf("the room's grain is on the edge %s", name(hostIdx))
	}
	if edges > 0 {
		for i, nd := range nodes { // edges are clients of the members, not members
			testwait.For(t, 10*time.Second, fmt.Sprintf("%s to list the %d members and the %d nodes", name(i), members, len(nodes)), func() bool {
				return testwait.Metric(t, nd.http, "liveroom_cluster_members") == float64(members) &&
					testwait.Metric(t, nd.http, "liveroom_cluster_nodes") == float64(len(nodes))
			})
		}
		// Rooms first reached through an edge still live on members.
		for r := range 6 {
			info := getJSON(t, fmt.Sprintf("%s/v1/rooms/edge-r%d", bases[members+r%edges], r), "K")
			if h := info["node"].(string); h != name(0) && h != name(1) {
				t.Errorf("room edge-r%d is hosted by %s, not a member", r, h)
			}
		}
		// A kick everywhere through a member closes a session on an edge (the users routers
		// of edges are found through the node directory).
		conn, _, err := websocket.DefaultDialer.Dial("ws://"+nodes[members].http+"/v1/ws?token="+viewerToken(t, "edge-kicked"), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var hello map[string]any
		if err := conn.ReadJSON(&hello); err != nil || hello["op"] != "hello" {
			t.Fatalf("hello: %v %v", hello, err)
		}
		if st := doKey(t, "DELETE", bases[0]+"/v1/viewers/edge-kicked", ""); st != 200 {
			t.Fatalf("kick: %d", st)
		}
		if reason, code := ended(t, conn); reason != "kicked" || code != 1000 {
			t.Errorf("the session on the edge: kick %v, close %d; want kicked, 1000", reason, code)
		}
	}

	// Two viewers routed to each node.
	perNode := map[string]int{}
	var fvs []*failoverViewer
	for u := 0; len(fvs) < 2*len(nodes); u++ {
		if u > 200 {
			t.Fatalf("200 uids did not give two per node: %v", perNode)
		}
		uid := fmt.Sprintf("cf-user%d", u)
		// With the server key: the route is public, but keyless requests share the per-IP
		// budget (100/s, burst 200) that this test's other requests from 127.0.0.1 use too.
		r := getJSON(t, bases[0]+"/v1/route?uid="+uid, "K")
		n, _ := r["node"].(string)
		if n == "" {
			t.Fatalf("route of %s: %v", uid, r)
		}
		if perNode[n] < 2 {
			perNode[n]++
			fvs = append(fvs, &failoverViewer{uid: uid, node: n})
		}
	}
	cl, err := client.NewCluster(bases, client.ClusterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	vctx, vcancel := context.WithCancel(ctx)
	defer func() { vcancel(); wg.Wait() }()
	for _, fv := range fvs {
		fv.v, err = client.NewViewer(client.ViewerOptions{
			Resolve: cl.Resolver(fv.uid), Dial: client.DialOptions{Token: viewerToken(t, fv.uid)},
			Rooms: []string{room}, FromStart: true, OnMessage: fv.onMessage})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); _ = fv.v.Run(vctx) }()
	}
	// Every viewer joined; where it is may differ from the route read first (the resolver asks
	// again, and a node's directory reading may have been a beat behind): the kills below go
	// by where the viewers are, so only a node left with none would fail them.
	pollUntil(t, "every viewer joined", 30*time.Second, func() bool {
		for _, fv := range fvs {
			if rs, _ := fv.v.Room(room); !rs.Joined || fv.nodeOf() == "" {
				return false
			}
		}
		return true
	})
	for _, fv := range fvs {
		if on := fv.nodeOf(); on != fv.node {
			t.Logf("%s was routed to %s first and joined on %s (stats %+v)", fv.uid, fv.node, on, fv.v.Stats())
			fv.node = on
		}
	}
	if err := post(apis[(hostIdx+1)%len(nodes)], "before 2"); err != nil {
		t.Fatal(err)
	}
	if err := post(apis[hostIdx], "before 3"); err != nil {
		t.Fatal(err)
	}
	hasAll := func(fv *failoverViewer) bool {
		got := fv.received()
		nmu.Lock()
		defer nmu.Unlock()
		for _, n := range notices {
			if !slices.ContainsFunc(got, func(m client.Message) bool { return m.Seq == n.Seq && m.TS == n.TS }) {
				return false
			}
		}
		return true
	}
	allHaveAll := func() bool {
		return !slices.ContainsFunc(fvs, func(fv *failoverViewer) bool { return !hasAll(fv) })
	}
	pollUntil(t, "the notices before the kill", 30*time.Second, allHaveAll)

	sortRound := func(ds []time.Duration) []time.Duration {
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		for i := range ds {
			ds[i] = ds[i].Round(time.Millisecond)
		}
		return ds
	}
	// kill kill -9s node idx, measures when the viewers that were on it have a session and are
	// joined on a survivor, posts notices through node via (retried until the room accepts
	// them: when idx hosted the room, it moves) and waits until every viewer has every notice.
	kill := func(idx, via int, what string) {
		dead := name(idx)
		var displaced []*failoverViewer
		for _, fv := range fvs {
			if fv.nodeOf() == dead {
				fv.displaced++
				displaced = append(displaced, fv)
			}
		}
		if len(displaced) == 0 {
			t.Fatalf("no viewer on %s", dead)
		}
		killedAt := time.Now()
		if err := nodes[idx].cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		// Posts are retried on their own goroutine so that a slow one does not delay the
		// viewers' measurement.
		var roomBack time.Duration
		var lastPostErr error
		posted := make(chan struct{})
		go func() {
			defer close(posted)
			for time.Since(killedAt) < 60*time.Second {
				if lastPostErr = post(apis[via], "after the kill of "+dead); lastPostErr == nil {
					roomBack = time.Since(killedAt)
					return
				}
				time.Sleep(50 * time.Millisecond) // between attempts
			}
		}()
		conns, joins := make([]time.Duration, len(displaced)), make([]time.Duration, len(displaced))
		pollUntil(t, "the viewers of "+dead+" joined on a survivor", 60*time.Second, func() bool {
			left := 0
			for i, fv := range displaced {
				n := fv.nodeOf()
				if conns[i] == 0 && n != "" && n != dead {
					conns[i] = time.Since(killedAt)
				}
				if joins[i] == 0 && conns[i] != 0 {
					if rs, _ := fv.v.Room(room); rs.Joined && n != "" && n != dead {
						joins[i] = time.Since(killedAt)
					}
				}
				if joins[i] == 0 {
					left++
				}
			}
			return left == 0
		})
		<-posted
		if roomBack == 0 {
			t.Fatalf("no notice accepted within 60 s of the kill of %s: %v", dead, lastPostErr)
		}
		if err := post(apis[via], "after the kill of "+dead+", 2"); err != nil {
			t.Fatal(err)
		}
		pollUntil(t, "every notice at every viewer", 60*time.Second, allHaveAll)
		t.Logf("kill -9 of %s (%s, %d of %d viewers on it): those viewers had a session on a survivor after %v "+
			"and were joined again after %v; the room accepted notices after %v; every viewer had every "+
			"notice after %v", dead, what, len(displaced), len(fvs), sortRound(conns), sortRound(joins),
			roomBack.Round(time.Millisecond), time.Since(killedAt).Round(time.Millisecond))
	}

	dead := map[string]bool{name(hostIdx): true}
	via := len(nodes) - 1 // an edge, or a member that does not host the room
	if via == hostIdx {
		via = (hostIdx + 1) % len(nodes)
	}
	kill(hostIdx, via, "the room's host")
	newHost, _ := hostOf(via)
	if newHost >= members {
		t.Fatalf("the room moved to the edge %s", name(newHost))
	}
	other := members // the first edge
	if edges == 0 {
		other = 3 - hostIdx - newHost // the survivor that does not host the room
		via = newHost
	}
	dead[name(other)] = true
	kill(other, via, "not the room's host")
	// online is the survivors' sessions: the dead nodes' replicas were forgotten.
	testwait.For(t, 15*time.Second, "online to count the viewers once", func() bool {
		info := getJSON(t, bases[via]+"/v1/rooms/"+room, "K")
		return info["online"] == float64(len(fvs))
	})

	for _, fv := range fvs {
		st := fv.v.Stats()
		rs, _ := fv.v.Room(room)
		t.Logf("%s routed to %s, now on %s: connects %d, reconnects %d, dial errors %d, join errors %d, msgs %d",
			fv.uid, fv.node, fv.nodeOf(), st.Connects, st.Reconnects, st.DialErrors, st.JoinErrors, st.Msgs)
		// The room holds system notices only: with nothing dropped and no gap, a viewer has
		// every seq from 1, in order, including a notice whose post timed out during the
		// failover.
		if st.Gaps != 0 || st.Dropped != 0 || st.EpochChanges != 0 || rs.Epoch != epoch {
			t.Errorf("%s: gaps %d, dropped %d, epoch changes %d, epoch %q (room's %v)",
				fv.uid, st.Gaps, st.Dropped, st.EpochChanges, rs.Epoch, epoch)
		}
		got := fv.received()
		for i, m := range got {
			if m.Seq != uint64(i+1) || (i > 0 && m.TS <= got[i-1].TS) {
				t.Errorf("%s: message %d of %d is seq %d ts %d (previous ts %d), want seq %d in ts order",
					fv.uid, i, len(got), m.Seq, m.TS, got[max(i-1, 0)].TS, i+1)
				break
			}
		}
		if p, p0 := got, fvs[0].received(); !slices.EqualFunc(p, p0,
			func(a, b client.Message) bool { return a.Seq == b.Seq && a.TS == b.TS }) {
			t.Errorf("%s has notices %v, %s has %v", fv.uid, p, fvs[0].uid, p0)
		}
		// A displaced viewer reconnected each time, to a survivor, never trying a dead node
		// more than once per move.
		if fv.displaced > 0 && (st.Reconnects < uint64(fv.displaced) || st.DialErrors > st.Reconnects ||
			dead[fv.nodeOf()]) {
			t.Errorf("%s, displaced %d times: reconnects %d, dial errors %d, on %q", fv.uid, fv.displaced,
				st.Reconnects, st.DialErrors, fv.nodeOf())
		}
	}
	if edges > 0 { // an edge stops cleanly on SIGTERM (a cluster client's shutdown)
		last := nodes[len(nodes)-1].cmd
		if err := last.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- last.Wait() }()
		select {
		case err := <-exited:
			if err != nil {
				t.Fatalf("the edge %s after SIGTERM: %v", name(len(nodes)-1), err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("the edge %s did not exit within 30 s of SIGTERM", name(len(nodes)-1))
		}
	}
}
