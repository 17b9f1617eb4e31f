package loadtest

import (
	"os"
	"testing"
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
