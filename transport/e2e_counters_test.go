//go:build !race

package transport_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/liveroom/liveroom/actors"
	"github.com/liveroom/liveroom/internal/testwait"
)

// Counters on the real engine: viewers' adds (with and without id) and the backend's are
// summed exactly; every viewer's last counters frame shows the total GET /v1/rooms/{room}
// shows, which is the sum of the adds accepted; online is in the frames.
func TestCountersEndToEnd(t *testing.T) {
	s := startServer(t, nil, func(c *actors.Config) { c.DispatchInterval = 5 * time.Millisecond })
	if code, _ := s.api(t, "PUT", "/v1/rooms/cnt/config", adminKey, `{"counters_interval_ms":100}`); code != 200 {
		t.Fatalf("config: %d", code)
	}
	const viewers = 4
	cs := make([]*rawClient, viewers)
	for i := range cs {
		cs[i] = s.dialRaw(t, fmt.Sprintf("uid=v%d", i))
		if err := cs[i].conn.WriteMessage(websocket.TextMessage, []byte(`{"op":"join","room":"cnt","id":1}`)); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range cs {
		j := c.next(t, "joined")
		if cnt, ok := j["counters"].(map[string]any); !ok || len(cnt) != 0 {
			t.Fatalf("viewer %d: joined %v", i, j)
		}
	}
	// Each viewer: 15 adds without id (no reply), 3 with id (added), in parallel.
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Add(1)
		go func(i int, c *rawClient) {
			defer wg.Done()
			for k := 0; k < 15; k++ {
				if err := c.conn.WriteMessage(websocket.TextMessage, []byte(`{"op":"add","room":"cnt","counter":"likes","delta":2}`)); err != nil {
					t.Error(err)
					return
				}
			}
		}(i, c)
	}
	wg.Wait()
	for i, c := range cs {
		for k := 0; k < 3; k++ {
			b := string(c.reply(t, []byte(fmt.Sprintf(`{"op":"add","room":"cnt","counter":"likes","delta":1,"id":%d}`, 10+k))))
			if b != fmt.Sprintf(`{"op":"added","room":"cnt","id":%d}`, 10+k) {
				t.Fatalf("viewer %d: %s", i, b)
			}
		}
	}
	// The backend adds any int64 and sets with the admin key.
	if code, r := s.api(t, "POST", "/v1/rooms/cnt/counters/gift_value", apiKey, `{"delta":-9000000000}`); code != 200 || num(r["value"]) != -9000000000 {
		t.Fatalf("backend add: %d %v", code, r)
	}
	if code, r := s.api(t, "POST", "/v1/rooms/cnt/counters/likes", apiKey, `{"delta":1000}`); code != 200 || num(r["value"]) != 1000+viewers*(15*2+3) {
		t.Fatalf("backend add to likes: %d %v", code, r)
	}
	if code, r := s.api(t, "PUT", "/v1/rooms/cnt/counters/gift_value", adminKey, `{"value":7}`); code != 200 || num(r["value"]) != 7 {
		t.Fatalf("admin set: %d %v", code, r)
	}
	want := int64(1000 + viewers*(15*2+3))
	_, info := s.api(t, "GET", "/v1/rooms/cnt", apiKey, "")
	got, _ := info["counters"].(map[string]any)
	if num(got["likes"]) != want || num(got["gift_value"]) != 7 || num(info["online"]) != viewers {
		t.Fatalf("room info: %v", info)
	}
	st, _ := info["stats"].(map[string]any)
	if num(st["adds_accepted"]) != viewers*18+2 || num(st["adds_rate_limited"]) != 0 {
		t.Fatalf("stats: %v", st)
	}
	// Every viewer's latest counters frame reaches the totals.
	for i, c := range cs {
		testwait.For(t, 5*time.Second, fmt.Sprintf("viewer %d's counters", i), func() bool {
			f := c.lastOp("counters")
			cnt, _ := f["counters"].(map[string]any)
			return f != nil && num(cnt["likes"]) == want && num(cnt["gift_value"]) == 7 && num(f["online"]) == viewers
		})
		c.checkFrames(t, fmt.Sprintf("viewer %d", i))
	}
	if v := testutilValue(s.node.Metrics().CounterFrames); v < viewers {
		t.Fatalf("counter frames metric %v", v)
	}
	if v := testutilValue(s.node.Metrics().CounterAdds.WithLabelValues("accepted")); v != viewers*18+2 {
		t.Fatalf("accepted adds metric %v", v)
	}
	// Nothing changes: no further counters frame.
	n := cs[0].countOp("counters")
	time.Sleep(300 * time.Millisecond) // three intervals: a frame would have come by now
	if m := cs[0].countOp("counters"); m != n {
		t.Fatalf("%d counters frames while nothing changed", m-n)
	}
}

