package transport_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

// nodeWithWebSocket returns the command line that runs Node with a WebSocket client (global in
// Node 22, behind --experimental-websocket in Node 20), or skips the test.
func nodeWithWebSocket(t *testing.T) []string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("needs node")
	}
	probe := `process.exit(typeof WebSocket === "function" ? 0 : 1)`
	for _, args := range [][]string{{node}, {node, "--experimental-websocket"}} {
		if exec.Command(args[0], append(args[1:], "-e", probe)...).Run() == nil {
			return args
		}
	}
	t.Skip("node has no WebSocket client")
	return nil
}

// jsClientSeen is what one JS client saw (testdata/jsclient.mjs).
type jsClientSeen struct {
	Opens    int      `json:"opens"`
	Closes   [][]any  `json:"closes"`
	Kicks    [][]any  `json:"kicks"`
	Stopped  *string  `json:"stopped"`
	Authed   int      `json:"authed"`
	Messages int      `json:"messages"`
	Gaps     []int    `json:"gaps"`    // ms from a close to the next connect
	Likes    *int64   `json:"likes"`   // the last likes total of a "counters" event
	Online   *int64   `json:"online"`  // and its online
	Refused  []string `json:"refused"` // codes of the refused adds
	Stats    struct {
		Messages int `json:"messages"`
		Dropped  int `json:"dropped"`
		Gaps     int `json:"gaps"`
		Notifies int `json:"notifies"`
		Pulls    int `json:"pulls"`
		Taps     int `json:"taps"` // deltas given to add
		Adds     int `json:"adds"` // add frames sent
	} `json:"stats"`
	// With "record": every message, "pinned" event (the pins' ts), "online" and "gap" event.
	Msgs    []jsMessage `json:"msgs"`
	Pins    [][]int64   `json:"pins"`
	Onlines []int64     `json:"onlines"`
	SeqGaps []int64     `json:"seqGaps"`
}

// jsMessage is a message as a recording JS client got it.
type jsMessage struct {
	TS       int64          `json:"ts"`
	Seq      int64          `json:"seq"`
	Kind     string         `json:"kind"`
	Pri      string         `json:"pri"`
	UID      string         `json:"uid"`
	Cmid     string         `json:"cmid"`
	Name     string         `json:"name"`
	Meta     map[string]any `json:"meta"`
	PinUntil int64          `json:"pin_until"`
	Body     map[string]any `json:"body"`
}

// jsLive is what the script's pinLive step did: the ts of the notices it pinned and the one
// it unpinned.
type jsLive struct {
	Posted   []int64 `json:"posted"`
	Unpinned int64   `json:"unpinned"`
}

// runJSClients runs testdata/jsclient.mjs with cfg against the JS client as served
// (web/liveroom.js) and returns what each group's clients saw.
func runJSClients(t *testing.T, cfg any) map[string][]jsClientSeen {
	t.Helper()
	seen, _ := runJSClientsLive(t, cfg)
	return seen
}

