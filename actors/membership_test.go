//go:build !race

// Starts a cluster member in-process (static seeds): built without -race like node_test.go.

package actors

import (
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/liveroom/liveroom/internal/testwait"
)

// The automanaged provider's health endpoint (actor port + 1) listens on the actor system's
// bind host only: a node bound to loopback is not reachable on the machine's other addresses.
func TestSeedsHealthEndpointListensOnBindHost(t *testing.T) {
	other := nonLoopbackAddr(t)
	port := freePortPair(t)
	testNode(t, func(c *Config) {
		c.BindHost, c.BindPort = "127.0.0.1", port
		c.Seeds = []string{net.JoinHostPort("127.0.0.1", strconv.Itoa(port))} // itself
	})
	health := strconv.Itoa(port + 1)
	client := &http.Client{Timeout: time.Second}
	testwait.For(t, 10*time.Second, "the health endpoint on 127.0.0.1", func() bool {
		resp, err := client.Get("http://" + net.JoinHostPort("127.0.0.1", health) + "/_health")
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	if c, err := net.DialTimeout("tcp", net.JoinHostPort(other, health), time.Second); err == nil {
		_ = c.Close()
		t.Fatalf("the health endpoint answers on %s:%s; want it on 127.0.0.1 only", other, health)
	}
}

// nonLoopbackAddr returns an IPv4 address of this machine that is not loopback, or skips.
func nonLoopbackAddr(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Skipf("interface addresses: %v", err)
	}
	for _, a := range addrs {
		if ip, ok := a.(*net.IPNet); ok && ip.IP.To4() != nil && ip.IP.IsGlobalUnicast() {
			return ip.IP.String()
		}
	}
	t.Skip("no non-loopback IPv4 address on this machine")
	return ""
}

// freePortPair returns a port p such that p and p+1 were both free on every address a moment
// ago (the automanaged provider takes the actor port + 1).
func freePortPair(t *testing.T) int {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", ":0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l2, err := net.Listen("tcp", ":"+strconv.Itoa(p+1))
		_ = l.Close()
		if err == nil {
			_ = l2.Close()
			return p
		}
	}
	t.Fatal("no two consecutive free ports")
	return 0
}
