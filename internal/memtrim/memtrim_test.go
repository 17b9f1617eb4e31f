package memtrim

import (
	"context"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/liveroom/liveroom/internal/testwait"
)

func TestDue(t *testing.T) {
	c := Config{}
	c.defaults()
	f := func(prev, cur sample, want bool) {
		t.Helper()
		if got := c.due(prev, cur); got != want {
			t.Fatalf("due(%+v, %+v) = %v, want %v", prev, cur, got, want)
		}
	}
	const mb = 1 << 20
	f(sample{allocs: 0}, sample{allocs: 1 * mb, live: 100 * mb, held: 150 * mb}, true)      // quiet, 50 % over
	f(sample{allocs: 0}, sample{allocs: 6 * mb, live: 100 * mb, held: 150 * mb}, false)     // 6 % of live allocated: busy
	f(sample{allocs: 0}, sample{allocs: 1 * mb, live: 100 * mb, held: 115 * mb}, false)     // 15 % over: not worth it
	f(sample{allocs: 0}, sample{allocs: 0, live: 0, held: 150 * mb}, false)                 // no collection yet
	f(sample{allocs: 10 * mb}, sample{allocs: 10 * mb, live: 10 * mb, held: 13 * mb}, true) // nothing allocated
}

// A quiet heap holding garbage is collected and its free pages released.
func TestRunTrimsAQuietHeap(t *testing.T) {
	keep := make([][]byte, 0, 64)
	for range 64 { // 64 MB live
		keep = append(keep, make([]byte, 1<<20))
	}
	runtime.GC()
	for range 64 { // 64 MB of garbage: the heap holds twice its live size
		sink = make([]byte, 1<<20)
	}
	sink = nil
	released := func() uint64 {
		s := []metrics.Sample{{Name: mReleased}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	before := released()
	trimmed := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go Run(ctx, Config{Every: 50 * time.Millisecond, Trimmed: func(_, _ uint64) {
		select {
		case trimmed <- struct{}{}:
		default:
		}
	}})
	testwait.For(t, 5*time.Second, "a trim", func() bool { return len(trimmed) > 0 })
	if after := released(); after <= before {
		t.Fatalf("released %d B before the trim, %d after", before, after)
	}
	runtime.KeepAlive(keep)
}

var sink []byte
