package actors

import (
	"fmt"
	"testing"
	"time"
)

// A room's deltas go out once per FlushInterval while few nodes subscribe, and further apart
// as more do (FlushPerNode each); the first message after a quiet spell still goes at once.
func TestFlushSpacedByNodes(t *testing.T) {
	cfg := Config{Node: "n1"}
	cfg.applyDefaults()
	for _, c := range []struct {
		nodes int
		want  time.Duration
	}{{0, 5 * time.Millisecond}, {2, 5 * time.Millisecond}, {10, 5 * time.Millisecond}, {52, 26 * time.Millisecond}} {
		g := &roomGrain{node: &Node{cfg: cfg}}
		for i := 0; i < c.nodes; i++ {
			g.subs.put(&subscriber{node: fmt.Sprint("n", i)})
		}
		last := time.Now().UnixNano()
		g.lastFlush = last
		g.armFlush(nil)
		if got := time.Duration(g.flushAt - last); got != c.want {
			t.Errorf("%d nodes: the next flush %v after the last, want %v", c.nodes, got, c.want)
		}
		g.flushArmed, g.lastFlush = false, last-time.Second.Nanoseconds() // quiet for a second
		g.armFlush(nil)
		if now := time.Now().UnixNano(); g.flushAt > now {
			t.Errorf("%d nodes: after a quiet spell the flush waits %v", c.nodes, time.Duration(g.flushAt-now))
		}
	}
}
