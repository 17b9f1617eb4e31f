package e2e

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/liveroom/liveroom/internal/testredis"
	"github.com/liveroom/liveroom/internal/testwait"
)

// doKey does a request with the server key and returns the status.
func doKey(t *testing.T, method, url, body string) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer K")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// ended reads a session until it closes and returns the whole-session kick's reason and the
// close code.
func ended(t *testing.T, conn *websocket.Conn) (reason any, code int) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var f map[string]any
		err := conn.ReadJSON(&f)
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return reason, ce.Code
		}
		if err != nil {
			t.Fatalf("session ended without a close frame: %v (kick %v)", err, reason)
		}
		if f["op"] == "kick" && f["room"] == nil {
			reason = f["reason"]
		}
	}
}

// A global ban set through one node closes the uid's sessions on both nodes (kick banned,
// close 4003), both refuse its upgrades with 403 until it is lifted through the other node, and
// a kick everywhere through one node closes its sessions on both with kick kicked, close 1000.
func TestClusterGlobalBan(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two liveroomd processes and redis-server")
	}
	nodes := startCluster(t, 2, "--redis", testredis.Start(t))
	open := func(i int, uid string, room string) *websocket.Conn {
		t.Helper()
		conn, _, err := websocket.DefaultDialer.Dial("ws://"+nodes[i].http+"/v1/ws?token="+viewerToken(t, uid), nil)
		if err != nil {
			t.Fatalf("node %d: %v", i+1, err)
		}
		t.Cleanup(func() { conn.Close() })
		var hello map[string]any
		if err := conn.ReadJSON(&hello); err != nil || hello["op"] != "hello" {
			t.Fatalf("hello: %v %v", hello, err)
		}
		if room != "" {
			_ = conn.WriteJSON(map[string]any{"op": "join", "room": room, "id": 1})
			var j map[string]any
			if err := conn.ReadJSON(&j); err != nil || j["op"] != "joined" {
				t.Fatalf("join: %v %v", j, err)
			}
		}
		return conn
	}
	status := func(i int, uid string) int {
		conn, resp, err := websocket.DefaultDialer.Dial("ws://"+nodes[i].http+"/v1/ws?token="+viewerToken(t, uid), nil)
		if err == nil {
			conn.Close()
			return 101
		}
		if resp == nil {
			t.Fatal(err)
		}
		return resp.StatusCode
	}
	var sessions []*websocket.Conn
	for i := range 4 { // two per node, one of each in a room
		room := ""
		if i < 2 {
			room = "cb"
		}
		sessions = append(sessions, open(i%2, "cb-user", room))
	}
	bystander := open(1, "cb-other", "cb")

	if st := doKey(t, "PUT", "http://"+nodes[0].http+"/v1/bans/cb-user", ""); st != 200 {
		t.Fatalf("ban: %d", st)
	}
	for i, conn := range sessions {
		if reason, code := ended(t, conn); reason != "banned" || code != 4003 {
			t.Errorf("session %d on node %d: kick %v, close %d; want banned, 4003", i, i%2+1, reason, code)
		}
	}
	for i := range nodes {
		if st := status(i, "cb-user"); st != 403 {
			t.Errorf("node %d: upgrade of the banned uid: %d, want 403", i+1, st)
		}
	}
	if err := bystander.WriteJSON(map[string]any{"op": "ping", "id": 2}); err != nil {
		t.Fatal(err)
	}
	var pong map[string]any
	if err := bystander.ReadJSON(&pong); err != nil || pong["op"] != "pong" {
		t.Fatalf("another uid: %v %v", pong, err)
	}
	if got := getJSON(t, "http://"+nodes[1].http+"/v1/bans", "K"); fmt.Sprint(got["items"]) != "[map[uid:cb-user until:0]]" {
		t.Fatalf("node 2 lists bans %v", got)
	}

	if st := doKey(t, "DELETE", "http://"+nodes[1].http+"/v1/bans/cb-user", ""); st != 200 {
		t.Fatalf("unban: %d", st)
	}
	testwait.For(t, 15*time.Second, "both nodes to let the uid in", func() bool { return status(0, "cb-user") == 101 && status(1, "cb-user") == 101 })

	kicked := []*websocket.Conn{open(0, "cb-user", "cb"), open(1, "cb-user", "")}
	if st := doKey(t, "DELETE", "http://"+nodes[1].http+"/v1/viewers/cb-user", ""); st != 200 {
		t.Fatalf("kick: %d", st)
	}
	for i, conn := range kicked {
		if reason, code := ended(t, conn); reason != "kicked" || code != 1000 {
			t.Errorf("node %d: kick %v, close %d; want kicked, 1000", i+1, reason, code)
		}
	}
}
