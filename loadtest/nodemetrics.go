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

// The node metrics read from each node's /metrics once a second: liveroomd's cluster
// membership collectors (package metrics: the size of the node's member list, and how many
// members have left it since the node started), the Go runtime's goroutines, the open
// WebSocket sessions, and the room grains and replicas the node runs (placement.go).
const (
	membersGauge    = "liveroom_cluster_members"
	leftCounter     = "liveroom_cluster_members_left_total"
	goroutinesGauge = "go_goroutines"
	sessionsGauge   = "liveroom_sessions"
	grainsGauge     = "liveroom_rooms"
	replicasGauge   = "liveroom_replicas"
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

// nodeReading is one read of a node's /metrics (-1: absent).
type nodeReading struct {
	members    int
	left       int64
	goroutines int64
	sessions   int64
	grains     int64
	replicas   int64
}

// noReading is a read that found nothing.
var noReading = nodeReading{members: -1, left: -1, goroutines: -1, sessions: -1, grains: -1, replicas: -1}

// nodeSampler reads the metrics of every node, one goroutine per node. latest holds each
// node's last reading for the per-second series: a node's members stay at its last successful
// reading (-1: none yet), its goroutines and sessions are -1 after a failed read (a dead or
// frozen node counts nothing in the sums).
type nodeSampler struct {
	client  *fasthttp.Client
	nodes   []NodeMembers
	place   []NodePlacement
	latest  []nodeReading
	left0   []int64 // each node's left counter at its first reading (-1: none yet)
	sending bool    // the send phase is on: readings count toward the placement's maxima
	mu      sync.Mutex
	wg      sync.WaitGroup
	stop    context.CancelFunc
	done    bool // finish ran
}

// startNodeSampler samples the nodes every interval until finish is called.
func startNodeSampler(ctx context.Context, urls []string, interval time.Duration) *nodeSampler {
	s := &nodeSampler{client: &fasthttp.Client{ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second}}
	for _, u := range urls {
		s.nodes = append(s.nodes, NodeMembers{URL: u, Min: -1})
		s.place = append(s.place, NodePlacement{URL: u, GrainsMax: -1, GrainsEnd: -1, ReplicasMax: -1, ReplicasEnd: -1})
		s.latest = append(s.latest, noReading)
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

func (s *nodeSampler) sample(k int) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(s.nodes[k].URL + "/metrics")
	err := s.client.DoTimeout(req, resp, 2*time.Second)
	r := noReading
	if err == nil && resp.StatusCode() == 200 {
		r = parseNodeMetrics(resp.Body())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := &s.latest[k]
	cur.goroutines, cur.sessions = r.goroutines, r.sessions
	s.place[k].record(r, s.sending)
	n := &s.nodes[k]
	if r.members < 0 {
		n.Failed++
		return
	}
	n.Samples++
	cur.members = r.members
	if n.Min < 0 || r.members < n.Min {
		n.Min = r.members
	}
	n.Max = max(n.Max, r.members)
	if r.left >= 0 {
		if s.left0[k] < 0 {
			s.left0[k] = r.left
		}
		n.Left = r.left - s.left0[k]
	}
}

// parseNodeMetrics finds the node metrics in a Prometheus text exposition (-1: absent).
func parseNodeMetrics(body []byte) nodeReading {
	r := noReading
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		name, val, ok := bytes.Cut(sc.Bytes(), []byte{' '})
		if !ok {
			continue
		}
		var dst *int64
		var members bool
		switch string(name) {
		case membersGauge:
			members = true
		case leftCounter:
			dst = &r.left
		case goroutinesGauge:
			dst = &r.goroutines
		case sessionsGauge:
			dst = &r.sessions
		case grainsGauge:
			dst = &r.grains
		case replicasGauge:
			dst = &r.replicas
		default:
			continue
		}
		f, err := strconv.ParseFloat(string(bytes.TrimSpace(val)), 64)
		if err != nil || f != f || f < -1e18 || f > 1e18 { // NaN, or beyond int64
			continue
		}
		if members {
			r.members = int(f)
		} else {
			*dst = int64(f)
		}
	}
	return r
}

// current returns each node's last membership reading (-1: none yet) and the sums of the
// goroutines and the sessions over the nodes whose last read succeeded (0: none did).
func (s *nodeSampler) current() (members []int, goroutines, sessions int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	members = make([]int, len(s.latest))
	for k, r := range s.latest {
		members[k] = r.members
		goroutines += max(r.goroutines, 0)
		sessions += max(r.sessions, 0)
	}
	return members, goroutines, sessions
}

// sampleAll reads every node once, now, and returns when every read is in.
func (s *nodeSampler) sampleAll() {
	var wg sync.WaitGroup
	for k := range s.nodes {
		wg.Add(1)
		go func() { defer wg.Done(); s.sample(k) }()
	}
	wg.Wait()
}

// sendPhase marks the start (on) or the end of the send phase. At its end every node is read
// once more before the mark comes off: the placement's maxima always hold a reading of the
// send phase, however short.
func (s *nodeSampler) sendPhase(on bool) {
	if !on {
		s.sampleAll()
	}
	s.mu.Lock()
	s.sending = on
	s.mu.Unlock()
}

// finish stops the sampling, reads every node a last time (the placement's end figures) and
// returns the membership summary; it runs once (a second call returns the first summary's
// nodes without reading again).
func (s *nodeSampler) finish() *Membership {
	s.stop()
	s.wg.Wait()
	if !s.done {
		s.done = true
		s.sampleAll()
	}
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

// placement returns what the nodes' grains and replicas gauges showed (after finish).
func (s *nodeSampler) placement() []NodePlacement {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]NodePlacement(nil), s.place...)
}
