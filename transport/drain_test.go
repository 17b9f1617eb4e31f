package transport_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

// TestDrain: a drain answers /readyz with 503 at once, refuses new upgrades with 503, kicks
// every session with reason shutdown and a retry_ms, spread over the drain period rather than
// all at once, and returns once they are gone.
func TestDrain(t *testing.T) {
	s := startFake(t, nil)
	const n = 10
	clients := make([]*wsClient, n)
	for i := range clients {
		clients[i] = s.dial(t, "uid=d"+string(rune('a'+i)))
		clients[i].next(t, "hello", 5*time.Second)
	}
	if code := httpGet(t, "http://"+s.addr+"/readyz"); code != http.StatusOK {
		t.Fatalf("readyz before the drain: %d", code)
	}
	const spread = time.Second
	drained := make(chan time.Duration, 1)
	start := time.Now()
	go func() {
		s.srv.Drain(context.Background(), spread)
		drained <- time.Since(start)
	}()
	// Every client waits for its kick on its own goroutine: the time a kick arrives is the
	// time it was sent, whatever the order of the kicks.
	type kicked struct {
		at    time.Duration
		frame map[string]any
	}
	kicks := make([]chan kicked, n)
	for i, c := range clients {
		kicks[i] = make(chan kicked, 1)
		go func() {
			for f := range c.frames {
				if f["op"] == "kick" {
					kicks[i] <- kicked{time.Since(start), f}
					return
				}
			}
		}()
	}
	kickedAt := make([]time.Duration, n)
	for i, c := range clients {
		var k kicked
		select {
		case k = <-kicks[i]:
		case <-time.After(5 * time.Second):
			t.Fatalf("client %d got no kick", i)
		}
		kickedAt[i] = k.at
		if k.frame["reason"] != "shutdown" || k.frame["retry_ms"] == nil || k.frame["retry_ms"].(float64) <= 0 {
			t.Fatalf("kick %v, want reason shutdown with a retry_ms", k.frame)
		}
		select {
		case <-c.closed:
		case <-time.After(5 * time.Second):
			t.Fatal("a kicked session was not closed")
		}
		if c.closeCode() != websocket.CloseGoingAway {
			t.Errorf("close code %d, want 1001", c.closeCode())
		}
	}
	if code := httpGet(t, "http://"+s.addr+"/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("readyz while draining: %d, want 503", code)
	}
	_, resp, err := websocket.DefaultDialer.Dial("ws://"+s.addr+"/v1/ws?uid=late", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("an upgrade while draining: err %v, response %v; want 503", err, resp)
	}
	first, last := kickedAt[0], kickedAt[0]
	for _, at := range kickedAt {
		first, last = min(first, at), max(last, at)
	}
	// n kicks at even intervals over spread: the last is (n-1)/n of it after the first.
	if last-first < spread/2 {
		t.Errorf("kicks from %v to %v: not spread over the %v drain", first, last, spread)
	}
	select {
	case took := <-drained:
		if took < spread*(n-1)/n {
			t.Errorf("Drain returned after %v, before its last kick was due (%v)", took, spread*(n-1)/n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Drain did not return once the sessions were gone")
	}
}

// TestDrainEndpoint: POST /v1/node/drain takes the admin key and asks the binary to drain.
func TestDrainEndpoint(t *testing.T) {
	s := startFake(t, nil)
	post := func(key string) int {
		req, _ := http.NewRequest(http.MethodPost, "http://"+s.addr+"/v1/node/drain", strings.NewReader(""))
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(apiKey); code != http.StatusForbidden {
		t.Errorf("drain with the server key: %d, want 403", code)
	}
	select {
	case <-s.srv.DrainRequested():
		t.Fatal("a refused drain request was taken")
	default:
	}
	if code := post(adminKey); code != http.StatusAccepted {
		t.Errorf("drain with the admin key: %d, want 202", code)
	}
	select {
	case <-s.srv.DrainRequested():
	case <-time.After(5 * time.Second):
		t.Fatal("the drain request did not reach the binary")
	}
}

func httpGet(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
