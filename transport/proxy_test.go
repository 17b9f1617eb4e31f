package transport

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newOpsServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	cfg.JWTSecret, cfg.APIKey, cfg.AdminKey = tSecret, tAPI, tAdmin
	s, err := New(cfg, &fakeEngine{}, nil, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// request runs one request through the router; remote is the connection's peer.
func request(s *Server, method, uri, remote string, header ...string) *fasthttp.RequestCtx {
	var req fasthttp.Request
	req.Header.SetMethod(method)
	req.SetRequestURI(uri)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	ctx := &fasthttp.RequestCtx{}
	addr, _ := net.ResolveTCPAddr("tcp", remote)
	ctx.Init(&req, addr, nil)
	s.Handler()(ctx)
	return ctx
}

func TestClientIPFromForwardedFor(t *testing.T) {
	s := newOpsServer(t, Config{TrustedProxies: []string{"10.0.0.0/8", "192.0.2.9", "2001:db8::/32"}})
	f := func(peer, want string, xff ...string) {
		t.Helper()
		var req fasthttp.Request
		for _, v := range xff {
			req.Header.Add("X-Forwarded-For", v)
		}
		ctx := &fasthttp.RequestCtx{}
		addr, _ := net.ResolveTCPAddr("tcp", peer)
		ctx.Init(&req, addr, nil)
		if got := s.clientIP(ctx); got != want {
			t.Errorf("peer %s, XFF %q: %s, want %s", peer, xff, got, want)
		}
	}
	// An untrusted peer's header is not read.
	f("198.51.100.1:1", "198.51.100.1", "203.0.113.5")
	// A trusted peer: the right-most untrusted address.
	f("10.0.0.1:1", "203.0.113.5", "203.0.113.5")
	f("10.0.0.1:1", "203.0.113.5", "1.1.1.1, 203.0.113.5")           // the client's own claim on the left is ignored
	f("10.0.0.1:1", "203.0.113.5", "1.1.1.1, 203.0.113.5, 10.2.3.4") // through two trusted hops
	f("10.0.0.1:1", "203.0.113.5", "1.1.1.1", "203.0.113.5,192.0.2.9")
	f("10.0.0.1:1", "203.0.113.5", "203.0.113.5:4711")
	f("10.0.0.1:1", "2001:db9::1", "[2001:db9::1]:4711")
	f("[2001:db8::1]:1", "203.0.113.5", "203.0.113.5")
	f("10.0.0.1:1", "10.0.0.7", "10.0.0.7, 10.0.0.8") // all trusted: the left-most
	f("10.0.0.1:1", "10.0.0.1")                       // no header: the peer
	f("10.0.0.1:1", "10.0.0.1", "not-an-ip")          // garbage where the client should be: the proxy
	f("10.0.0.1:1", "10.0.0.1", " , ")
	// No trusted list: the peer, whatever the header.
	s = newOpsServer(t, Config{})
	f("10.0.0.1:1", "10.0.0.1", "203.0.113.5")
	if _, err := New(Config{JWTSecret: tSecret, APIKey: tAPI, AdminKey: tAdmin, TrustedProxies: []string{"10.0.0.0/33"}}, &fakeEngine{}, nil, quietLog()); err == nil {
		t.Error("a bad CIDR was accepted")
	}
}

// 25 upgrades through one proxy with 25 client addresses: behind a trusted proxy none is
// refused by the per-IP limit (20 per window); from an untrusted peer the header is not
// believed and the one address is over its limit. The refusals answer 429, the rest 401 (no
// token): the limit is checked first.
func TestForwardedForFeedsConnectionLimits(t *testing.T) {
	f := func(trusted []string, want429 int) {
		t.Helper()
		s := newOpsServer(t, Config{TrustedProxies: trusted, ConnPerIP: 20})
		got := 0
		for i := range 25 {
			ctx := request(s, "GET", "/v1/ws", "10.0.0.1:4000", "X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i+1))
			switch ctx.Response.StatusCode() {
			case 429:
				got++
			case 401:
			default:
				t.Fatalf("status %d", ctx.Response.StatusCode())
			}
		}
		if got != want429 {
			t.Errorf("trusted %v: %d refused, want %d", trusted, got, want429)
		}
	}
	f([]string{"10.0.0.0/8"}, 0)
	f(nil, 5)
	f([]string{"192.168.0.0/16"}, 5)
}

// The HTTP request rate per IP counts the X-Forwarded-For client behind a trusted proxy.
func TestForwardedForFeedsRequestRate(t *testing.T) {
	s := newOpsServer(t, Config{TrustedProxies: []string{"10.0.0.0/8"}, HTTPRatePerIP: 1})
	status := func(client string) int {
		return request(s, "GET", "/v1/route?uid=u1", "10.0.0.1:4000", "X-Forwarded-For", client).Response.StatusCode()
	}
	for range 2 { // the burst is twice the rate
		if st := status("203.0.113.1"); st != 200 {
			t.Fatalf("within the burst: %d", st)
		}
	}
	if st := status("203.0.113.1"); st != 429 {
		t.Fatalf("over the burst: %d", st)
	}
	if st := status("203.0.113.2"); st != 200 {
		t.Fatalf("another client behind the same proxy: %d", st)
	}
}

// serveTCP serves s on a loopback port; it is shut down at the end of the test.
func serveTCP(t *testing.T, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = s.Serve(ln); close(done) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
		<-done
	})
	return ln.Addr().String()
}

