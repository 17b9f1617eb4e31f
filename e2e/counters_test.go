package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/liveroom/liveroom/internal/testredis"
	"github.com/liveroom/liveroom/internal/testwait"
)

// counterViewer is a bare WebSocket viewer that keeps its last counters frame and counts its
// acknowledged and refused adds.
type counterViewer struct {
	conn *websocket.Conn
	wmu  sync.Mutex

	mu      sync.Mutex
	last    map[string]int64 // the last counters frame's totals
	online  int64
	frames  int
	added   int
	refused int
	joined  chan map[string]any
}

func dialCounterViewer(t *testing.T, addr, uid, room string) *counterViewer {
	t.Helper()
	conn, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/v1/ws?token="+viewerToken(t, uid), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	v := &counterViewer{conn: conn, joined: make(chan map[string]any, 1)}
	go v.read()
	v.write(t, fmt.Sprintf(`{"op":"join","room":%q,"id":1}`, room))
	select {
	case j := <-v.joined:
		if _, ok := j["counters"].(map[string]any); !ok {
			t.Fatalf("joined without counters: %v", j)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: no joined", uid)
	}
	return v
}

func (v *counterViewer) write(t *testing.T, frame string) {
	v.wmu.Lock()
	defer v.wmu.Unlock()
	if err := v.conn.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
		t.Errorf("write: %v", err)
	}
}

func (v *counterViewer) read() {
	for {
		_, b, err := v.conn.ReadMessage()
		if err != nil {
			return
		}
		var f struct {
			Op       string           `json:"op"`
			Code     string           `json:"code"`
			Counters map[string]int64 `json:"counters"`
			Online   int64            `json:"online"`
		}
		if json.Unmarshal(b, &f) != nil {
			panic(fmt.Sprintf("non-JSON frame %q", b))
		}
		v.mu.Lock()
		switch f.Op {
		case "joined":
			var j map[string]any
			_ = json.Unmarshal(b, &j)
			select {
			case v.joined <- j:
			default:
			}
		case "counters":
			v.last, v.online = f.Counters, f.Online
			v.frames++
		case "added":
			v.added++
		case "error":
			v.refused++
		}
		v.mu.Unlock()
	}
}

func (v *counterViewer) state() (map[string]int64, int64, int, int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.last, v.online, v.added, v.refused
}

func roomCounters(t *testing.T, addr, room string) (map[string]int64, int64) {
	t.Helper()
	info := getJSON(t, "http://"+addr+"/v1/rooms/"+room, "K")
	out := map[string]int64{}
	cs, _ := info["counters"].(map[string]any)
	for k, v := range cs {
		out[k] = int64(v.(float64))
	}
	online, _ := info["online"].(float64)
	return out, int64(online)
}

