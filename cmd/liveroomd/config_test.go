package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/liveroom/liveroom/transport"
)

// Every registered flag has a row in PROTOCOL.md section 7's table, and every flag the table
// names is registered: the contract and the binary cannot drift apart.
func TestProtocolFlagTableMatchesTheBinary(t *testing.T) {
	doc, err := os.ReadFile("../../docs/PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	section := string(doc)
	start := strings.Index(section, "## 7.")
	end := strings.Index(section, "## 8.")
	if start < 0 || end < start {
		t.Fatal("PROTOCOL.md has no section 7 before section 8")
	}
	section = section[start:end]
	flagName := regexp.MustCompile("`--([a-z0-9-]+)`")
	var table []string
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| `--") {
			continue
		}
		first := strings.Split(line, "|")[1] // the flag column only: meanings name other flags
		for _, m := range flagName.FindAllStringSubmatch(first, -1) {
			table = append(table, m[1])
		}
	}
	var o options
	var registered []string
	flagSet(&o).VisitAll(func(f *flag.Flag) { registered = append(registered, f.Name) })
	for _, name := range registered {
		if !slices.Contains(table, name) {
			t.Errorf("--%s is registered but has no row in PROTOCOL.md section 7", name)
		}
	}
	for _, name := range table {
		if !slices.Contains(registered, name) {
			t.Errorf("PROTOCOL.md section 7 lists --%s, which liveroomd does not register", name)
		}
	}
	if len(table) < 30 {
		t.Errorf("read only %d flags from the table: %v", len(table), table)
	}
}

// A config file sets flags; the environment wins over it and the command line over both.
func TestConfigFileEnvAndFlagPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "liveroomd.conf")
	conf := "# liveroomd settings\naddr 127.0.0.1:7001\nnode from-file\nlog-format json\nconn-per-ip 7 # inline comment\ndev\n"
	if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("LIVEROOM_NODE", "from-env")
	t.Setenv("LIVEROOM_LOG_FORMAT", "text")
	o, err := parse([]string{"--config", file, "--log-format", "json"})
	if err != nil {
		t.Fatal(err)
	}
	f := func(what, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %q, want %q", what, got, want)
		}
	}
	f("addr (file only)", o.addr, "127.0.0.1:7001")
	f("node (file, env)", o.node, "from-env")
	f("log-format (file, env, flag)", o.ops.logFormat, "json")
	if o.connPerIP != 7 || !o.dev {
		t.Errorf("conn-per-ip %d, dev %v: want 7, true from the file", o.connPerIP, o.dev)
	}
	// The file may be named by the environment too.
	t.Setenv("LIVEROOM_CONFIG", file)
	if o, err = parse(nil); err != nil || o.addr != "127.0.0.1:7001" {
		t.Fatalf("LIVEROOM_CONFIG: addr %q, %v", o.addr, err)
	}
	if _, err := parse([]string{"--config", filepath.Join(t.TempDir(), "missing")}); err == nil {
		t.Error("a missing config file was accepted")
	}
	bad := filepath.Join(t.TempDir(), "bad.conf")
	_ = os.WriteFile(bad, []byte("no-such-flag 1\n"), 0o600)
	if _, err := parse([]string{"--config", bad}); err == nil {
		t.Error("a config file with an unknown flag was accepted")
	}
}

func TestLogFormatRefusesUnknown(t *testing.T) {
	if _, err := newLogger(os.Stderr, "xml", 0); err == nil || !strings.Contains(err.Error(), "--log-format") {
		t.Fatalf("xml: %v", err)
	}
}

// buildVersioned builds liveroomd with a version and revision set at link time, as the
// Dockerfile does.
func buildVersioned(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "liveroomd")
	pkg := "github.com/liveroom/liveroom/internal/buildinfo"
	out, err := exec.Command("go", "build", "-ldflags", "-X "+pkg+".version=v1.1.0-test -X "+pkg+".revision=0123abc", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// --version prints one line with the version and the revision and exits 0 without starting
// (no keys needed); --log-format json writes every log line as a JSON object.
func TestBinaryVersionAndJSONLogs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildVersioned(t)
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("--version: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`^liveroomd v1\.1\.0-test \(rev 0123abc\) go1\.\d+`).Match(out) || strings.Count(string(out), "\n") != 1 {
		t.Fatalf("--version printed %q", out)
	}

	addr, admin := freeAddr(t), freeAddr(t)
	cmd := exec.Command(bin, "--addr", addr, "--jwt-secret", "S", "--api-key", "K", "--admin-key", "A", "--log-format", "json",
		"--admin-addr", admin)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	waitHealthy(t, addr)
	status := func(url string) int {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if a, p := status("http://"+admin+"/metrics"), status("http://"+addr+"/metrics"); a != 200 || p != 404 {
		t.Errorf("/metrics: %d on --admin-addr, %d on --addr; want 200, 404", a, p)
	}
	apiJSON(t, "PUT", "http://"+addr+"/v1/rooms/r1/bans/troll", "K", `{"ttl_s":60}`)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	var msgs []string
	var audit map[string]any
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("a log line is not JSON: %q: %v", sc.Text(), err)
		}
		if line["level"] == nil || line["time"] == nil {
			t.Fatalf("a log line without level or time: %q", sc.Text())
		}
		msgs = append(msgs, line["msg"].(string))
		if line["msg"] == "audit" {
			audit = line
		}
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
	if !slices.Contains(msgs, "liveroomd listening") || !slices.Contains(msgs, "stopped") {
		t.Fatalf("log messages %q", msgs)
	}
	if audit["action"] != "ban" || audit["role"] != "server" || audit["room"] != "r1" || audit["target"] != "troll" {
		t.Fatalf("audit line %v", audit)
	}
}

func TestOpsFlagsOntoTransportConfig(t *testing.T) {
	o, err := parse([]string{"--dev", "--trusted-proxies", "10.0.0.0/8, 192.0.2.1", "--proxy-protocol", "--admin-addr", "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	var c transport.Config
	if err := o.ops.apply(&c, o.dev); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.CORSOrigins, []string{"*"}) || !slices.Equal(c.TrustedProxies, []string{"10.0.0.0/8", "192.0.2.1"}) ||
		!c.ProxyProtocol || !c.AdminSeparate || c.TLS != nil {
		t.Fatalf("%+v", c)
	}
	o, _ = parse([]string{"--dev", "--cors-origins", "https://a.example,https://b.example"})
	c = transport.Config{}
	_ = o.ops.apply(&c, o.dev)
	if !slices.Equal(c.CORSOrigins, []string{"https://a.example", "https://b.example"}) {
		t.Fatalf("cors %v", c.CORSOrigins)
	}
	o, _ = parse(nil)
	c = transport.Config{}
	_ = o.ops.apply(&c, o.dev)
	if len(c.CORSOrigins) != 0 || c.AdminSeparate {
		t.Fatalf("defaults outside --dev: %+v", c)
	}
	o, _ = parse([]string{"--tls-cert", "c.pem"})
	if err := o.ops.apply(&c, false); err == nil {
		t.Error("--tls-cert without --tls-key accepted")
	}
	o, _ = parse([]string{"--tls-cert", "missing.pem", "--tls-key", "missing.key"})
	if err := o.ops.apply(&c, false); err == nil {
		t.Error("missing certificate files accepted")
	}
}
