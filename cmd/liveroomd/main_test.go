package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/golang-jwt/jwt/v5"

	"github.com/liveroom/liveroom/internal/testredis"
)

// buildBinary builds liveroomd once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "liveroomd")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitHealthy(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("liveroomd did not become healthy")
}

// The binary as the conformance suite starts it: keys from flags (and one from the
// environment), a JWT viewer, and a graceful SIGTERM: kick shutdown, close 1001, exit 0.
func TestBinaryServesAndShutsDownGracefully(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	addr := freeAddr(t)
	cmd := exec.Command(bin, "--addr", addr, "--jwt-secret", "S", "--api-key", "K")
	cmd.Env = append(os.Environ(), "LIVEROOM_ADMIN_KEY=A")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logs := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			select {
			case logs <- sc.Text():
			default:
			}
		}
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	waitHealthy(t, addr)

	tok, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "u1", "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte("S"))
	conn, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/v1/ws?token="+tok, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var hello map[string]any
	if err := conn.ReadJSON(&hello); err != nil || hello["op"] != "hello" || hello["uid"] != "u1" {
		t.Fatalf("hello %v %v", hello, err)
	}
	// The admin key came from LIVEROOM_ADMIN_KEY.
	req, _ := http.NewRequest("POST", "http://"+addr+"/v1/rooms/r/notices", strings.NewReader(`{"body":{"t":"hi"}}`))
	req.Header.Set("Authorization", "Bearer A")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("notice with the env admin key: %v %v", resp, err)
	}
	resp.Body.Close()

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var kick map[string]any
	if err := conn.ReadJSON(&kick); err != nil || kick["op"] != "kick" || kick["reason"] != "shutdown" {
		t.Fatalf("kick %v %v", kick, err)
	}
	_, _, err = conn.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != 1001 {
		t.Fatalf("close: %v, want 1001", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("liveroomd exited with %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("liveroomd did not exit after SIGTERM")
	}
}

func TestBinaryRefusesMissingKeys(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	out, err := exec.Command(bin, "--addr", freeAddr(t)).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 || !strings.Contains(string(out), "required") {
		t.Fatalf("without keys: %v\n%s", err, out)
	}
}

func TestParseFlagsAndEnv(t *testing.T) {
	t.Setenv("LIVEROOM_JWT_SECRET", "from-env")
	o, err := parse([]string{"--addr", "127.0.0.1:9", "--dev"})
	if err != nil {
		t.Fatal(err)
	}
	if o.addr != "127.0.0.1:9" || !o.dev || o.jwtSecret != "from-env" || o.clusterBind != "127.0.0.1:0" {
		t.Fatalf("%+v", o)
	}
	if _, err := parse([]string{"--no-such-flag"}); err == nil {
		t.Error("unknown flag accepted")
	}
	if o.pingInterval != 30*time.Second {
		t.Errorf("--ping-interval defaults to %v", o.pingInterval)
	}
}

// A keepalive shorter than a second is refused before anything starts.
func TestRunRefusesShortPingInterval(t *testing.T) {
	o, err := parse([]string{"--addr", "127.0.0.1:9", "--dev", "--ping-interval", "10ms"})
	if err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), o); err == nil || !strings.Contains(err.Error(), "--ping-interval") {
		t.Fatalf("run with --ping-interval 10ms: %v", err)
	}
}

// startBinary runs liveroomd with args and waits until it is healthy.
func startBinary(t *testing.T, bin, addr string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"--addr", addr, "--jwt-secret", "S", "--api-key", "K", "--admin-key", "A",
		"--log-level", "warn"}, args...)...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	waitHealthy(t, addr)
	return cmd
}

func apiJSON(t *testing.T, method, url, key, body string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%s %s: %d %v", method, url, resp.StatusCode, err)
	}
	return out
}

// With --redis a room survives a restart: same epoch, seq continues, ts keeps increasing,
// the system notice and the moderation are still there.
func TestBinaryRedisRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	url := testredis.Start(t)
	bin := buildBinary(t)
	addr := freeAddr(t)
	base := "http://" + addr
	cmd := startBinary(t, bin, addr, "--redis", url)
	n1 := apiJSON(t, "POST", base+"/v1/rooms/keep/notices", "A", `{"body":{"t":"remember me"}}`)
	apiJSON(t, "POST", base+"/v1/rooms/keep/messages", "K", `{"uid":"u","kind":"chat","body":1}`)
	apiJSON(t, "PUT", base+"/v1/rooms/keep/mutes/m", "K", "")
	before := apiJSON(t, "GET", base+"/v1/rooms/keep", "K", "")
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if _, err := cmd.Process.Wait(); err != nil {
		t.Fatal(err)
	}
	startBinary(t, bin, addr, "--redis", url)
	after := apiJSON(t, "GET", base+"/v1/rooms/keep", "K", "")
	if after["epoch"] != before["epoch"] || after["seq"] != before["seq"] {
		t.Fatalf("after restart %v, before %v", after, before)
	}
	st := apiJSON(t, "POST", base+"/v1/rooms/keep/messages", "K", `{"uid":"u","kind":"chat","body":2}`)
	if st["seq"].(float64) != before["seq"].(float64)+1 || st["ts"].(float64) <= before["ts"].(float64) {
		t.Fatalf("stamp after restart %v (before %v)", st, before)
	}
	w := apiJSON(t, "GET", base+"/v1/rooms/keep/messages?since=0", "K", "")
	msgs, _ := w["msgs"].([]any)
	if len(msgs) == 0 || msgs[0].(map[string]any)["seq"] != n1["seq"] {
		t.Fatalf("the notice did not survive: %v", w)
	}
	req, _ := http.NewRequest("POST", base+"/v1/rooms/keep/messages", strings.NewReader(`{"uid":"m","kind":"chat","body":3}`))
	req.Header.Set("Authorization", "Bearer K")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 403 {
		t.Fatalf("the mute did not survive: %v %v", resp, err)
	}
	resp.Body.Close()
}