func putJSON(t *testing.T, url, key, body string) int {
	t.Helper()
	req, _ := http.NewRequest("PUT", url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Counters over two liveroomd nodes sharing Redis: viewers on both nodes add likes (summed on
// their node, handed to the room once per round), the backend adds gift_value; every viewer's
// last counters frame shows the room's total, which is the sum of the adds accepted, and the
// cluster-wide online count. Then the node hosting the room's grain is killed: the totals
// acknowledged before survive in Redis, and the survivors' adds continue them.
func TestClusterCounters(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two liveroomd processes and redis-server")
	}
	url := testredis.Start(t)
	nodes := startCluster(t, 2, "--redis", url)
	const room = "likes-room"
	if code := putJSON(t, "http://"+nodes[0].http+"/v1/rooms/"+room+"/config", "A", `{"counters_interval_ms":200}`); code != 200 {
		t.Fatalf("config: %d", code)
	}
	const perNode = 4
	var viewers []*counterViewer
	var onNode [2][]*counterViewer
	for i := range 2 * perNode {
		v := dialCounterViewer(t, nodes[i%2].http, fmt.Sprintf("cv%d", i), room)
		viewers = append(viewers, v)
		onNode[i%2] = append(onNode[i%2], v)
	}
	// 15 adds without id (within the per-session burst of 20) and 3 with id per viewer.
	var wg sync.WaitGroup
	for i, v := range viewers {
		wg.Add(1)
		go func(i int, v *counterViewer) {
			defer wg.Done()
			for k := range 15 {
				v.write(t, fmt.Sprintf(`{"op":"add","room":%q,"counter":"likes","delta":%d}`, room, 1+(i+k)%3))
			}
			for k := range 3 {
				v.write(t, fmt.Sprintf(`{"op":"add","room":%q,"counter":"likes","delta":2,"id":%d}`, room, 10+k))
			}
		}(i, v)
	}
	var gifts int64
	for i := range 5 {
		r, code, err := postJSON(fmt.Sprintf("http://%s/v1/rooms/%s/counters/gift_value", nodes[i%2].http, room), "K", `{"delta":250}`)
		if err != nil || code != 200 {
			t.Fatalf("gift: %v %v %v", r, code, err)
		}
		gifts += 250
	}
	wg.Wait()
	var likes int64
	for i, v := range viewers {
		for k := range 15 {
			likes += int64(1 + (i+k)%3)
		}
		likes += 3 * 2
		testwait.For(t, 10*time.Second, "the acknowledged adds", func() bool { _, _, added, _ := v.state(); return added == 3 })
		if _, _, _, refused := v.state(); refused != 0 {
			t.Fatalf("viewer %d: %d adds refused", i, refused)
		}
	}
	want := map[string]int64{"likes": likes, "gift_value": gifts}
	same := func(got map[string]int64, want map[string]int64) bool {
		return len(got) == len(want) && got["likes"] == want["likes"] && got["gift_value"] == want["gift_value"]
	}
	for i, v := range viewers {
		testwait.For(t, 10*time.Second, fmt.Sprintf("viewer %d's counters frame to show %v and 8 online", i, want), func() bool {
			last, online, _, _ := v.state()
			return same(last, want) && online == 2*perNode
		})
	}
	for _, nd := range nodes {
		got, online := roomCounters(t, nd.http, room)
		if !same(got, want) || online != 2*perNode {
			t.Fatalf("GET room on %s: %v online %d, want %v and %d", nd.http, got, online, want, 2*perNode)
		}
	}

	// Kill the grain's host: what was acknowledged is in Redis and the room continues from it.
	info := getJSON(t, "http://"+nodes[0].http+"/v1/rooms/"+room, "K")
	host := 0
	if info["node"] == "n2" {
		host = 1
	}
	survivor := nodes[1-host]
	_ = nodes[host].cmd.Process.Kill()
	var after map[string]int64
	testwait.For(t, 60*time.Second, "the room on the survivor", func() bool {
		req, _ := http.NewRequest("GET", "http://"+survivor.http+"/v1/rooms/"+room, nil)
		req.Header.Set("Authorization", "Bearer K")
		resp, err := (&http.Client{Timeout: 2 * time.Second}).Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var out struct {
			Node     string           `json:"node"`
			Counters map[string]int64 `json:"counters"`
		}
		if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&out) != nil || out.Node != fmt.Sprintf("n%d", 2-host) {
			return false
		}
		after = out.Counters
		return true
	})
	if !same(after, want) {
		t.Fatalf("after failover: %v, want %v", after, want)
	}
	for _, v := range onNode[1-host] {
		v.write(t, fmt.Sprintf(`{"op":"add","room":%q,"counter":"likes","delta":5,"id":20}`, room))
	}
	want["likes"] += 5 * perNode
	for i, v := range onNode[1-host] {
		testwait.For(t, 20*time.Second, fmt.Sprintf("survivor viewer %d's counters frame to show %v", i, want), func() bool {
			last, online, added, _ := v.state()
			return same(last, want) && online == perNode && added == 4
		})
	}
	if got, _ := roomCounters(t, survivor.http, room); !same(got, want) {
		t.Fatalf("GET room after the survivors' adds: %v, want %v", got, want)
	}
}
