package transport

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

// rawExchange writes req on a fresh in-memory connection to a served Server and reads one
// response.
func rawExchange(t *testing.T, ln *fasthttputil.InmemoryListener, req string) *fasthttp.Response {
	t.Helper()
	c, err := ln.Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	go func() { _, _ = io.WriteString(c, req) }()
	var res fasthttp.Response
	if err := res.Read(bufio.NewReader(c)); err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	return &res
}

// TestServerRequestErrors: requests fasthttp cannot take get the API's error format.
func TestServerRequestErrors(t *testing.T) {
	s, err := New(Config{JWTSecret: tSecret, APIKey: tAPI, AdminKey: tAdmin}, &fakeEngine{}, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if s.Addr() != ":8080" {
		t.Errorf("Addr before Serve: %q", s.Addr())
	}
	ln := fasthttputil.NewInmemoryListener()
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	waitFor(t, "Serve to start", func() bool { return s.Addr() != ":8080" })
	if s.Addr() != ln.Addr().String() {
		t.Errorf("Addr %q, listener %q", s.Addr(), ln.Addr())
	}

	f := func(req string, status int, code string) {
		t.Helper()
		res := rawExchange(t, ln, req)
		body := string(res.Body())
		if res.StatusCode() != status || !strings.Contains(body, `"code":"`+code+`"`) || !strings.HasPrefix(body, `{"error":`) {
			t.Errorf("%.40q: %d %s, want %d %s", req, res.StatusCode(), body, status, code)
		}
		if string(res.Header.ContentType()) != "application/json" {
			t.Errorf("content type %q", res.Header.ContentType())
		}
		if server := string(res.Header.Peek("Server")); server != "liveroom" {
			t.Errorf("Server header %q", server)
		}
	}
	big := strings.Repeat("x", 65<<10)
	f("POST /v1/rooms/r1/messages HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer "+tAPI+"\r\nContent-Length: "+strconv.Itoa(len(big))+"\r\n\r\n"+big, 413, "too_large")
	f("GET /v1/rooms/r1/messages?token="+strings.Repeat("t", 9000)+" HTTP/1.1\r\nHost: a\r\n\r\n", 431, "bad_request")
	f("GET /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: nope\r\n\r\n", 400, "bad_request")
	// A body just under the request limit reaches the handler (and is then over max_body).
	body := `{"kind":"k","body":"` + strings.Repeat("x", 60<<10) + `"}`
	f("POST /v1/rooms/r1/messages HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer "+tAPI+"\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body, 413, "too_large")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve after Shutdown: %v", err)
	}
	if _, err := ln.Dial(); err == nil {
		t.Error("listener still open after Shutdown")
	}
}

// TestServerServeRealTCP: the server works on a real loopback listener.
func TestServerServeRealTCP(t *testing.T) {
	s, err := New(Config{JWTSecret: tSecret, APIKey: tAPI, AdminKey: tAdmin}, &fakeEngine{}, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(ln) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	}()
	status, body, err := fasthttp.Get(nil, "http://"+ln.Addr().String()+"/v1/route?uid=u1")
	if err != nil || status != 200 || string(body) != `{"node":"`+s.Config().Node+`","ws":"ws://`+ln.Addr().String()+`/v1/ws"}` {
		t.Errorf("route: %d %s %v", status, body, err)
	}
}

// TestRouteIgnoresHostHeader: without --advertise, /v1/route answers the server's own address,
// whatever Host the request names (the probe got "ws://evil.example/v1/ws" back). On a listener
// of every interface the host is the local address the client reached.
func TestRouteIgnoresHostHeader(t *testing.T) {
	f := func(listen, advertise string, want func(port string) string) {
		t.Helper()
		s, err := New(Config{JWTSecret: tSecret, APIKey: tAPI, AdminKey: tAdmin, Node: "n1", Advertise: advertise}, &fakeEngine{}, nil,
			slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", listen)
		if err != nil {
			t.Skip(err)
		}
		go func() { _ = s.Serve(ln) }()
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = s.Shutdown(ctx)
		}()
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		for _, host := range []string{"evil.example", "evil.example:443", "[::1]:1", "127.0.0.1:" + port} {
			c, err := net.Dial("tcp", "127.0.0.1:"+port)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(c, "GET /v1/route?uid=u1 HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", host)
			b, _ := io.ReadAll(c)
			c.Close()
			body := string(b[bytes.Index(b, []byte("\r\n\r\n"))+4:])
			if w := `{"node":"n1","ws":"` + want(port) + `"}`; body != w {
				t.Errorf("listen %s, Host %q: %s, want %s", listen, host, body, w)
			}
		}
	}
	f("127.0.0.1:0", "", func(port string) string { return "ws://127.0.0.1:" + port + "/v1/ws" })
	f("0.0.0.0:0", "", func(port string) string { return "ws://127.0.0.1:" + port + "/v1/ws" })
	f("127.0.0.1:0", "wss://chat.example.com/v1/ws", func(string) string { return "wss://chat.example.com/v1/ws" })
}
