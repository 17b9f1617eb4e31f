package memtrim

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Config says when the heap counts as quiet.
type Config struct {
	// Every is how often the heap is looked at (a few runtime counters); a trim needs one
	// whole quiet period. Default 1s.
	Every time.Duration
	// Quiet: at most this fraction of the live heap allocated per second of the period.
	// Default 0.01.
	Quiet float64
	// Over: what a collection and a release would give back exceeds this fraction of the live
	// heap: the objects (live and dead) and the free pages not yet released, over the live
	// heap. Free space inside spans that hold live objects is left out: no trim gives it back,
	// and counting it would trim a fragmented heap every period. Default 0.2.
	Over float64
	// Trimmed is called after each trim with the bytes the heap held before and after (for a
	// log line or a metric); may be nil.
	Trimmed func(before, after uint64)
	// MinGap: trims are at least this far apart. Default 1m.
	MinGap time.Duration
}

func (c *Config) defaults() {
	if c.Every <= 0 {
		c.Every = time.Second
	}
	if c.Quiet <= 0 {
		c.Quiet = 0.01
	}
	if c.MinGap <= 0 {
		c.MinGap = time.Minute
	}
	if c.Over <= 0 {
		c.Over = 0.2
	}
}

// The runtime/metrics read each period.
const (
	mAllocs   = "/gc/heap/allocs:bytes"               // cumulative bytes allocated
	mLive     = "/gc/heap/live:bytes"                 // live heap as of the last collection
	mObjects  = "/memory/classes/heap/objects:bytes"  // live and not yet swept objects
	mFree     = "/memory/classes/heap/free:bytes"     // free pages not released
	mReleased = "/memory/classes/heap/released:bytes" // pages given back (for tests)
)

// sample is what one look at the heap reads: held is objects + free pages not released.
type sample struct {
	allocs, live, held uint64
}

func read(s []metrics.Sample) sample {
	metrics.Read(s)
	v := func(i int) uint64 {
		if s[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return s[i].Value.Uint64()
	}
	return sample{allocs: v(0), live: v(1), held: v(2) + v(3)}
}

func samples() []metrics.Sample {
	return []metrics.Sample{{Name: mAllocs}, {Name: mLive}, {Name: mObjects}, {Name: mFree}}
}

// due reports whether the period from prev to cur was quiet and the heap holds enough over
// its live size to be worth a trim.
func (c *Config) due(prev, cur sample) bool {
	if cur.live == 0 {
		return false
	}
	quiet := float64(cur.allocs-prev.allocs) <= c.Quiet*c.Every.Seconds()*float64(cur.live)
	over := float64(cur.held) > (1+c.Over)*float64(cur.live)
	return quiet && over
}

// Run looks at the heap every c.Every until ctx ends, and trims it after a quiet period.
func Run(ctx context.Context, c Config) {
	c.defaults()
	t := time.NewTicker(c.Every)
	defer t.Stop()
	s := samples()
	prev := read(s)
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cur := read(s)
		if c.due(prev, cur) && time.Since(last) >= c.MinGap {
			debug.FreeOSMemory()
			last = time.Now()
			after := read(s)
			if c.Trimmed != nil {
				c.Trimmed(cur.held, after.held)
			}
			cur = after // the trim's own allocations do not count against the next period
		}
		prev = cur
	}
}
