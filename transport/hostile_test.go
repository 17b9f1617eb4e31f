//go:build !race

// Hostile viewers against a real node (see e2e_test.go for why without -race): each test is
// one way a viewer could hurt others or the server, and what stops it.

package transport_test

import (
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/liveroom/liveroom/actors"
	"github.com/liveroom/liveroom/internal/testwait"
	"github.com/liveroom/liveroom/transport"
)

// A viewer that stops reading fills its socket: the server closes it as unresponsive within
// SlowKick of the socket filling, whatever mode it joined with, and a reading viewer of the
// same room keeps getting every window meanwhile.
func TestViewerThatStopsReadingIsClosed(t *testing.T) {
	for _, push := range []bool{true, false} {
		t.Run(fmt.Sprint("push=", push), func(t *testing.T) {
			s := startServer(t, func(c *transport.Config) {
				c.SlowKick = 500 * time.Millisecond
				c.PingInterval = time.Minute
				c.MaxBody = 64 << 10
				c.SendBuffer = 4096
			}, func(c *actors.Config) { c.NotifyRetry = time.Minute }) // not the unanswered-notify kick
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
			join := fmt.Sprintf(`{"op":"join","room":"slow","push":%v,"id":1}`, push)
			if err := stuck.WriteMessage(websocket.TextMessage, []byte(join)); err != nil {
				t.Fatal(err)
			}
			if _, _, err := stuck.ReadMessage(); err != nil { // joined; it reads nothing more
				t.Fatal(err)
			}
			// Notify-pull: a viewer that pulls everything it is told about, but never reads what
			// comes back, fills its socket with the answers.
			if !push {
				go func() {
					for i := 0; ; i++ {
						if stuck.WriteMessage(websocket.TextMessage, []byte(fmt.Sprintf(`{"op":"pull","room":"slow","since":0,"limit":200,"id":%d}`, i+2))) != nil {
							return
						}
						time.Sleep(5 * time.Millisecond)
					}
				}()
			}
			c := s.dial(t, "uid=reader")
			c.call(t, map[string]any{"op": "join", "room": "slow", "push": true})
			body := `"` + strings.Repeat("x", 30000) + `"`
			before := s.srv.Sessions()
			deadline := time.Now().Add(20 * time.Second)
			for i := 0; s.srv.Sessions() == before; i++ {
				if time.Now().After(deadline) {
					t.Fatal("the viewer that does not read was never closed")
				}
				s.api(t, "POST", "/v1/rooms/slow/messages", apiKey, fmt.Sprintf(`{"uid":"bob","kind":"chat","body":%s,"cmid":"m%d"}`, body, i))
				for { // the reader gets every round's window
					m := c.next(t, "msgs", 5*time.Second)
					msgs, _ := m["msgs"].([]any)
					if len(msgs) > 0 && msgs[len(msgs)-1].(map[string]any)["cmid"] == fmt.Sprintf("m%d", i) {
						break
					}
				}
			}
			if n := s.node.Metrics().Kicks.WithLabelValues("unresponsive"); testutilValue(n) < 1 {
				t.Fatal("the close was not counted as an unresponsive kick")
			}
		})
	}
}

