package main

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func TestParseRates(t *testing.T) {
	r, err := parseRates("normal=200, system=1,low=0")
	if err != nil || r["normal"] != 200 || r["system"] != 1 || r["low"] != 0 {
		t.Fatalf("%v %v", r, err)
	}
	for _, bad := range []string{"normal", "normal=x", "normal=-1"} {
		if _, err := parseRates(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// A small real run: liveroomd and liveroom-loadtest binaries, 60 viewers in two worker
// processes, every notice delivered and every seq accounted.
func TestSmallRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs both binaries")
	}
	dir := t.TempDir()
	for _, pkg := range []string{"../liveroomd", "."} {
		if out, err := exec.Command("go", "build", "-o", dir+"/", pkg).CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", pkg, err, out)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	srv := exec.Command(filepath.Join(dir, "liveroomd"), "--addr", addr, "--jwt-secret", "S", "--api-key", "K",
		"--admin-key", "A", "--conn-per-ip", "100000", "--conn-per-uid", "100000", "--log-level", "warn")
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("server did not listen")
		}
		time.Sleep(50 * time.Millisecond)
	}
	out := filepath.Join(dir, "r.json")
	cmd := exec.Command(filepath.Join(dir, "liveroom-loadtest"), "--url", "http://"+addr, "--viewers", "60",
		"--per-worker", "30", "--duration", "3s", "--drain", "2s", "--rate", "normal=50,system=2", "--api-key", "K",
		"--admin-key", "A", "--jwt-secret", "S", "--server-pid", itoa(srv.Process.Pid), "--out", out,
		"--fail-if", "lost=0,acct=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("loadtest: %v\n%s", err, b)
	}
	var res struct {
		Expected int64            `json:"expected_notice_deliveries"`
		Lost     int64            `json:"lost_protected"`
		Sent     map[string]int64 `json:"sent"`
		Totals   struct {
			FirstJoins int64 `json:"first_joins"`
		} `json:"totals"`
		ServerCPU float64 `json:"server_cpu_seconds"`
	}
	b, _ := os.ReadFile(out)
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if res.Totals.FirstJoins != 60 || res.Sent["system"] < 4 || res.Expected != 60*res.Sent["system"] || res.Lost != 0 || res.ServerCPU <= 0 {
		t.Fatalf("result %+v", res)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }
