//go:build !race

package actors

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/liveroom/liveroom/rooms"
)

// BenchmarkGrainSend is one backend message through a hot room's grain on a one-node cluster
// (memory store): the request, Accept, the batch, the flush every FlushInterval, the delta to
// the room's one replica and its round to one viewer. It bounds what one room can accept: the
// grain is one actor, so its messages are handled one after another. inflight senders wait
// for their stamps at once, as a node's HTTP posts do. cpu-us/op is the process's CPU
// (getrusage: every goroutine, the runtime's included) per message; refused/op the share the
// room's bucket refused (it admits rooms.MaxRate a second: a grain that takes more is faster
// than any room may be configured). docs/capacity.md uses both.
func BenchmarkGrainSend(b *testing.B) {
	for _, inflight := range []int{1, 32} {
		b.Run(fmt.Sprintf("inflight=%d", inflight), func(b *testing.B) {
			n, err := NewNode(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				b.Fatal(err)
			}
			defer func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				_ = n.Shutdown(ctx)
			}()
			ctx := context.Background()
			viewer := &fakeSession{uid: "viewer"}
			if err := n.Connect(viewer); err != nil {
				b.Fatal(err)
			}
			if _, err := n.Join(ctx, viewer, "hot", JoinOptions{Since: -1}); err != nil {
				b.Fatal(err)
			}
			var patch rooms.ConfigPatch
			if err := json.Unmarshal([]byte(fmt.Sprintf(`{"rate":{"normal":%d}}`, rooms.MaxRate)), &patch); err != nil {
				b.Fatal(err)
			}
			if _, err := n.SetConfig(ctx, "hot", patch); err != nil {
				b.Fatal(err)
			}
			req := chat("", "hello world, this is a chat line")
			b.SetParallelism((inflight + 1) / 2) // GOMAXPROCS x this goroutines
			b.ReportAllocs()
			cpu0 := cpuSeconds()
			var refused atomic.Int64
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					_, err := n.Send(ctx, "hot", req)
					if rooms.CodeOf(err) == rooms.CodeRateLimited {
						refused.Add(1) // faster than rooms.MaxRate: refused by the room's bucket
					} else if err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric((cpuSeconds()-cpu0)*1e6/float64(b.N), "cpu-us/op")
			b.ReportMetric(float64(refused.Load())/float64(b.N), "refused/op")
		})
	}
}

// cpuSeconds is the process's user and system CPU so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
