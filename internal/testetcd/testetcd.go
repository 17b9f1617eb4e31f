// Package testetcd starts a throwaway one-member etcd for tests.
package testetcd

import (
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"testing"
	"time"

	"github.com/liveroom/liveroom/internal/testproc"
)

// Server is an etcd of a test on its own loopback ports and data directory (kept across
// restarts).
type Server struct {
	Endpoint string // host:port for clients
	*testproc.Proc
	clientURL string
}

// Start runs etcd on free loopback ports until the test ends and returns its client endpoint
// (host:port). The test is skipped when etcd is not installed (.ci/run installs Debian's
// etcd-server).
func Start(t testing.TB) string { return StartServer(t).Endpoint }

// StartServer is Start, with the process to fault (kill and restart).
func StartServer(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("etcd")
	if err != nil {
		t.Skip("etcd not installed (.ci/run installs etcd-server)")
	}
	client, peer := freePort(t), freePort(t)
	clientURL := fmt.Sprintf("http://127.0.0.1:%d", client)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peer)
	s := &Server{Endpoint: fmt.Sprintf("127.0.0.1:%d", client), clientURL: clientURL}
	s.Proc = testproc.Start(t, "etcd", bin, "--name", "test", "--data-dir", t.TempDir(),
		"--listen-client-urls", clientURL, "--advertise-client-urls", clientURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "test="+peerURL, "--log-level", "error")
	s.AwaitHealthy(t)
	return s
}

// healthClient has a transport of its own: packages whose TestMain checks every reply
// http.DefaultTransport carries against liveroom's API document (apicheck.Main) must not see
// etcd's.
var healthClient = &http.Client{Transport: &http.Transport{}, Timeout: 5 * time.Second}

// AwaitHealthy waits until etcd reports itself healthy (after a start or restart).
func (s *Server) AwaitHealthy(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if r, err := healthClient.Get(s.clientURL + "/health"); err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("etcd did not become healthy")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
