// Package testredis starts a throwaway redis-server for tests.
package testredis

import (
	"fmt"
	"net"
	"os/exec"
	"testing"
	"time"

	"github.com/liveroom/liveroom/internal/testproc"
)

// Server is a redis-server of a test, on its own loopback port (kept across restarts), without
// persistence: a restart empties it.
type Server struct {
	URL  string
	Port int
	*testproc.Proc
}

// Start runs redis-server on a free loopback port until the test ends and returns its URL.
// The test is skipped when redis-server is not installed (.ci/run installs it).
func Start(t testing.TB) string { return StartServer(t).URL }

// StartServer is Start, with the process to fault (SIGSTOP, kill, restart).
func StartServer(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed (.ci/run installs it)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s := &Server{URL: fmt.Sprintf("redis://127.0.0.1:%d/0", port), Port: port}
	s.Proc = testproc.Start(t, "redis-server", bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--dir", t.TempDir())
	s.AwaitUp(t)
	return s
}

// AwaitUp waits until the server accepts connections (after a start or restart).
func (s *Server) AwaitUp(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", s.Port)); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("redis-server did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
