package loadtest

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ServerStat is one server process's figures, read from /proc/<pid>.
type ServerStat struct {
	PID     int    `json:"pid"`
	URL     string `json:"url,omitempty"`     // its node, when there is one pid per --url (same order)
	Viewers int    `json:"viewers,omitempty"` // viewers sent to that node (same condition)

	CPU            float64 `json:"cpu_seconds"`                // user+system during the send phase
	RSSBase        int64   `json:"rss_before_bytes"`           // before the viewers connected
	RSSIdle        int64   `json:"rss_idle_bytes"`             // every viewer joined, nothing sent
	RSSEnd         int64   `json:"rss_end_bytes"`              // when the senders stopped
	BytesPerViewer float64 `json:"bytes_per_viewer,omitempty"` // (idle - before) / its viewers
	Exited         bool    `json:"exited,omitempty"`           // gone (or a zombie) when the senders stopped
	Killed         bool    `json:"killed,omitempty"`           // killed by the driver (--kill-pids): its exit is the test's
}

// servers reads the CPU and RSS of the server processes (none: every figure is 0).
type servers struct {
	pids  []int
	last  []float64 // each server's last CPU reading: a process that exits keeps it
	stats []ServerStat
}

func newServers(cfg Config) *servers {
	s := &servers{pids: cfg.ServerPIDs, last: make([]float64, len(cfg.ServerPIDs))}
	for k, pid := range cfg.ServerPIDs {
		st := ServerStat{PID: pid}
		if len(cfg.ServerPIDs) == len(cfg.urls) {
			st.URL, st.Viewers = cfg.urls[k], cfg.nodeViewers(k)
		}
		s.stats = append(s.stats, st)
	}
	return s
}

// cpu returns each server's CPU seconds so far and their sum (a process that is gone counts
// its last reading).
func (s *servers) cpu() ([]float64, float64) {
	out := make([]float64, len(s.pids))
	var sum float64
	for k, pid := range s.pids {
		if v := procCPU(pid); v > 0 {
			s.last[k] = v
		}
		out[k] = s.last[k]
		sum += out[k]
	}
	return out, sum
}

// rss reads every server's RSS into the field pick selects and returns the sum.
func (s *servers) rss(pick func(*ServerStat) *int64) int64 {
	var sum int64
	for k := range s.stats {
		v := procRSS(s.stats[k].PID)
		*pick(&s.stats[k]) = v
		sum += v
	}
	return sum
}

// rssNow returns the servers' RSS summed (0 without pids).
func (s *servers) rssNow() int64 {
	var sum int64
	for _, pid := range s.pids {
		sum += procRSS(pid)
	}
	return sum
}

// finish records the send phase's CPU (end - start, per server) and the per-viewer figures.
func (s *servers) finish(cpu0, cpu1 []float64) []ServerStat {
	for k := range s.stats {
		st := &s.stats[k]
		st.CPU = cpu1[k] - cpu0[k]
		st.Exited = st.RSSEnd == 0
		if st.Viewers > 0 && st.RSSIdle > 0 {
			st.BytesPerViewer = float64(st.RSSIdle-st.RSSBase) / float64(st.Viewers)
		}
	}
	return s.stats
}

// procCPU returns a process's user+system CPU seconds from /proc (0 if unknown).
func procCPU(pid int) float64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+2:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ is 100 on Linux
}

// procRSS returns a process's resident set in bytes from /proc (0 if unknown, or a zombie).
func procRSS(pid int) int64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}