// A viewer cannot create rooms without bound: a token opening rooms through the HTTP pull is
// refused (429) after its burst, and the rooms it touched are forgotten when they go idle.
func TestViewerCannotOpenRoomsWithoutBound(t *testing.T) {
	s := startServer(t, func(c *transport.Config) { c.HTTPRatePerUID, c.HTTPRatePerIP = 1000, 1000 }, func(c *actors.Config) {
		c.RoomOpenBurst, c.RoomOpenRate = 5, 0.1
		c.ReplicaIdle, c.RoomIdle = 100*time.Millisecond, 200*time.Millisecond
	})
	tok, err := s.srv.IssueToken("prober", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var ok, limited int
	for i := range 50 {
		code, body := s.api(t, "GET", fmt.Sprintf("/v1/rooms/probe-%d/messages?token=%s", i, tok), "", "")
		switch code {
		case 200:
			ok++
		case 429:
			limited++
			if e, _ := body["error"].(map[string]any); e["code"] != "rate_limited" {
				t.Fatalf("refusal %v", body)
			}
		default:
			t.Fatalf("probe %d: %d %v", i, code, body)
		}
	}
	if ok != 5 || limited != 45 {
		t.Fatalf("50 new rooms: %d opened, %d refused; want 5 and 45", ok, limited)
	}
	// Another viewer is not affected, nor is the backend.
	other, _ := s.srv.IssueToken("someone", time.Hour)
	if code, body := s.api(t, "GET", "/v1/rooms/probe-x/messages?token="+other, "", ""); code != 200 {
		t.Fatalf("another viewer: %d %v", code, body)
	}
	if code, body := s.api(t, "GET", "/v1/rooms/probe-y/messages", apiKey, ""); code != 200 {
		t.Fatalf("the backend: %d %v", code, body)
	}
	testwait.For(t, 10*time.Second, "the probed rooms to passivate", func() bool {
		return testutilValue(s.node.Metrics().Rooms) == 0
	})
}

// A banned viewer can no longer read the room over HTTP: pull and long-poll are refused.
func TestBannedViewerCannotReadOverHTTP(t *testing.T) {
	s := startServer(t, nil, nil)
	tok, _ := s.srv.IssueToken("troll", time.Hour)
	s.api(t, "POST", "/v1/rooms/b/messages", apiKey, `{"uid":"bob","kind":"chat","body":1}`)
	if code, _ := s.api(t, "GET", "/v1/rooms/b/messages?token="+tok, "", ""); code != 200 {
		t.Fatalf("before the ban: %d", code)
	}
	if code, _ := s.api(t, "PUT", "/v1/rooms/b/bans/troll", apiKey, ""); code != 200 {
		t.Fatalf("ban: %d", code)
	}
	s.api(t, "POST", "/v1/rooms/b/messages", apiKey, `{"uid":"bob","kind":"chat","body":2}`)
	testwait.For(t, 5*time.Second, "the ban to reach the replica", func() bool {
		code, _ := s.api(t, "GET", "/v1/rooms/b/messages?token="+tok, "", "")
		return code == 403
	})
	code, body := s.api(t, "GET", "/v1/rooms/b/messages?since=0&wait=2&token="+tok, "", "")
	if e, _ := body["error"].(map[string]any); code != 403 || e["code"] != "banned" {
		t.Fatalf("long-poll after the ban: %d %v", code, body)
	}
	// Lifted: readable again.
	s.api(t, "DELETE", "/v1/rooms/b/bans/troll", apiKey, "")
	testwait.For(t, 5*time.Second, "the lifted ban to reach the replica", func() bool {
		code, _ := s.api(t, "GET", "/v1/rooms/b/messages?token="+tok, "", "")
		return code == 200
	})
}

// WebSocket sessions leave the per-address HTTP connection count once upgraded: an address
// holds more sessions than its HTTP connection cap, and HTTP requests still get through.
func TestSessionsDoNotCountAsHTTPConnections(t *testing.T) {
	s := startServer(t, func(c *transport.Config) { c.HTTPConnsPerIP = 3 }, nil)
	for i := range 10 {
		c, err := s.tryDial(fmt.Sprintf("uid=u%d", i)) // kept open
		if err != nil {
			t.Fatalf("session %d with an HTTP connection cap of 3: %v", i, err)
		}
		t.Cleanup(func() { _ = c.conn.Close() })
		c.next(t, "hello", 2*time.Second)
	}
	if code, _ := s.api(t, "GET", "/healthz", "", ""); code != 200 {
		t.Fatalf("an HTTP request next to 10 sessions: %d", code)
	}
}
