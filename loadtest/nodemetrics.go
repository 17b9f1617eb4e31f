package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// liveroomd's cluster membership collectors (package metrics): the size of the node's member
// list, and how many members have left it since the node started.
const (
	membersGauge = "liveroom_cluster_members"
	leftCounter  = "liveroom_cluster_members_left_total"
)

// Membership is what the nodes' member lists showed during a cluster run: every node's
// /metrics is read once a second from before the viewers connect until the drain ends.
// "No member lost" is Min = Max = the node count and Left = 0.
type Membership struct {
	Min     int           `json:"min_members"`  // fewest members any node listed (-1: the gauge was never read)
	Max     int           `json:"max_members"`  // most members any node listed
	Left    int64         `json:"members_left"` // members that left a node's list during the run, summed over nodes
	Samples int           `json:"samples"`      // readings of the gauge, all nodes
	Failed  int           `json:"failed"`       // reads that failed or lacked the gauge (not counted as lost members)
	Nodes   []NodeMembers `json:"nodes"`
}

// NodeMembers is one node's view of the membership during the run.
type NodeMembers struct {
	URL     string `json:"url"`
	Min     int    `json:"min_members"` // -1: never read
	Max     int    `json:"max_members"`
	Left    int64  `json:"members_left"`
	Samples int    `json:"samples"`
	Failed  int    `json:"failed"`
}

// memberSampler reads the membership metrics of every node, one goroutine per node. latest
// holds each node's last reading for the per-second series (-1: none yet).
type memberSampler struct {
	client *fasthttp.Client
	nodes  []NodeMembers
	latest []int
	left0  []int64 // each node's left counter at its first reading (-1: none yet)
	mu     sync.Mutex
	wg     sync.WaitGroup
	stop   context.CancelFunc
}

// startMembers samples the nodes every interval until stop is called.
func startMembers(ctx context.Context, urls []string, interval time.Duration) *memberSampler {
	s := &memberSampler{client: &fasthttp.Client{ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second}}
	for _, u := range urls {
		s.nodes = append(s.nodes, NodeMembers{URL: u, Min: -1})
		s.latest = append(s.latest, -1)
		s.left0 = append(s.left0, -1)
	}
	ctx, s.stop = context.WithCancel(ctx)
	for k := range urls {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			t := time.NewTicker(interval)
			defer t.Stop()
			for {
				s.sample(k)
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		}()
	}
	return s
}

func (s *memberSampler) sample(k int) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(s.nodes[k].URL + "/metrics")
	err := s.client.DoTimeout(req, resp, 2*time.Second)
	members, left, ok := -1, int64(-1), err == nil && resp.StatusCode() == 200
	if ok {
		members, left = parseMembers(resp.Body())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := &s.nodes[k]
	if members < 0 {
		n.Failed++
		return
	}
	n.Samples++
	s.latest[k] = members
	if n.Min < 0 || members < n.Min {
		n.Min = members
	}
	n.Max = max(n.Max, members)
	if left >= 0 {
		if s.left0[k] < 0 {
			s.left0[k] = left
		}
		n.Left = left - s.left0[k]
	}
}

// parseMembers finds the two metrics in a Prometheus text exposition (-1: absent).
func parseMembers(body []byte) (members int, left int64) {
	members, left = -1, -1
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		name, val, ok := bytes.Cut(sc.Bytes(), []byte{' '})
		if !ok {
			continue
		}
		switch string(name) {
		case membersGauge, leftCounter:
			f, err := strconv.ParseFloat(string(bytes.TrimSpace(val)), 64)
			if err != nil {
				continue
			}
			if string(name) == membersGauge {
				members = int(f)
			} else {
				left = int64(f)
			}
		}
	}
	return members, left
}

// current returns each node's last reading (-1: none yet).
func (s *memberSampler) current() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.latest...)
}

// finish stops the sampling and returns the summary.
func (s *memberSampler) finish() *Membership {
	s.stop()
	s.wg.Wait()
	m := &Membership{Min: -1, Nodes: s.nodes}
	for _, n := range s.nodes {
		m.Samples += n.Samples
		m.Failed += n.Failed
		m.Left += n.Left
		if n.Min >= 0 && (m.Min < 0 || n.Min < m.Min) {
			m.Min = n.Min
		}
		m.Max = max(m.Max, n.Max)
	}
	return m
}