// proxyV1 and proxyV2 are the headers a balancer writes for a TCP4 client src:sport.
func proxyV1(src string, sport int) []byte {
	return fmt.Appendf(nil, "PROXY TCP4 %s 127.0.0.1 %d 8080\r\n", src, sport)
}

func proxyV2(src string, sport int) []byte {
	b := []byte("\r\n\r\n\x00\r\nQUIT\n")
	b = append(b, 0x21, 0x11) // version 2, PROXY; TCP over IPv4
	b = binary.BigEndian.AppendUint16(b, 12)
	b = append(b, net.ParseIP(src).To4()...)
	b = append(b, 127, 0, 0, 1)
	b = binary.BigEndian.AppendUint16(b, uint16(sport))
	b = binary.BigEndian.AppendUint16(b, 8080)
	return b
}

// exchange opens a connection, writes prefix then one HTTP request, and returns the status
// (0: the connection was closed without an answer).
func exchange(t *testing.T, addr string, prefix []byte, path string) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	req := append(append([]byte{}, prefix...), "GET "+path+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"...)
	if _, err := c.Write(req); err != nil {
		return 0
	}
	var res fasthttp.Response
	if err := res.Read(bufio.NewReader(c)); err != nil {
		return 0
	}
	return res.StatusCode()
}

// With --proxy-protocol the PROXY header (v1 and v2) names the client of the per-IP limits:
// one client behind the balancer is over its request rate while another is not. A connection
// without the header, or with a broken one, is closed unanswered.
func TestProxyProtocolNamesTheClient(t *testing.T) {
	s := newOpsServer(t, Config{ProxyProtocol: true, HTTPRatePerIP: 1})
	addr := serveTCP(t, s)
	for _, hdr := range []func(string, int) []byte{proxyV1, proxyV2} {
		for i := range 2 {
			if st := exchange(t, addr, hdr("203.0.113.1", 1000+i), "/v1/route?uid=u1"); st != 200 {
				t.Fatalf("within the burst: %d", st)
			}
		}
		if st := exchange(t, addr, hdr("203.0.113.1", 2000), "/v1/route?uid=u1"); st != 429 {
			t.Fatalf("203.0.113.1 over the burst: %d", st)
		}
		if st := exchange(t, addr, hdr("203.0.113.2", 2001), "/v1/route?uid=u1"); st != 200 {
			t.Fatalf("203.0.113.2: %d", st)
		}
		s.ipRate = newRateLimits(1, 2) // the next header version starts afresh
	}
	if st := exchange(t, addr, nil, "/healthz"); st != 0 {
		t.Errorf("no PROXY header: answered %d", st)
	}
	if st := exchange(t, addr, []byte("PROXY TCP4 nonsense\r\n"), "/healthz"); st != 0 {
		t.Errorf("a broken PROXY header: answered %d", st)
	}
	if st := exchange(t, addr, proxyV2("203.0.113.3", 1), "/healthz"); st != 200 {
		t.Errorf("the server still serves after bad headers: %d", st)
	}

	// Peers that are not trusted proxies are refused at accept.
	s = newOpsServer(t, Config{ProxyProtocol: true, TrustedProxies: []string{"10.0.0.0/8"}})
	if st := exchange(t, serveTCP(t, s), proxyV1("203.0.113.1", 1), "/healthz"); st != 0 {
		t.Errorf("PROXY header from an untrusted peer: answered %d", st)
	}
}
