package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/golang-jwt/jwt/v5"

	"github.com/liveroom/liveroom/internal/testetcd"
	"github.com/liveroom/liveroom/internal/testredis"
	"github.com/liveroom/liveroom/internal/testwait"
)

// freePorts returns n loopback ports p such that p and p+1 are free (a node's actor port and
// its membership port).
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var out []int
	for len(out) < n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := ln.Addr().(*net.TCPAddr).Port
		ln2, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+1))
		ln.Close()
		if err != nil {
			continue
		}
		ln2.Close()
		out = append(out, p)
	}
	return out
}

func getJSON(t *testing.T, url, key string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return out
}

type node struct {
	http string
	cmd  *exec.Cmd
}

// startCluster runs n liveroomd processes as one cluster (extra flags for all) and waits until
// every one is ready. Membership is static seeds unless extra has --etcd.
func startCluster(t *testing.T, n int, extra ...string) []*node {
	t.Helper()
	return startClusterEach(t, n, nil, extra...)
}

// startClusterEach is startCluster with each(i)'s flags added to node i's (each may be nil).
func startClusterEach(t *testing.T, n int, each func(i int) []string, extra ...string) []*node {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "liveroomd")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/liveroomd").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	actorPorts := freePorts(t, n)
	withEtcd := slices.Contains(extra, "--etcd")
	var nodes []*node
	for i := range n {
		var seeds []string
		for j, p := range actorPorts {
			if j != i {
				seeds = append(seeds, fmt.Sprintf("127.0.0.1:%d", p))
			}
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		args := []string{"--addr", addr, "--jwt-secret", "S", "--api-key", "K", "--admin-key", "A",
			"--node", fmt.Sprintf("n%d", i+1), "--cluster-bind", fmt.Sprintf("127.0.0.1:%d", actorPorts[i]),
			"--advertise", "ws://" + addr + "/v1/ws", "--log-level", "error"}
		if !withEtcd {
			args = append(args, "--cluster-seeds", strings.Join(seeds, ","))
		}
		args = append(args, extra...)
		if each != nil {
			args = append(args, each(i)...)
		}
		cmd := exec.Command(bin, args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		nodes = append(nodes, &node{http: addr, cmd: cmd})
	}
	for _, nd := range nodes {
		deadline := time.Now().Add(30 * time.Second)
		for {
			if r, err := http.Get("http://" + nd.http + "/readyz"); err == nil {
				r.Body.Close()
				if r.StatusCode == 200 {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %s not ready", nd.http)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return nodes
}

func postJSON(url, key, body string) (map[string]any, int, error) {
	return postJSONWithin(url, key, body, 0)
}

// postJSONWithin posts with a client timeout (0: none).
func postJSONWithin(url, key, body string, timeout time.Duration) (map[string]any, int, error) {
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := (&http.Client{Timeout: timeout}).Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return out, resp.StatusCode, nil
}

// Three liveroomd processes form a static cluster: viewers of one room on every node get every
// system notice posted on one node, with exact accounting, and `online` sums the nodes.
// membershipFlags are the two ways to form a cluster: static seeds (the default of
// startCluster) and etcd, each a subtest of the cluster tests.
func membershipFlags(t *testing.T, kind string) []string {
	if kind == "etcd" {
		return []string{"--etcd", testetcd.Start(t)}
	}
	return nil
}

func TestThreeNodeCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three liveroomd processes")
	}
	for _, m := range []string{"seeds", "etcd"} {
		t.Run(m, func(t *testing.T) { threeNodeCluster(t, membershipFlags(t, m)) })
	}
}

func threeNodeCluster(t *testing.T, flags []string) {
	var httpAddrs []string
	for _, nd := range startCluster(t, 3, flags...) {
		httpAddrs = append(httpAddrs, nd.http)
	}
	// One viewer per node, all in room "c".
	type viewer struct {
		conn  *websocket.Conn
		since int64
	}
	var vs []*viewer
	for i, a := range httpAddrs {
		tok, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": fmt.Sprintf("v%d", i), "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte("S"))
		conn, _, err := websocket.DefaultDialer.Dial("ws://"+a+"/v1/ws?token="+tok, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetReadDeadline(time.Now().Add(60 * time.Second))
		var f map[string]any
		if err := conn.ReadJSON(&f); err != nil || f["op"] != "hello" {
			t.Fatalf("hello: %v %v", f, err)
		}
		_ = conn.WriteJSON(map[string]any{"op": "join", "room": "c", "id": 1})
		if err := conn.ReadJSON(&f); err != nil || f["op"] != "joined" {
			t.Fatalf("joined: %v %v", f, err)
		}
		vs = append(vs, &viewer{conn: conn, since: int64(f["ts"].(float64))})
	}
	// online sums the nodes (renewals reach the grain within a dispatch round or two).
	deadline := time.Now().Add(15 * time.Second)
	for {
		info := getJSON(t, "http://"+httpAddrs[1]+"/v1/rooms/c", "K")
		if n, _ := info["online"].(float64); n == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("online never reached 3: %v", info)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Five notices posted on node 1 reach every viewer, each accounting every seq.
	var seqs []float64
	for i := range 5 {
		req, _ := http.NewRequest("POST", "http://"+httpAddrs[0]+"/v1/rooms/c/notices", strings.NewReader(fmt.Sprintf(`{"body":{"n":%d}}`, i)))
		req.Header.Set("Authorization", "Bearer A")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("notice: %v %v", resp, err)
		}
		var st map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		seqs = append(seqs, st["seq"].(float64))
	}
	defer func() {
		// Cross-node cost: Delta messages per accepted message, summed over the nodes.
		var deltas, accepted float64
		for _, a := range httpAddrs {
			deltas += testwait.Metric(t, a, "liveroom_deltas_sent_total")
			accepted += testwait.Metric(t, a, "liveroom_accepted_total")
		}
		t.Logf("deltas sent %v for %v accepted messages: %.2f per accepted message (3 subscribed nodes)", deltas, accepted, deltas/accepted)
	}()
	for i, v := range vs {
		got := map[float64]bool{}
		for len(got) < len(seqs) {
			var f map[string]any
			if err := v.conn.ReadJSON(&f); err != nil {
				t.Fatalf("viewer on node %d: %v (got %v)", i+1, err, got)
			}
			switch f["op"] {
			case "notify":
				_ = v.conn.WriteJSON(map[string]any{"op": "pull", "room": "c", "since": v.since, "id": 2})
			case "msgs":
				msgs, _ := f["msgs"].([]any)
				if f["dropped"].(float64) != 0 {
					t.Fatalf("node %d: dropped %v", i+1, f["dropped"])
				}
				for _, m := range msgs {
					got[m.(map[string]any)["seq"].(float64)] = true
				}
				v.since = int64(f["next"].(float64))
			}
		}
		for _, s := range seqs {
			if !got[s] {
				t.Errorf("viewer on node %d lost notice seq %v", i+1, s)
			}
		}
	}
}

// kill -9 of the node hosting a room's grain: the room re-activates on a survivor from Redis with
// the same epoch and seq continuing, and the survivors' viewers keep getting notices.
func TestClusterFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three liveroomd processes and redis-server")
	}
	for _, m := range []string{"seeds", "etcd"} {
		t.Run(m, func(t *testing.T) { clusterFailover(t, membershipFlags(t, m)) })
	}
}

func clusterFailover(t *testing.T, flags []string) {
	url := testredis.Start(t)
	nodes := startCluster(t, 3, append(flags, "--redis", url)...)
	room := "http://" + nodes[0].http + "/v1/rooms/f"
	var last map[string]any
	for i := range 3 {
		pin := ""
		if i == 1 {
			pin = `,"pin_s":600` // PROTOCOL.md 8.3: the pin survives the failover
		}
		st, code, err := postJSON("http://"+nodes[i].http+"/v1/rooms/f/notices", "A", fmt.Sprintf(`{"body":{"n":%d}%s}`, i, pin))
		if err != nil || code != 200 {
			t.Fatalf("notice: %v %v", code, err)
		}
		last = st
	}
	// /v1/route agrees on every node and spreads uids over the nodes (the directory is in Redis).
	picked := map[string]bool{}
	for u := range 30 {
		var first map[string]any
		for _, nd := range nodes {
			r := getJSON(t, fmt.Sprintf("http://%s/v1/route?uid=user%d", nd.http, u), "")
			if first == nil {
				first = r
			} else if r["node"] != first["node"] || r["ws"] != first["ws"] {
				t.Fatalf("nodes disagree on user%d: %v vs %v", u, r, first)
			}
		}
		picked[first["node"].(string)] = true
	}
	if len(picked) < 2 {
		t.Fatalf("30 uids all routed to %v", picked)
	}

	// POST /v1/notices reaches every active room of the cluster, wherever its grain lives.
	for i := range 6 {
		if _, code, err := postJSON(fmt.Sprintf("http://%s/v1/rooms/g%d/messages", nodes[i%3].http, i), "K", `{"uid":"u","kind":"chat","body":1}`); err != nil || code != 200 {
			t.Fatalf("post: %v %v", code, err)
		}
	}
	all, code, err := postJSON("http://"+nodes[2].http+"/v1/notices", "A", `{"body":{"t":"to all"}}`)
	if err != nil || code != 200 || all["rooms"].(float64) != 7 {
		t.Fatalf("notice to all rooms: %v %v %v", all, code, err)
	}
	last["seq"] = last["seq"].(float64) + 1 // room f got that notice too
	info := getJSON(t, room, "K")
	var host *node
	var survivor *node
	for i, nd := range nodes {
		if info["node"] == fmt.Sprintf("n%d", i+1) {
			host = nd
		} else {
			survivor = nd
		}
	}
	if host == nil {
		t.Fatalf("no node hosts the room: %v", info)
	}
	start := time.Now()
	_ = host.cmd.Process.Kill()
	// Recovery is the time until a new post succeeds. A post that went to the dead node's grain
	// waits out the request timeout (5 s), so each attempt gives up after 1 s and the next one
	// starts; the cmid makes the attempts one notice, however many of them land.
	var st map[string]any
	for {
		var code int
		var err error
		st, code, err = postJSONWithin("http://"+survivor.http+"/v1/rooms/f/notices", "A", `{"body":{"n":"after"},"cmid":"after"}`, time.Second)
		if err == nil && code == 200 {
			break
		}
		if time.Since(start) > 60*time.Second {
			t.Fatalf("the room did not recover: %v %v", code, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("recovery after kill -9: %v", time.Since(start).Round(time.Millisecond))
	if st["seq"].(float64) != last["seq"].(float64)+1 || st["ts"].(float64) <= last["ts"].(float64) {
		t.Fatalf("after failover %v, before %v", st, last)
	}
	after := getJSON(t, "http://"+survivor.http+"/v1/rooms/f", "K")
	if after["epoch"] != info["epoch"] {
		t.Fatalf("epoch changed: %v -> %v", info["epoch"], after["epoch"])
	}
	w := getJSON(t, "http://"+survivor.http+"/v1/rooms/f/messages?since=0", "K")
	if msgs, _ := w["msgs"].([]any); len(msgs) != 5 || w["next_seq"].(float64) != st["seq"].(float64) {
		t.Fatalf("notices after failover: %v", w)
	}
	// A late joiner on a survivor: the pinned notice, and recent 2 starts before the last two.
	tok, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "late", "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte("S"))
	conn, _, err := websocket.DefaultDialer.Dial("ws://"+survivor.http+"/v1/ws?token="+tok, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	var f map[string]any
	_ = conn.ReadJSON(&f) // hello
	_ = conn.WriteJSON(map[string]any{"op": "join", "room": "f", "recent": 2, "id": 1})
	if err := conn.ReadJSON(&f); err != nil || f["op"] != "joined" {
		t.Fatalf("joined: %v %v", f, err)
	}
	pinned, _ := f["pinned"].([]any)
	if len(pinned) != 1 || pinned[0].(map[string]any)["body"].(map[string]any)["n"] != 1.0 {
		t.Fatalf("pinned after failover: %v", f)
	}
	msgs := w["msgs"].([]any)
	if since := f["since"].(float64); since != msgs[len(msgs)-2].(map[string]any)["ts"].(float64)-1 {
		t.Fatalf("recent 2 after failover: since %v, messages %v", since, msgs)
	}
}

// The per-uid session cap (5) holds over the whole cluster: the uid directory in Redis lists a
// uid's sessions on every node, and a sixth session anywhere closes the oldest, wherever it is.
func TestClusterSessionCap(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three liveroomd processes and redis-server")
	}
	nodes := startCluster(t, 3, "--redis", testredis.Start(t))
	tok, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "many", "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte("S"))
	type sess struct {
		conn   *websocket.Conn
		frames chan map[string]any
	}
	open := func(i int) *sess {
		conn, _, err := websocket.DefaultDialer.Dial("ws://"+nodes[i%3].http+"/v1/ws?token="+tok, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		s := &sess{conn: conn, frames: make(chan map[string]any, 16)}
		go func() {
			defer close(s.frames)
			for {
				var f map[string]any
				if err := conn.ReadJSON(&f); err != nil {
					return
				}
				s.frames <- f
			}
		}()
		if f := <-s.frames; f["op"] != "hello" {
			t.Fatalf("hello: %v", f)
		}
		return s
	}
	// kicked waits for s to get the replaced kick and be closed.
	kicked := func(s *sess, which int) {
		t.Helper()
		timeout := time.After(10 * time.Second)
		var reason any
		for {
			select {
			case f, ok := <-s.frames:
				if !ok {
					if reason != "replaced" {
						t.Fatalf("session %d closed without the replaced kick", which)
					}
					return
				}
				if f["op"] == "kick" {
					reason = f["reason"]
				}
			case <-timeout:
				t.Fatalf("session %d (node %d) was not replaced", which, which%3+1)
			}
		}
	}
	var ss []*sess
	for i := range 5 { // two on node 1, two on node 2, one on node 3
		ss = append(ss, open(i))
	}
	ss = append(ss, open(5)) // the sixth, on node 3: the oldest (node 1) goes
	kicked(ss[0], 0)
	ss = append(ss, open(6)) // the seventh, on node 1: the next oldest (node 2) goes
	kicked(ss[1], 1)
	for i := 2; i < len(ss); i++ { // the five newest stay open
		select {
		case f, ok := <-ss[i].frames:
			if !ok || f["op"] == "kick" {
				t.Fatalf("session %d: %v (open %v)", i, f, ok)
			}
		default:
		}
		if err := ss[i].conn.WriteJSON(map[string]any{"op": "ping", "id": 9}); err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
		if f := <-ss[i].frames; f["op"] != "pong" {
			t.Fatalf("session %d answered %v", i, f)
		}
	}
}
