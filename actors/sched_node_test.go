//go:build !race

package actors

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/liveroom/liveroom/actors/pb"
	"github.com/liveroom/liveroom/internal/testwait"
)

// A room whose members fit in one round's budget tells them of a message at once: with rounds
// an hour apart (and flushes too), the notify still comes as soon as the message is stamped.
func TestSmallRoomNotifiesWithoutWaitingForARound(t *testing.T) {
	n := testNode(t, func(c *Config) { c.DispatchInterval, c.FlushInterval = time.Hour, time.Hour })
	ctx := context.Background()
	var sessions [2]*fakeSession
	for i := range sessions {
		sessions[i] = &fakeSession{uid: fmt.Sprintf("v%d", i)}
		_ = n.Connect(sessions[i])
		defer n.Disconnect(sessions[i])
		if _, err := n.Join(ctx, sessions[i], "r-small", JoinOptions{Since: -1}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := n.Send(ctx, "r-small", chat("u", "hi")); err != nil {
		t.Fatal(err)
	}
	for _, s := range sessions {
		testwait.For(t, 2*time.Second, s.uid+" notified", func() bool { return notifies(s) == 1 })
	}
}

// Idle rooms ask for no visit until their keep-alive: the scheduler's next due time is minutes
// away once the joins' work (the first renew check, the pulls' report) is done, however many
// rooms there are.
func TestIdleRoomsWantNoVisitSoon(t *testing.T) {
	n := testNode(t, nil)
	ctx := context.Background()
	for i := 0; i < 50; i++ {
		s := &fakeSession{uid: fmt.Sprintf("v%d", i)}
		_ = n.Connect(s)
		defer n.Disconnect(s)
		if _, err := n.Join(ctx, s, fmt.Sprintf("r-idle-%d", i), JoinOptions{Since: -1}); err != nil {
			t.Fatal(err)
		}
	}
	testwait.For(t, 10*time.Second, "no visit due within a minute", func() bool {
		next := n.sched.earliest()
		return next == 0 || time.Until(time.Unix(0, next)) > time.Minute
	})
	if p := n.sched.pending(); p > 2*50+2 {
		t.Fatalf("%d visits pending for 50 rooms: at most one per grain and one per replica", p)
	}
}

// A grain that stops with subscribers tells them: the replica subscribes again at once, so the
// room's next activation knows its viewers (and delivers to them) without waiting for the
// keep-alive. The grain is asked directly: a send through this node would also bring the
// local replica back (it catches up with what the node stamped).
func TestStoppedGrainRelinksItsReplicas(t *testing.T) {
	n := testNode(t, nil) // LinkKeepAlive: 5 minutes
	ctx := context.Background()
	s := &fakeSession{uid: "v"}
	_ = n.Connect(s)
	defer n.Disconnect(s)
	if _, err := n.Join(ctx, s, "r-move", JoinOptions{Since: -1}); err != nil {
		t.Fatal(err)
	}
	subscribed := func() bool { // the grain counts this node's viewer: a renewal reached it
		res, err := n.request(ctx, "r-move", &pb.InfoRequest{Node: n.cfg.Node})
		reply, ok := res.(*pb.InfoReply)
		return err == nil && ok && reply.NodeViewers == 1
	}
	testwait.For(t, 5*time.Second, "the join's renewal done", subscribed)
	n.mu.Lock()
	pid := n.grains["r-move"]
	n.mu.Unlock()
	_ = n.system.Root.PoisonFuture(pid).Wait()
	testwait.For(t, 3*time.Second, "the next activation has the subscriber", subscribed)
	if _, err := n.Send(ctx, "r-move", chat("u", "after")); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, 2*time.Second, "the viewer notified by the new activation", func() bool { return notifies(s) == 1 })
}

// notifies counts the notify frames a session got (not its counters frames).
func notifies(s *fakeSession) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, f := range s.notifies {
		if strings.Contains(f, `"op":"notify"`) {
			n++
		}
	}
	return n
}