// runJSClientsLive is runJSClients that also returns what the script's pinLive step did.
func runJSClientsLive(t *testing.T, cfg any) (map[string][]jsClientSeen, jsLive) {
	t.Helper()
	node := nodeWithWebSocket(t)
	dir := t.TempDir()
	for src, dst := range map[string]string{"web/liveroom.js": "liveroom.mjs", "testdata/jsclient.mjs": "jsclient.mjs"} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, dst), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	arg, _ := json.Marshal(cfg)
	cmd := exec.Command(node[0], append(node[1:], filepath.Join(dir, "jsclient.mjs"), string(arg))...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	var res struct {
		Groups map[string][]jsClientSeen `json:"groups"`
		Live   jsLive                    `json:"live"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("node printed %q: %v", out, err)
	}
	return res.Groups, res.Live
}

// closingServer is a fake liveroom node: each connection to /<case> gets the hello, then the
// case's frames, then the case's close. It counts the connections per case.
type closingServer struct {
	*httptest.Server
	mu    sync.Mutex
	conns map[string]int
}

type closeCase struct {
	frames []string
	code   int // 0: drop the TCP connection without a close frame
	reason string
}

func newClosingServer(t *testing.T, cases map[string]closeCase) *closingServer {
	cs := &closingServer{conns: map[string]int{}}
	up := websocket.Upgrader{}
	cs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/")
		c, ok := cases[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		cs.mu.Lock()
		cs.conns[name]++
		cs.mu.Unlock()
		hello := `{"op":"hello","uid":"u","node":"fake","server_ts":1,"limits":{"max_body":4096,"max_rooms":8,"pull_limit":200}}`
		for _, f := range append([]string{hello}, c.frames...) {
			_ = conn.WriteMessage(websocket.TextMessage, []byte(f))
		}
		time.Sleep(50 * time.Millisecond)
		if c.code != 0 {
			_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(c.code, c.reason), time.Now().Add(time.Second))
			time.Sleep(100 * time.Millisecond) // let the client answer the close
		}
	}))
	t.Cleanup(cs.Close)
	return cs
}

func (cs *closingServer) count(name string) int {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.conns[name]
}

// The JS client gives up for good (no reconnect, a "stopped" event) after a whole-session kick
// or close that a reconnect cannot fix, and reconnects after the others. The probe: six browser
// tabs of one uid took turns for 40 s (22 closes), each reconnect kicking the next oldest.
func TestJSClientStopsAfterReplaced(t *testing.T) {
	s := startFake(t, nil) // per-uid session cap 5
	cases := map[string]closeCase{
		"kick-replaced":      {frames: []string{`{"op":"kick","reason":"replaced"}`}, code: 4029, reason: "replaced"},
		"close-replaced":     {code: 4029, reason: "replaced"},
		"kick-replaced-1006": {frames: []string{`{"op":"kick","reason":"replaced"}`}},
		"kick-banned":        {frames: []string{`{"op":"kick","reason":"banned"}`}, code: 4003, reason: "banned"},
		"close-4003":         {code: 4003},
		"close-4001":         {code: 4001, reason: "unauthorized"},
		"shutdown":           {frames: []string{`{"op":"kick","reason":"shutdown"}`}, code: 1001, reason: "shutdown"},
		"unresponsive":       {frames: []string{`{"op":"kick","reason":"unresponsive"}`}, code: 4008, reason: "unresponsive"},
		"room-kick":          {frames: []string{`{"op":"kick","room":"r","reason":"kicked"}`}, code: 1000},
		"rate-4029":          {code: 4029},
	}
	fake := newClosingServer(t, cases)
	fakeWS := "ws" + strings.TrimPrefix(fake.URL, "http") + "/"
	groups := []map[string]any{{"name": "six-tabs", "url": "ws://" + s.addr + "/v1/ws", "uid": "tabs", "clients": 6, "room": "tabs"}}
	for name := range cases {
		groups = append(groups, map[string]any{"name": name, "url": fakeWS + name, "uid": "u", "clients": 1})
	}
	seen := runJSClients(t, map[string]any{"groups": groups, "staggerMs": 150, "waitMs": 3000})

	// Six tabs, cap five: one (the oldest on the server: usually the first started, but a slow
	// handshake under load can reorder them) is replaced once and stops; the other five stay
	// open for the whole wait, untouched.
	tabs := seen["six-tabs"]
	closes, stopped := 0, 0
	replaced := "replaced"
	for i, c := range tabs {
		closes += len(c.Closes)
		if c.Stopped != nil {
			stopped++
		}
		if c.Opens != 1 || (c.Stopped != nil && !sameStr(c.Stopped, &replaced)) {
			t.Errorf("tab %d: %d opens, stopped %v, closes %v", i, c.Opens, str(c.Stopped), c.Closes)
		}
	}
	if closes != 1 || stopped != 1 {
		t.Errorf("six tabs of one uid: %d closes and %d stopped, want 1 (the one replaced): %+v", closes, stopped, tabs)
	}

	stops := map[string]string{"kick-replaced": "replaced", "close-replaced": "replaced", "kick-replaced-1006": "replaced",
		"kick-banned": "banned", "close-4003": "banned", "close-4001": "unauthorized"}
	for name := range cases {
		c := seen[name][0]
		if want, ok := stops[name]; ok {
			if !sameStr(c.Stopped, &want) || fake.count(name) != 1 {
				t.Errorf("%s: stopped %v after %d connections, want %s after 1", name, str(c.Stopped), fake.count(name), want)
			}
			continue
		}
		if c.Stopped != nil {
			t.Errorf("%s: stopped %v, want a reconnect", name, *c.Stopped)
		}
		if name != "rate-4029" && fake.count(name) < 2 { // a rate limit waits maxBackoffMs first
			t.Errorf("%s: %d connections, want a reconnect", name, fake.count(name))
		}
	}
}

func sameStr(a, b *string) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func str(p *string) string {
	if p == nil {
		return "null"
	}
	return *p
}
