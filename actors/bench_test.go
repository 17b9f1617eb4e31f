package actors

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/liveroom/liveroom/metrics"
	"github.com/liveroom/liveroom/ring"
	"github.com/liveroom/liveroom/rooms"
)

// countSession is a Session whose Notify only counts: the benchmark measures the round, not a
// socket.
type countSession struct{ n int }

func (s *countSession) UID() string              { return "v" }
func (s *countSession) Notify(*SharedFrame) bool { s.n++; return true }
func (s *countSession) Kick(room, reason string) {}

// benchReplica builds a replica with viewers members outside any actor system: the round and
// the pulls are plain method calls here.
func benchReplica(viewers int) (*replicaActor, []*Member) {
	cfg := Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: metrics.New()}
	cfg.applyDefaults()
	n := &Node{cfg: cfg, log: cfg.Logger, metrics: cfg.Metrics, sched: &scheduler{wake: make(chan struct{}, 1)}} // visits are not run
	r := newReplica(n, "bench")
	r.set = ring.NewSet(rooms.DefaultConfig().Caps())
	r.epoch = "e1"
	a := &replicaActor{r: r}
	members := make([]*Member, viewers)
	for i := range members {
		m := &Member{r: r, sess: &countSession{}}
		a.add(m)
		members[i] = m
	}
	return a, members
}

func appendMsgs(a *replicaActor, k int, ts *int64) {
	r := a.r
	for i := 0; i < k; i++ {
		*ts++
		m := &ring.Message{TS: *ts, Seq: r.set.LastSeq() + 1, Pri: ring.Normal, Kind: "chat", UID: "u1",
			Body: []byte(`{"text":"hello world, this is a chat line"}`)}
		m.Encode()
		if _, err := r.set.Append(m); err != nil {
			panic(err)
		}
	}
	a.lastTS = r.set.LastTS()
}

// BenchmarkDispatchRound is one notify round over all members after k new messages: the cost
// per viewer must not grow with k (it reads two atomics and writes one shared frame).
func BenchmarkDispatchRound(b *testing.B) {
	for _, viewers := range []int{1000, 10000} {
		for _, k := range []int{1, 100} {
			b.Run(fmt.Sprintf("viewers=%d/msgs=%d", viewers, k), func(b *testing.B) {
				a, members := benchReplica(viewers)
				ts := time.Now().UnixMicro()
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					appendMsgs(a, k, &ts)
					for _, m := range members { // every viewer pulled, long enough ago
						m.markAt.Store(0)
						m.paceAt = 0
					}
					b.StartTimer()
					a.round(time.Now())
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*viewers), "ns/viewer")
			})
		}
	}
}

// BenchmarkRoundWithPulls is a whole round: notify every member, then every member pulls the
// shared window (as the sessions would). The window is encoded once per round, whatever the
// number of viewers: encodes/round reports it.
func BenchmarkRoundWithPulls(b *testing.B) {
	for _, viewers := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("viewers=%d/msgs=20", viewers), func(b *testing.B) {
			a, members := benchReplica(viewers)
			ts := time.Now().UnixMicro()
			ctx := context.Background()
			since := ts
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				appendMsgs(a, 20, &ts)
				for _, m := range members {
					m.paceAt = 0
				}
				a.round(time.Now())
				for _, m := range members {
					m.Pull(ctx, since, 100)
				}
				since = ts
			}
			b.StopTimer()
			runtime.ReadMemStats(&ms1)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*viewers), "ns/viewer")
			b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(b.N*viewers), "allocs/viewer")
			b.ReportMetric(float64(a.r.encodes.Load())/float64(b.N), "encodes/round")
		})
	}
}
