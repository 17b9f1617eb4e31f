// Hostile viewers against the in-memory engine (memengine_test.go; runs under -race): each
// test is one way a viewer could hurt others or the server, and what stops it. Those that
// need the actors: e2e_node_test.go.

package transport_test

import (
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/liveroom/liveroom/transport"
)

// A viewer that stops reading fills its socket: the server closes it as unresponsive within
// SlowKick of the socket filling, whatever mode it joined with, and a reading viewer of the
// same room keeps getting every window meanwhile.
func TestViewerThatStopsReadingIsClosed(t *testing.T) {
	for _, push := range []bool{true, false} {
		t.Run(fmt.Sprint("push=", push), func(t *testing.T) {
			s := startFake(t, func(c *transport.Config) {
				c.SlowKick = 500 * time.Millisecond
				c.PingInterval = time.Minute
				c.MaxBody = 64 << 10
				c.SendBuffer = 4096
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
			if n := s.metrics.Kicks.WithLabelValues("unresponsive"); testutilValue(n) < 1 {
				t.Fatal("the close was not counted as an unresponsive kick")
			}
		})
	}
}

// WebSocket sessions leave the per-address HTTP connection count once upgraded: an address
// holds more sessions than its HTTP connection cap, and HTTP requests still get through.
func TestSessionsDoNotCountAsHTTPConnections(t *testing.T) {
	s := startFake(t, func(c *transport.Config) { c.HTTPConnsPerIP = 3 })
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
