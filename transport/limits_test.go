package transport

import (
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Requests without a key are limited per client address, a viewer's per uid, long-polls in
// number per address and per uid; the backend's requests (with a key) are limited by none.
func TestHTTPRequestLimits(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.HTTPRatePerIP, c.HTTPRatePerUID, c.LongPollsPerUID, c.LongPollsPerIP = 10, 3, 2, 3
	})
	h.eng.window = testWindow()
	u1, _ := h.auth.IssueToken("u1", time.Hour, nil)
	u2, _ := h.auth.IssueToken("u2", time.Hour, nil)
	// A viewer's pulls: its burst (twice the rate, 6), then 429.
	var ok, limited int
	for range 10 {
		switch r := h.do("GET", "/v1/rooms/r1/messages?token="+u1, "", ""); r.status {
		case 200:
			ok++
		case 429:
			h.expect(r, 429, "rate_limited")
			limited++
		default:
			t.Fatalf("status %d: %s", r.status, r.body)
		}
	}
	if ok != 6 || limited != 4 {
		t.Fatalf("a viewer's 10 pulls at once: %d answered, %d limited; want 6 and 4", ok, limited)
	}
	// The address's budget (burst 20) is spent by u1's and u2's requests together.
	for range 20 {
		h.do("GET", "/v1/route?uid=x", "", "")
	}
	h.expect(h.do("GET", "/v1/rooms/r1/messages?token="+u2, "", ""), 429, "rate_limited")
	// The backend is not limited.
	for i := range 50 {
		if r := h.do("GET", "/v1/rooms/r1/messages", "api", ""); r.status != 200 {
			t.Fatalf("backend pull %d: %d %s", i, r.status, r.body)
		}
	}
	if n := testutil.ToFloat64(h.metrics.ConnRejected.WithLabelValues("http_uid_rate")); n != 4 {
		t.Fatalf("%v refusals counted for the uid, want 4", n)
	}
}

func TestLongPollCaps(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.LongPollsPerUID, c.LongPollsPerIP = 2, 3 })
	h.eng.newMsg = make(chan struct{})
	h.eng.window = testWindow()
	u1, _ := h.auth.IssueToken("u1", time.Hour, nil)
	u2, _ := h.auth.IssueToken("u2", time.Hour, nil)
	got := make(chan resp, 8)
	poll := func(tok string) { got <- h.do("GET", "/v1/rooms/r1/messages?since=99&wait=30&token="+tok, "", "") }
	go poll(u1)
	go poll(u1)
	waitFor(t, "two long-polls of u1", func() bool { return h.eng.waiting.Load() == 2 })
	h.expect(h.do("GET", "/v1/rooms/r1/messages?since=99&wait=30&token="+u1, "", ""), 429, "rate_limited")
	go poll(u2)
	waitFor(t, "the address's third", func() bool { return h.eng.waiting.Load() == 3 })
	h.expect(h.do("GET", "/v1/rooms/r1/messages?since=99&wait=30&token="+u2, "", ""), 429, "rate_limited")
	close(h.eng.newMsg)
	for range 3 {
		if r := <-got; r.status != 200 {
			t.Fatalf("a held long-poll: %d %s", r.status, r.body)
		}
	}
	// The places are given back.
	h.eng.set(func(f *fakeEngine) { f.newMsg = nil })
	if r := h.do("GET", "/v1/rooms/r1/messages?since=99&wait=0.01&token="+u1, "", ""); r.status != 200 {
		t.Fatalf("after the others ended: %d %s", r.status, r.body)
	}
}

// An address holds a bounded number of HTTP connections: one more is closed at once.
func TestHTTPConnsPerIP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &limitListener{Listener: ln, conns: newCounts(2)}
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	defer l.Close()
	var held []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		held = append(held, c)
	}
	a1, a2 := <-accepted, <-accepted
	// The third was closed by the listener: the client reads EOF.
	_ = held[2].SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := held[2].Read(make([]byte, 1)); err == nil {
		t.Fatal("the third connection from one address was not closed")
	}
	// A released connection (a WebSocket) and a closed one free their places.
	a1.(*limitedConn).release()
	_ = a2.Close()
	for range 2 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		select {
		case <-accepted:
		case <-time.After(2 * time.Second):
			t.Fatal("a connection was refused after places were freed")
		}
	}
}
