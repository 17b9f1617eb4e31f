package transport_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/liveroom/liveroom/actors"
	"github.com/liveroom/liveroom/metrics"
	"github.com/liveroom/liveroom/transport"
)

const (
	apiKey   = "test-api-key"
	adminKey = "test-admin-key"
	secret   = "test-secret"
)

// testServer is a server on a loopback port over an engine: the in-memory one (startFake:
// the session tests, which run under -race) or a real node (startServer, e2e_node_test.go).
type testServer struct {
	srv     *transport.Server
	node    *actors.Node // nil over the in-memory engine
	mem     *memEngine   // nil over a node
	metrics *metrics.Metrics
	addr    string
}

// startFake serves a server over a memEngine whose rounds run every 10 ms.
func startFake(t testing.TB, tcfg func(*transport.Config)) *testServer {
	t.Helper()
	eng := newMemEngine(10 * time.Millisecond)
	s := serve(t, tcfg, eng, metrics.New())
	s.mem = eng
	t.Cleanup(eng.close) // after the server's shutdown (cleanups run last first)
	return s
}

// serve starts a server over eng on a loopback port, shut down when the test ends.
func serve(t testing.TB, tcfg func(*transport.Config), eng transport.Engine, m *metrics.Metrics) *testServer {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := transport.Config{JWTSecret: secret, APIKey: apiKey, AdminKey: adminKey, Dev: true, ConnPerIP: 100000, ConnPerUID: 100000}
	if tcfg != nil {
		tcfg(&cfg)
	}
	srv, err := transport.New(cfg, eng, m, log)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = srv.Serve(ln); close(done) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	})
	return &testServer{srv: srv, metrics: m, addr: ln.Addr().String()}
}

// wsClient is a bare protocol client: frames in, frames out, nothing clever.
type wsClient struct {
	conn   *websocket.Conn
	frames chan map[string]any
	closed chan struct{}
	mu     sync.Mutex
	code   int // close code received
	nextID int64
}

func (s *testServer) dial(t *testing.T, query string) *wsClient {
	t.Helper()
	c, err := s.tryDial(query)
	if err != nil {
		t.Fatalf("dial %s: %v", query, err)
	}
	t.Cleanup(func() { _ = c.conn.Close() })
	return c
}

func (s *testServer) tryDial(query string) (*wsClient, error) {
	conn, resp, err := websocket.DefaultDialer.Dial("ws://"+s.addr+"/v1/ws?"+query, nil)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("%w (HTTP %d)", err, resp.StatusCode)
		}
		return nil, err
	}
	c := &wsClient{conn: conn, frames: make(chan map[string]any, 4096), closed: make(chan struct{})}
	go c.read()
	return c, nil
}

func (c *wsClient) read() {
	defer close(c.closed)
	for {
		_, data, err := c.conn.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				c.mu.Lock()
				c.code = ce.Code
				c.mu.Unlock()
			}
			return
		}
		var f map[string]any
		if err := json.Unmarshal(data, &f); err != nil {
			panic(fmt.Sprintf("server sent non-JSON %q", data))
		}
		c.frames <- f
	}
}

func (c *wsClient) send(t *testing.T, f map[string]any) int64 {
	t.Helper()
	c.nextID++
	if id, ok := f["id"].(int); ok {
		c.nextID = int64(id)
	}
	f["id"] = c.nextID
	b, _ := json.Marshal(f)
	if err := c.conn.WriteMessage(websocket.TextMessage, b); err != nil {
		t.Fatalf("write: %v", err)
	}
	return c.nextID
}

// next returns the next frame with the given op ("": any frame; other frames are skipped),
// failing after timeout.
func (c *wsClient) next(t *testing.T, op string, timeout time.Duration) map[string]any {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case f := <-c.frames:
			if f["op"] == op || op == "" {
				return f
			}
		case <-deadline:
			t.Fatalf("no %q frame within %v", op, timeout)
		case <-c.closed:
			for { // frames that arrived before the close come first
				select {
				case f := <-c.frames:
					if f["op"] == op {
						return f
					}
					continue
				default:
				}
				break
			}
			t.Fatalf("closed (code %d) while waiting for %q", c.closeCode(), op)
		}
	}
}

// none asserts that no frame with op arrives within d.
func (c *wsClient) none(t *testing.T, op string, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case f := <-c.frames:
			if f["op"] == op {
				t.Fatalf("unexpected %q frame: %v", op, f)
			}
		case <-deadline:
			return
		case <-c.closed:
			return
		}
	}
}

// call sends a frame and waits for the reply frame echoing its id.
func (c *wsClient) call(t *testing.T, f map[string]any) map[string]any {
	t.Helper()
	id := c.send(t, f)
	deadline := time.After(5 * time.Second)
	for {
		select {
		case r := <-c.frames:
			if n, ok := r["id"].(float64); ok && int64(n) == id {
				return r
			}
		case <-deadline:
			t.Fatalf("no reply to %v", f)
		case <-c.closed:
			t.Fatalf("closed (code %d) while waiting for the reply to %v", c.closeCode(), f)
		}
	}
}

func (c *wsClient) closeCode() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.code
}

func (c *wsClient) waitClosed(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-c.closed:
		return c.closeCode()
	case <-time.After(timeout):
		t.Fatalf("session not closed within %v", timeout)
		return 0
	}
}

// api does an HTTP request with a key and decodes the JSON answer.
func (s *testServer) api(t *testing.T, method, path, key, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+s.addr+path, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	if len(b) > 0 {
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s %s: non-JSON answer %q", method, path, b)
		}
	}
	return resp.StatusCode, out
}

func num(v any) int64 {
	f, _ := v.(float64)
	return int64(f)
}

// testutilValue reads a counter or gauge.
func testutilValue(c prometheus.Collector) float64 { return testutil.ToFloat64(c) }
