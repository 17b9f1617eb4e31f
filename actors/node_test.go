//go:build !race

// Tests that start a protoactor cluster member. protoactor-go's cluster internals (member
// list, placement actor) race under the race detector (DESIGN.md section 4), so these tests
// are built without -race; `make test` runs them in a separate, non-race pass.

package actors

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/liveroom/liveroom/internal/testwait"
	"github.com/liveroom/liveroom/ring"
	"github.com/liveroom/liveroom/rooms"
)

// fakeSession records what the actors tell a session.
type fakeSession struct {
	uid      string
	mu       sync.Mutex
	notifies []string // frames
	kicks    []string // "room/reason"
	busy     atomic.Bool
}

func (s *fakeSession) UID() string { return s.uid }
func (s *fakeSession) Notify(f *SharedFrame) bool {
	if s.busy.Load() {
		return false
	}
	s.mu.Lock()
	s.notifies = append(s.notifies, string(f.Data))
	if f.Then != nil {
		s.notifies = append(s.notifies, string(f.Then.Data))
	}
	s.mu.Unlock()
	return true
}
func (s *fakeSession) Kick(room, reason string) {
	s.mu.Lock()
	s.kicks = append(s.kicks, room+"/"+reason)
	s.mu.Unlock()
}
func (s *fakeSession) counts() (int, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.notifies), append([]string(nil), s.kicks...)
}

func testNode(t *testing.T, mod func(*Config)) *Node {
	t.Helper()
	cfg := Config{
		Logger:           slog.New(slog.NewTextHandler(io.Discard, nil)),
		DispatchInterval: 10 * time.Millisecond,
		NotifyRetry:      150 * time.Millisecond,
		FlushInterval:    2 * time.Millisecond,
	}
	if mod != nil {
		mod(&cfg)
	}
	n, err := NewNode(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = n.Shutdown(ctx)
	})
	return n
}

func chat(uid, text string) rooms.SendRequest {
	b, _ := json.Marshal(map[string]string{"text": text})
	return rooms.SendRequest{UID: uid, Kind: "chat", Pri: ring.Normal, Body: b, Source: rooms.FromServer}
}

// window is a decoded pull answer.
type window struct {
	Msgs []struct {
		TS   int64  `json:"ts"`
		Seq  uint64 `json:"seq"`
		Pri  string `json:"pri"`
		Kind string `json:"kind"`
	} `json:"msgs"`
	Dropped uint64 `json:"dropped"`
	Next    int64  `json:"next"`
	More    bool   `json:"more"`
}

func decodeWindow(t *testing.T, res PullResult) window {
	t.Helper()
	var w window
	if err := json.Unmarshal(append([]byte("{"), res.Body...), &w); err != nil {
		t.Fatalf("window %s: %v", res.Body, err)
	}
	return w
}