// The per-session limit: 20 adds per second per session and room; over it rate_limited, and
// the refused adds count nowhere.
func TestCounterAddRateLimited(t *testing.T) {
	s := startServer(t, nil, nil)
	c := s.dialRaw(t, "uid=fast")
	c.reply(t, []byte(`{"op":"join","room":"rl","id":1}`))
	start := time.Now()
	for k := 0; k < 30; k++ {
		if err := c.conn.WriteMessage(websocket.TextMessage, []byte(`{"op":"add","room":"rl","counter":"likes","delta":1}`)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.conn.WriteMessage(websocket.TextMessage, []byte(`{"op":"ping","id":2}`)); err != nil {
		t.Fatal(err)
	}
	c.next(t, "pong") // frames are answered in order: the adds' refusals came before
	earned := int(time.Since(start).Seconds()*20) + 1
	limited := c.countOp("error")
	if limited < 10-earned || limited > 10 {
		t.Fatalf("%d of 30 adds rate-limited within %v: %q", limited, time.Since(start), c.all)
	}
	if f := c.lastOp("error"); f["code"] != "rate_limited" {
		t.Fatalf("refusal %v", f)
	}
	_, info := s.api(t, "GET", "/v1/rooms/rl", apiKey, "")
	st, _ := info["stats"].(map[string]any)
	testwait.For(t, 5*time.Second, "the rate-limited adds in the stats", func() bool {
		_, info = s.api(t, "GET", "/v1/rooms/rl", apiKey, "")
		st, _ = info["stats"].(map[string]any)
		return num(st["adds_rate_limited"]) == int64(limited)
	})
	cnt, _ := info["counters"].(map[string]any)
	if num(cnt["likes"]) != int64(30-limited) || num(st["adds_accepted"]) != int64(30-limited) {
		t.Fatalf("info %v", info)
	}
}

// Bad adds get bad_request (or not_joined) with the id echoed, the session stays open and the
// totals do not move.
func TestCounterBadInput(t *testing.T) {
	s := startServer(t, nil, nil)
	c := s.dialRaw(t, "uid=bad")
	if b := string(c.reply(t, []byte(`{"op":"add","room":"other","counter":"likes","delta":1,"id":1}`))); !strings.Contains(b, `"code":"not_joined"`) || !strings.Contains(b, `"id":1`) {
		t.Fatalf("not joined: %s", b)
	}
	c.reply(t, []byte(`{"op":"join","room":"bad","id":2}`))
	for _, frame := range []string{
		`{"op":"add","room":"bad","counter":"likes","id":3}`,
		`{"op":"add","room":"bad","delta":1,"id":3}`,
		`{"op":"add","room":"bad","counter":"likes","delta":0,"id":3}`,
		`{"op":"add","room":"bad","counter":"likes","delta":101,"id":3}`,
		`{"op":"add","room":"bad","counter":"likes","delta":-1,"id":3}`,
		`{"op":"add","room":"bad","counter":"Likes","delta":1,"id":3}`,
		`{"op":"add","room":"bad","counter":"","delta":1,"id":3}`,
		`{"op":"add","room":"bad","counter":"` + strings.Repeat("a", 33) + `","delta":1,"id":3}`,
		`{"op":"add","room":"bad","counter":"li\u00e9","delta":1,"id":3}`,
		`{"op":"add","room":"b d","counter":"likes","delta":1,"id":3}`,
		`{"op":"add","counter":"likes","delta":1,"id":3}`,
	} {
		if b := string(c.reply(t, []byte(frame))); !strings.Contains(b, `"code":"bad_request"`) || !strings.Contains(b, `"id":3`) {
			t.Errorf("%s: %s", frame, b)
		}
	}
	// Wrong types refuse the frame as a whole (the id is still echoed when it is an integer).
	for _, frame := range []string{
		`{"op":"add","room":"bad","counter":"likes","delta":1.5,"id":4}`,
		`{"op":"add","room":"bad","counter":"likes","delta":1e1,"id":4}`,
		`{"op":"add","room":"bad","counter":"likes","delta":"1","id":4}`,
		`{"op":"add","room":"bad","counter":7,"delta":1,"id":4}`,
		`{"op":"add","room":"bad","counter":"likes","delta":99999999999999999999,"id":4}`,
	} {
		if b := string(c.reply(t, []byte(frame))); !strings.Contains(b, `"code":"bad_request"`) || !strings.Contains(b, `"id":4`) {
			t.Errorf("%s: %s", frame, b)
		}
	}
	// Without an id a refused add is answered (without id); an accepted one is not.
	if b := string(c.reply(t, []byte(`{"op":"add","room":"bad","counter":"likes","delta":0}`))); !strings.Contains(b, `"code":"bad_request"`) || strings.Contains(b, `"id"`) {
		t.Fatalf("refused add without id: %s", b)
	}
	if b := string(c.reply(t, []byte(`{"op":"ping","id":9}`))); !strings.HasPrefix(b, `{"op":"pong","id":9`) {
		t.Fatalf("session after bad adds: %s", b)
	}
	_, info := s.api(t, "GET", "/v1/rooms/bad", apiKey, "")
	if cnt, _ := info["counters"].(map[string]any); len(cnt) != 0 {
		t.Fatalf("counters after bad adds: %v", info)
	}
	c.checkFrames(t, "bad")

	// The HTTP endpoints.
	f := func(method, path, key, body string, status int, code string) {
		t.Helper()
		got, r := s.api(t, method, path, key, body)
		e, _ := r["error"].(map[string]any)
		if got != status || (code != "" && e["code"] != code) {
			t.Errorf("%s %s %s: %d %v, want %d %s", method, path, body, got, r, status, code)
		}
	}
	p := "/v1/rooms/bad/counters/likes"
	f("POST", p, "", `{"delta":1}`, 401, "unauthorized")
	f("PUT", p, apiKey, `{"value":1}`, 403, "forbidden")
	f("GET", p, apiKey, ``, 405, "bad_request")
	f("POST", "/v1/rooms/bad/counters/Likes", apiKey, `{"delta":1}`, 400, "bad_request")
	f("POST", "/v1/rooms/b%20d/counters/likes", apiKey, `{"delta":1}`, 400, "bad_request")
	for _, body := range []string{``, `{}`, `{"delta":1.5}`, `{"delta":"1"}`, `{"delta":1,"x":1}`, `{"value":1}`,
		`{"delta":9223372036854775808}`, `{"delta":1} 2`, `[1]`, "{\"delta\":1,\"\xff\":1}"} {
		f("POST", p, apiKey, body, 400, "bad_request")
	}
	f("PUT", p, adminKey, `{"delta":1}`, 400, "bad_request")
	f("POST", p, apiKey, `{"delta":9223372036854775807}`, 200, "")
	f("POST", p, apiKey, `{"delta":1}`, 400, "bad_request") // the total would overflow
	for i := 0; i < 15; i++ {
		f("POST", fmt.Sprintf("/v1/rooms/bad/counters/c%d", i), apiKey, `{"delta":1}`, 200, "")
	}
	f("POST", "/v1/rooms/bad/counters/seventeenth", apiKey, `{"delta":1}`, 400, "bad_request")
	f("PUT", "/v1/rooms/bad/config", adminKey, `{"counters_interval_ms":10}`, 400, "bad_request")
}
