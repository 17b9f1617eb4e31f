package loadtest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/liveroom/liveroom/internal/testwait"
)

func TestParseNodeMetrics(t *testing.T) {
	f := func(body string, members int, left, goroutines, sessions int64) {
		t.Helper()
		r := parseNodeMetrics([]byte(body))
		want := noReading
		want.members, want.left, want.goroutines, want.sessions = members, left, goroutines, sessions
		if r.grains, r.replicas = -1, -1; r != want { // TestParsePlacementMetrics reads those
			t.Errorf("%q: %+v, want %+v", body, r, want)
		}
	}
	f("", -1, -1, -1, -1)
	f("liveroom_cluster_members 6\nliveroom_cluster_members_left_total 0\n", 6, 0, -1, -1)
	f("# HELP liveroom_cluster_members x\n# TYPE liveroom_cluster_members gauge\nliveroom_cluster_members 3\r\n", 3, -1, -1, -1)
	f("liveroom_cluster_members_left_total 2\nliveroom_cluster_members_x 9\nliveroom_sessions 5\n", -1, 2, -1, 5)
	f("liveroom_cluster_members 1e+01\nliveroom_cluster_members_left_total 4.0\n", 10, 4, -1, -1)
	f("liveroom_cluster_members nope\n", -1, -1, -1, -1)
	f("# HELP go_goroutines Number of goroutines that currently exist.\n# TYPE go_goroutines gauge\ngo_goroutines 42\ngo_threads 9\n", -1, -1, 42, -1)
	f("go_goroutines NaN\nliveroom_sessions 1e+300\n", -1, -1, -1, -1)
}

func TestNodeSampler(t *testing.T) {
	var members, left, status atomic.Int64
	members.Store(3)
	left.Store(2)
	status.Store(200)
	node := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(status.Load()))
		fmt.Fprintf(w, "go_goroutines 40\nliveroom_sessions 10\nliveroom_cluster_members %d\nliveroom_cluster_members_left_total %d\n", members.Load(), left.Load())
	}))
	defer node.Close()
	old := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "go_goroutines 2\nliveroom_sessions 7") // a liveroomd without the membership metrics
	}))
	defer old.Close()

	s := startNodeSampler(context.Background(), []string{node.URL, old.URL}, 5*time.Millisecond)
	// readings returns a condition: two more readings of node k (failed ones only, if failed).
	readings := func(k int, failed bool) func() bool {
		n := -1
		return func() bool {
			s.mu.Lock()
			defer s.mu.Unlock()
			got := s.nodes[k].Failed
			if !failed {
				got += s.nodes[k].Samples
			}
			if n < 0 {
				n = got + 2
			}
			return got >= n
		}
	}
	testwait.For(t, 5*time.Second, "readings at 3 members", readings(0, false))
	testwait.For(t, 5*time.Second, "readings of the old node", readings(1, true))
	if cur, g, n := s.current(); cur[0] != 3 || cur[1] != -1 || g != 42 || n != 17 {
		t.Errorf("current %v, goroutines %d, sessions %d", cur, g, n)
	}
	members.Store(2) // a member left
	left.Store(3)
	testwait.For(t, 5*time.Second, "readings at 2 members", readings(0, false))
	status.Store(500) // an overloaded node's failed read is not a lost member
	testwait.For(t, 5*time.Second, "failed reads", readings(0, true))
	if cur, g, n := s.current(); cur[0] != 2 || g != 2 || n != 7 {
		t.Errorf("after failed reads: current %v, goroutines %d, sessions %d (the failing node counts nothing)", cur, g, n)
	}
	m := s.finish()
	n0, n1 := m.Nodes[0], m.Nodes[1]
	if n0.Min != 2 || n0.Max != 3 || n0.Left != 1 || n0.Samples < 4 || n0.Failed < 2 {
		t.Errorf("node 0: %+v", n0)
	}
	if n1.Min != -1 || n1.Samples != 0 || n1.Failed == 0 {
		t.Errorf("node without the gauge: %+v", n1)
	}
	if m.Min != 2 || m.Max != 3 || m.Left != 1 || m.Samples != n0.Samples || m.Failed != n0.Failed+n1.Failed {
		t.Errorf("membership %+v", m)
	}
}

func TestMembershipReport(t *testing.T) {
	r := &Result{Config: Config{Viewers: 10, Rooms: 1}, Membership: &Membership{Min: 5, Max: 6, Left: 1, Samples: 20,
		Nodes: []NodeMembers{{URL: "http://127.0.0.1:1", Min: 5, Max: 6, Left: 1, Samples: 10}, {URL: "http://127.0.0.1:2", Min: 6, Max: 6, Samples: 10}}},
		Seconds: []Second{{T: 1, Members: []int{6, 6}}, {T: 2, Members: []int{5, 6}}}}
	var txt, html bytes.Buffer
	r.Summary(&txt)
	for _, want := range []string{"cluster members: min 5 max 6 over 2 nodes' lists, 1 left", "http://127.0.0.1:1: min 5 max 6, 1 left"} {
		if !strings.Contains(txt.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, txt.String())
		}
	}
	if err := r.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html.String(), "cluster members in each node") {
		t.Error("the HTML report lacks the members plot")
	}
	f := func(r *Result, budget string, wantFailed int) {
		t.Helper()
		if err := r.Check(budget); err != nil || len(r.Failed) != wantFailed {
			t.Errorf("%s: err %v, failed %v, want %d failures", budget, err, r.Failed, wantFailed)
		}
	}
	f(r, "members>=6", 1)
	f(r, "members>=5,members_left=0", 1)
	f(r, "members>=5,members_left<=1", 0)
	f(&Result{}, "members>=1", 1) // never read: fails any positive floor
	f(&Result{}, "members_left=0", 0)
}

func FuzzParseNodeMetrics(f *testing.F) {
	f.Add([]byte("liveroom_cluster_members 6\nliveroom_cluster_members_left_total 0\n"))
	f.Add([]byte("# TYPE liveroom_cluster_members gauge\nliveroom_cluster_members 1e+300\n"))
	f.Add([]byte("liveroom_cluster_members NaN\nliveroom_cluster_members_left_total -Inf\n"))
	f.Add([]byte("go_goroutines 12\nliveroom_sessions 3\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		r := parseNodeMetrics(body)
		check := func(got int64, name string) {
			if got >= 0 && !bytes.Contains(body, []byte(name+" ")) {
				t.Errorf("%s %d from a body without it", name, got)
			}
		}
		check(int64(r.members), membersGauge)
		check(r.left, leftCounter)
		check(r.goroutines, goroutinesGauge)
		check(r.sessions, sessionsGauge)
	})
}
