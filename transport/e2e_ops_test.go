//go:build !race

package transport_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/liveroom/liveroom/transport"
)

// selfSigned makes a certificate for 127.0.0.1 and the pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "liveroom test"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// wrap reads frames of an open connection like dial's clients.
func wrap(t *testing.T, conn *websocket.Conn) *wsClient {
	c := &wsClient{conn: conn, frames: make(chan map[string]any, 4096), closed: make(chan struct{})}
	go c.read()
	t.Cleanup(func() { _ = conn.Close() })
	return c
}

// receives joins room, has the backend post one message through post, and reads it back
// through notify and pull.
func receives(t *testing.T, c *wsClient, room string, post func(body string) int) {
	t.Helper()
	c.next(t, "hello", 5*time.Second)
	j := c.call(t, map[string]any{"op": "join", "room": room})
	if j["op"] != "joined" {
		t.Fatalf("joined = %v", j)
	}
	if code := post(`{"uid":"bob","kind":"chat","body":{"t":"over the wire"}}`); code != 200 {
		t.Fatalf("post: %d", code)
	}
	c.next(t, "notify", 5*time.Second)
	m := c.call(t, map[string]any{"op": "pull", "room": room, "since": num(j["ts"])})
	msgs, _ := m["msgs"].([]any)
	if len(msgs) != 1 || msgs[0].(map[string]any)["body"].(map[string]any)["t"] != "over the wire" {
		t.Fatalf("msgs = %v", m)
	}
}

// With TLS the API is HTTPS, sessions are wss:// (read through websocket.Conn: the socket
// carries TLS records) and /v1/route answers wss://.
func TestTLSServesHTTPSAndWSS(t *testing.T) {
	cert, pool := selfSigned(t)
	s := startServer(t, func(c *transport.Config) {
		c.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}, nil)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}
	do := func(method, path, key, body string) (int, []byte) {
		req, _ := http.NewRequest(method, "https://"+s.addr+path, strings.NewReader(body))
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	code, body := do("GET", "/v1/route?uid=alice", "", "")
	var route struct{ WS string }
	if err := json.Unmarshal(body, &route); err != nil || code != 200 || route.WS != "wss://"+s.addr+"/v1/ws" {
		t.Fatalf("route: %d %s", code, body)
	}
	d := websocket.Dialer{TLSClientConfig: &tls.Config{RootCAs: pool}, HandshakeTimeout: 5 * time.Second}
	conn, _, err := d.Dial(route.WS+"?uid=alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	receives(t, wrap(t, conn), "tls-room", func(b string) int {
		code, _ := do("POST", "/v1/rooms/tls-room/messages", apiKey, b)
		return code
	})
	// Plain HTTP on the TLS port is not served.
	if resp, err := http.Get("http://" + s.addr + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatal("plain HTTP answered 200 on the TLS listener")
		}
	}
}

// A session behind a PROXY protocol balancer: the v2 header, then the handshake, on one
// connection; the session reads its frames from the socket below the header reader.
func TestProxyProtocolSession(t *testing.T) {
	s := startServer(t, func(c *transport.Config) { c.ProxyProtocol = true }, nil)
	header := []byte("\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c")
	header = append(header, 203, 0, 113, 9, 127, 0, 0, 1)
	header = binary.BigEndian.AppendUint16(header, 4711)
	header = binary.BigEndian.AppendUint16(header, 8080)
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second, NetDial: func(network, addr string) (net.Conn, error) {
		c, err := net.Dial(network, addr)
		if err == nil {
			_, err = c.Write(header)
		}
		return c, err
	}}
	conn, _, err := d.Dial("ws://"+s.addr+"/v1/ws?uid=alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	receives(t, wrap(t, conn), "pp-room", func(b string) int {
		c, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "%sPOST /v1/rooms/pp-room/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", proxyV1("203.0.113.10"), apiKey, len(b), b)
		resp, err := io.ReadAll(c)
		if err != nil || !strings.HasPrefix(string(resp), "HTTP/1.1 ") {
			t.Fatalf("post: %q %v", resp, err)
		}
		var code int
		fmt.Sscanf(string(resp), "HTTP/1.1 %d", &code)
		return code
	})
}

func proxyV1(src string) string { return "PROXY TCP4 " + src + " 127.0.0.1 4711 8080\r\n" }
