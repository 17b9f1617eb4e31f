package actors

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/liveroom/liveroom/ring"
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
