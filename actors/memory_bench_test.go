//go:build !race

package actors

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/liveroom/liveroom/internal/testwait"
)

// BenchmarkIdleRoomMemory measures what an idle room costs the node's heap: with one viewer
// (its grain, replica, member and the viewer's user entry; the session itself is the
// transport's) and with none (the grain only: the viewer left and the replica stopped). It
// reports bytes per room; b.N is not used (the figures come from rooms rooms).
func BenchmarkIdleRoomMemory(b *testing.B) {
	const rooms = 2000
	cfg := Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), ReplicaIdle: 50 * time.Millisecond}
	n, err := NewNode(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = n.Shutdown(ctx)
	}()
	ctx := context.Background()
	heap := func() uint64 {
		var ms runtime.MemStats
		for i := 0; i < 3; i++ {
			runtime.GC()
		}
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	// One room first: what every node holds once (pools, the first grain's kind) is not a room's.
	warm := &fakeSession{uid: "warm"}
	if err := n.Connect(warm); err != nil {
		b.Fatal(err)
	}
	if _, err := n.Join(ctx, warm, "warm", JoinOptions{Since: -1}); err != nil {
		b.Fatal(err)
	}
	before := heap()
	sessions := make([]*fakeSession, rooms)
	members := make([]Membership, rooms)
	for i := range sessions {
		s := &fakeSession{uid: fmt.Sprintf("v%d", i)}
		if err := n.Connect(s); err != nil {
			b.Fatal(err)
		}
		j, err := n.Join(ctx, s, fmt.Sprintf("room-%d", i), JoinOptions{Since: -1})
		if err != nil {
			b.Fatal(err)
		}
		sessions[i], members[i] = s, j.Member
	}
	withViewer := heap()
	for i, s := range sessions {
		n.Leave(members[i])
		n.Disconnect(s)
	}
	members = nil
	testwait.For(b, 10*time.Second, "the replicas stopped", func() bool {
		n.mu.Lock()
		defer n.mu.Unlock()
		return len(n.replicas) <= 1
	})
	withNone := heap()
	b.ReportMetric(float64(withViewer-before)/rooms, "B/room-with-viewer")
	b.ReportMetric(float64(withNone-before)/rooms, "B/room-without-viewer")
	runtime.KeepAlive(sessions)
}
