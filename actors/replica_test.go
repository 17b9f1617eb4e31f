package actors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/liveroom/liveroom/actors/pb"
	"github.com/liveroom/liveroom/internal/testwait"
	"github.com/liveroom/liveroom/ring"
	"github.com/liveroom/liveroom/rooms"
)

// TestReplicaConcurrentPulls runs the replica's writer side (appends under the write lock and
// dispatch rounds) against sessions pulling on their own goroutines, as in production, with no
// cluster: this is the test of our shared-memory hot path under -race. Every pull's accounting
// must hold: len(msgs) + dropped equals the seq advance of the window.
func TestReplicaConcurrentPulls(t *testing.T) {
	a, members := benchReplica(50)
	r := a.r
	ctx := context.Background()
	const total = 3000
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan string, len(members))
	for _, m := range members {
		wg.Add(1)
		go func(m *Member) {
			defer wg.Done()
			var since int64
			var lastSeq uint64
			for {
				res := m.Pull(ctx, since, 7)
				var w struct {
					Msgs []struct {
						Seq uint64 `json:"seq"`
						TS  int64  `json:"ts"`
					} `json:"msgs"`
					Dropped uint64 `json:"dropped"`
					Next    int64  `json:"next"`
				}
				if err := json.Unmarshal(append([]byte("{"), res.Body...), &w); err != nil {
					errs <- err.Error()
					return
				}
				if n := len(w.Msgs); n > 0 {
					if got := uint64(n) + w.Dropped; got != w.Msgs[n-1].Seq-lastSeq {
						errs <- "accounting broken"
						return
					}
					lastSeq = w.Msgs[n-1].Seq
				} else if w.Dropped != 0 && w.Next == since {
					errs <- "dropped without progress"
					return
				}
				since = w.Next
				if lastSeq == total {
					return
				}
				select {
				case <-stop:
					return
				default:
				}
			}
		}(m)
	}
	ts := time.Now().UnixMicro()
	for i := 0; i < total; i++ {
		ts++
		m := &ring.Message{TS: ts, Seq: uint64(i + 1), Pri: ring.Normal, Kind: "chat", Body: []byte(`1`)}
		m.Encode()
		r.mu.Lock()
		if _, err := r.set.Append(m); err != nil {
			r.mu.Unlock()
			t.Fatal(err)
		}
		close(r.changed)
		r.changed = make(chan struct{})
		a.lastTS = ts
		r.mu.Unlock()
		if i%50 == 0 {
			a.round(time.Now())
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		close(stop)
		<-done
		t.Fatal("pullers did not reach the last message")
	}
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestReplicaRefusesDivergedSnapshot: a snapshot in the replica's epoch that holds another
// message at the replica's newest seq (two activations of the room stamped it during a
// membership change) is refused, so viewers never count a seq twice; one that agrees is taken.
func TestReplicaRefusesDivergedSnapshot(t *testing.T) {
	a, _ := benchReplica(1)
	a.ready = true
	var ts int64 = 1000
	appendMsgs(a, 3, &ts)
	served := a.r.set.LastTS()

	build := func(thirdTS int64) *pb.Snapshot {
		set := ring.NewSet(rooms.DefaultConfig().Caps())
		for i, mts := range []int64{1001, 1002, thirdTS, thirdTS + 1} {
			m := &ring.Message{TS: mts, Seq: uint64(i + 1), Pri: ring.Normal, Kind: "chat", UID: "u2", Body: []byte(`1`)}
			m.Encode()
			if _, err := set.Append(m); err != nil {
				t.Fatal(err)
			}
		}
		return snapshotToPB(a.r.epoch, set.Snapshot(), rooms.DefaultConfig().Caps())
	}

	if err := a.importSnapshot(build(served + 5)); !errors.Is(err, errDiverged) {
		t.Fatalf("diverged snapshot: err %v, want errDiverged", err)
	}
	if a.r.set.LastSeq() != 3 || a.r.set.LastTS() != served {
		t.Fatalf("a refused snapshot changed the replica: last seq %d ts %d", a.r.set.LastSeq(), a.r.set.LastTS())
	}
	if err := a.importSnapshot(build(served)); err != nil {
		t.Fatalf("agreeing snapshot: %v", err)
	}
	if a.r.set.LastSeq() != 4 {
		t.Fatalf("agreeing snapshot not imported: last seq %d", a.r.set.LastSeq())
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