// The whole actor path on one node: every node-level behaviour that a single test can show
// without a network. Subtests share one node (starting a cluster member takes ~1 s).
func TestNode(t *testing.T) {
	n := testNode(t, nil)
	ctx := context.Background()

	t.Run("notify merged until pull", func(t *testing.T) {
		s := &fakeSession{uid: "v1"}
		if err := n.Connect(s); err != nil {
			t.Fatal(err)
		}
		defer n.Disconnect(s)
		j, err := n.Join(ctx, s, "r-merge", JoinOptions{Since: -1})
		if err != nil {
			t.Fatal(err)
		}
		if j.Online != 1 || j.NotifyNow {
			t.Fatalf("join = %+v", j)
		}
		for i := 0; i < 5; i++ {
			if _, err := n.Send(ctx, "r-merge", chat("u", fmt.Sprint(i))); err != nil {
				t.Fatal(err)
			}
		}
		testwait.For(t, 2*time.Second, "first notify", func() bool { c, _ := s.counts(); return c == 1 })
		// More messages while the pull is pending: no further notify before the retry.
		if _, err := n.Send(ctx, "r-merge", chat("u", "late")); err != nil {
			t.Fatal(err)
		}
		testwait.For(t, 2*time.Second, "the replica has the late message", func() bool { _, _, seq := j.Member.(*Member).r.head(); return seq == 6 })
		time.Sleep(3 * n.cfg.DispatchInterval) // rounds pass: none may notify while the pull is pending
		res := j.Member.Pull(ctx, j.TS, 100)
		var w struct {
			Msgs    []json.RawMessage `json:"msgs"`
			Dropped uint64            `json:"dropped"`
		}
		if err := json.Unmarshal(append([]byte("{"), res.Body...), &w); err != nil {
			t.Fatalf("body %s: %v", res.Body, err)
		}
		if len(w.Msgs) != 6 || w.Dropped != 0 {
			t.Fatalf("pull got %d msgs, dropped %d: %s", len(w.Msgs), w.Dropped, res.Body)
		}
		if c, _ := s.counts(); c != 1 {
			t.Fatalf("notifies before pull = %d, want 1 (merged)", c)
		}
		if _, err := n.Send(ctx, "r-merge", chat("u", "after")); err != nil {
			t.Fatal(err)
		}
		testwait.For(t, 2*time.Second, "notify after pull", func() bool { c, _ := s.counts(); return c == 2 })
	})

	t.Run("retry then kick unresponsive", func(t *testing.T) {
		s := &fakeSession{uid: "v2"}
		_ = n.Connect(s)
		defer n.Disconnect(s)
		if _, err := n.Join(ctx, s, "r-kick", JoinOptions{Since: -1}); err != nil {
			t.Fatal(err)
		}
		if _, err := n.Send(ctx, "r-kick", chat("u", "x")); err != nil {
			t.Fatal(err)
		}
		testwait.For(t, 5*time.Second, "unresponsive kick", func() bool { _, k := s.counts(); return len(k) == 1 })
		c, k := s.counts()
		if k[0] != "/unresponsive" || c != 3 {
			t.Fatalf("notifies %d kicks %v; want 3 notifies then /unresponsive", c, k)
		}
	})

	t.Run("join with since notifies at once", func(t *testing.T) {
		st, err := n.Send(ctx, "r-since", chat("u", "old"))
		if err != nil {
			t.Fatal(err)
		}
		s := &fakeSession{uid: "v3"}
		_ = n.Connect(s)
		defer n.Disconnect(s)
		j, err := n.Join(ctx, s, "r-since", JoinOptions{Since: st.TS - 1})
		if err != nil {
			t.Fatal(err)
		}
		if !j.NotifyNow {
			t.Fatal("join with an older since did not ask for a notify")
		}
		res := j.Member.Pull(ctx, st.TS-1, 10)
		if res.Count != 1 || res.Next != st.TS {
			t.Fatalf("pull = %+v", res)
		}
	})

	t.Run("ban kicks and blocks join", func(t *testing.T) {
		s := &fakeSession{uid: "bad"}
		_ = n.Connect(s)
		defer n.Disconnect(s)
		if _, err := n.Join(ctx, s, "r-ban", JoinOptions{Since: -1}); err != nil {
			t.Fatal(err)
		}
		if err := n.Moderate(ctx, "r-ban", rooms.ModOp{List: rooms.Bans, UID: "bad", Set: true}); err != nil {
			t.Fatal(err)
		}
		testwait.For(t, 2*time.Second, "ban kick", func() bool { _, k := s.counts(); return len(k) == 1 })
		if _, k := s.counts(); k[0] != "r-ban/banned" {
			t.Fatalf("kicks = %v", k)
		}
		_, err := n.Join(ctx, s, "r-ban", JoinOptions{Since: -1})
		if rooms.CodeOf(err) != rooms.CodeBanned {
			t.Fatalf("join after ban: %v", err)
		}
	})

	t.Run("session cap replaces the oldest", func(t *testing.T) {
		var ss []*fakeSession
		for i := 0; i < 6; i++ {
			s := &fakeSession{uid: "many"}
			ss = append(ss, s)
			_ = n.Connect(s)
		}
		testwait.For(t, 2*time.Second, "replaced kick", func() bool { _, k := ss[0].counts(); return len(k) == 1 })
		if _, k := ss[0].counts(); k[0] != "/replaced" {
			t.Fatalf("oldest kicks = %v", k)
		}
		for _, s := range ss[1:] {
			if _, k := s.counts(); len(k) != 0 {
				t.Fatalf("a newer session was kicked: %v", k)
			}
		}
		for _, s := range ss {
			n.Disconnect(s)
		}
		// The kicked session is counted until its Disconnect: nothing of the uid is left.
		n.mu.Lock()
		_, left := n.users["many"]
		n.mu.Unlock()
		var g dto.Metric
		_ = n.metrics.Sessions.Write(&g)
		if left || g.GetGauge().GetValue() != 0 {
			t.Fatalf("after every disconnect: entry left %v, sessions gauge %v", left, g.GetGauge().GetValue())
		}
	})

	t.Run("read your writes and info", func(t *testing.T) {
		for i := 0; i < 3; i++ {
			st, err := n.Send(ctx, "r-info", chat("u", "m"))
			if err != nil {
				t.Fatal(err)
			}
			res, err := n.Pull(ctx, "r-info", "", 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			if res.Count != i+1 || res.Next != st.TS {
				t.Fatalf("pull after send %d: %d msgs, next %d want %d", i, res.Count, res.Next, st.TS)
			}
		}
		info, err := n.Info(ctx, "r-info")
		if err != nil {
			t.Fatal(err)
		}
		if info.Seq != 3 || info.Stats.Accepted != 3 || info.Online != 0 {
			t.Fatalf("info = %+v", info)
		}
	})
}

// A room grain with no subscribers passivates (saving its state) and re-activates on the next
// request with the same epoch, seq continuing, protected messages and moderation kept.
func TestPassivationKeepsHistory(t *testing.T) {
	n := testNode(t, func(c *Config) {
		c.RoomIdle = 150 * time.Millisecond
		c.ReplicaIdle = 50 * time.Millisecond
	})
	ctx := context.Background()
	notice := rooms.SendRequest{Kind: "notice", Pri: ring.System, Body: []byte(`{"n":1}`), Source: rooms.FromAdmin}
	first, err := n.Send(ctx, "r-passive", notice)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Send(ctx, "r-passive", chat("u", "x")); err != nil {
		t.Fatal(err)
	}
	if err := n.Moderate(ctx, "r-passive", rooms.ModOp{List: rooms.Mutes, UID: "m", Set: true}); err != nil {
		t.Fatal(err)
	}
	before, err := n.Info(ctx, "r-passive")
	if err != nil {
		t.Fatal(err)
	}
	testwait.For(t, 5*time.Second, "grain passivated", func() bool {
		n.mu.Lock()
		defer n.mu.Unlock()
		_, active := n.grains["r-passive"]
		return !active
	})
	st, err := n.Send(ctx, "r-passive", chat("u", "after"))
	if err != nil {
		t.Fatal(err)
	}
	after, _ := n.Info(ctx, "r-passive")
	if after.Epoch != before.Epoch || st.Seq != 3 || st.TS <= before.TS {
		t.Fatalf("after re-activation: epoch %s (was %s), seq %d, ts %d (was %d)", after.Epoch, before.Epoch, st.Seq, st.TS, before.TS)
	}
	if _, err := n.Send(ctx, "r-passive", chat("m", "muted?")); rooms.CodeOf(err) != rooms.CodeMuted {
		t.Fatalf("mute lost: %v", err)
	}
	res, err := n.Pull(ctx, "r-passive", "", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	w := decodeWindow(t, res)
	if len(w.Msgs) != 2 || w.Msgs[0].Seq != first.Seq || w.Msgs[0].Pri != "system" || w.Dropped != 1 {
		t.Fatalf("window after re-activation: %s", res.Body)
	}
	// The stored history index keeps dropped exact across the restart: after the notice come
	// the lost chat message and the new one.
	res, err = n.Pull(ctx, "r-passive", "", first.TS, 10)
	if err != nil {
		t.Fatal(err)
	}
	if w := decodeWindow(t, res); len(w.Msgs) != 1 || w.Dropped != 1 {
		t.Fatalf("window after the notice: %s (want the new message and 1 dropped)", res.Body)
	}
}

// The node's gauges say where rooms run: liveroom_replicas counts a replica from its first
// viewer's join until it stops idle, and a send to a room without viewers here runs its grain
// (liveroom_rooms) but no replica.
func TestReplicasGauge(t *testing.T) {
	n := testNode(t, func(c *Config) { c.ReplicaIdle = 50 * time.Millisecond })
	ctx := context.Background()
	gauges := func() (grains, replicas float64) {
		return metricValue(t, n, "liveroom_rooms", ""), metricValue(t, n, "liveroom_replicas", "")
	}
	if g, r := gauges(); g != 0 || r != 0 {
		t.Fatalf("fresh node: %v grains, %v replicas", g, r)
	}
	var members []Membership
	for _, room := range []string{"r-g1", "r-g2", "r-g2"} {
		s := &fakeSession{uid: "v-" + room + fmt.Sprint(len(members))}
		if err := n.Connect(s); err != nil {
			t.Fatal(err)
		}
		defer n.Disconnect(s)
		j, err := n.Join(ctx, s, room, JoinOptions{Since: -1})
		if err != nil {
			t.Fatal(err)
		}
		members = append(members, j.Member)
	}
	if g, r := gauges(); g != 2 || r != 2 {
		t.Fatalf("3 viewers in 2 rooms: %v grains, %v replicas; want 2 and 2", g, r)
	}
	if _, err := n.Send(ctx, "r-g3", chat("u", "nobody here")); err != nil {
		t.Fatal(err)
	}
	if g, r := gauges(); g != 3 || r != 2 {
		t.Fatalf("after a send to a room without viewers: %v grains, %v replicas; want 3 and 2", g, r)
	}
	n.Leave(members[0]) // r-g1's only viewer: its replica stops once idle
	testwait.For(t, 5*time.Second, "r-g1's replica stopped", func() bool { _, r := gauges(); return r == 1 })
	if n.localReplica("r-g1") != nil || n.localReplica("r-g2") == nil {
		t.Fatal("the gauge went down, but not for r-g1's replica")
	}
	n.Leave(members[1]) // r-g2 keeps a viewer: its replica stays
	n.Leave(members[2])
	testwait.For(t, 5*time.Second, "r-g2's replica stopped", func() bool { _, r := gauges(); return r == 0 })
}
