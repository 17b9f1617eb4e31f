package loadtest

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestServersPerPID(t *testing.T) {
	cfg := Config{URL: "http://127.0.0.1:1,http://127.0.0.1:2", Viewers: 5, ServerPIDs: []int{os.Getpid(), 1 << 30}}
	cfg.applyDefaults()
	s := newServers(cfg)
	s.rss(func(st *ServerStat) *int64 { return &st.RSSBase })
	cpus0, _ := s.cpu()
	s.rss(func(st *ServerStat) *int64 { return &st.RSSIdle })
	s.rss(func(st *ServerStat) *int64 { return &st.RSSEnd })
	cpus1, sum := s.cpu()
	st := s.finish(cpus0, cpus1)
	if len(st) != 2 || st[0].URL != "http://127.0.0.1:1" || st[0].Viewers != 3 || st[1].Viewers != 2 {
		t.Fatalf("stats %+v", st)
	}
	if st[0].RSSEnd <= 0 || st[0].Exited || sum <= 0 {
		t.Errorf("this process: %+v, cpu %g", st[0], sum)
	}
	if !st[1].Exited || st[1].CPU != 0 { // no such pid
		t.Errorf("missing pid: %+v", st[1])
	}
	// Without one pid per URL the pids are only summed.
	cfg.ServerPIDs = []int{os.Getpid()}
	if st := newServers(cfg).stats; st[0].URL != "" || st[0].Viewers != 0 {
		t.Errorf("one pid for two URLs: %+v", st[0])
	}
}

// --kill-pids: the driver kills the listed server processes KillAt into the send phase; they
// are reported killed, not exited, and the exited budget does not count them.
func TestRunKillsServers(t *testing.T) {
	victim := exec.Command("sleep", "60")
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- victim.Wait() }()
	t.Cleanup(func() { _ = victim.Process.Kill() })
	c := newFakeCluster(t, 2)
	self := os.Getpid()
	res := fakeRun(t, c, Config{Viewers: 4, ServerPIDs: []int{self, victim.Process.Pid}, KillPIDs: []int{victim.Process.Pid},
		KillAt: time.Second, Duration: 3 * time.Second, Rates: map[string]float64{"normal": 5}}, Options{})
	select {
	case err := <-waited:
		if ws, ok := victim.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("the victim ended with %v, not SIGKILL", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the victim still runs")
	}
	if len(res.Servers) != 2 || res.Servers[0].Killed || !res.Servers[1].Killed || !res.Servers[1].Exited || res.KilledAt != 1 {
		t.Fatalf("servers %+v, killed at %v", res.Servers, res.KilledAt)
	}
	if err := res.Check("exited=0"); err != nil || len(res.Failed) != 0 {
		t.Fatalf("exited=0 with the killed server: %v %v", err, res.Failed)
	}
	for _, bad := range []Config{
		{KillPIDs: []int{12345}, ServerPIDs: []int{self}, KillAt: time.Second, Duration: 3 * time.Second},
		{KillPIDs: []int{self}, ServerPIDs: []int{self}, KillAt: 3 * time.Second, Duration: 3 * time.Second},
	} {
		bad.URL, bad.Viewers, bad.APIKey, bad.AdminKey = "http://127.0.0.1:1", 1, "k", "a"
		bad.applyDefaults()
		if err := bad.validate(); err == nil || !strings.Contains(err.Error(), "kill") {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}
