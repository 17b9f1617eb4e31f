package actors

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/liveroom/liveroom/actors/pb"
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
