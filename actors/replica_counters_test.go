package actors

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/liveroom/liveroom/actors/pb"
	"github.com/liveroom/liveroom/rooms"
)

// frameSession keeps the frames a round wrote to it.
type frameSession struct {
	mu     sync.Mutex
	frames []string
	calls  int // Notify calls that wrote: one write each
	busy   bool
}

func (s *frameSession) UID() string { return "v" }
func (s *frameSession) Notify(f *SharedFrame) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.busy {
		return false
	}
	s.calls++
	s.frames = append(s.frames, string(f.Data))
	if f.Then != nil {
		s.frames = append(s.frames, string(f.Then.Data))
	}
	return true
}
func (s *frameSession) Push(f *SharedFrame) bool { return s.Notify(f) }
func (s *frameSession) Kick(string, string)      {}
func (s *frameSession) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.frames)
}

// counterReplica is a replica of n members, outside any actor system, that has heard the
// grain's totals.
func counterReplica(n int) (*replicaActor, []*Member, []*frameSession) {
	a, members := benchReplica(0)
	a.r.pid = actor.NewPID("local", "replica/r")
	sessions := make([]*frameSession, n)
	for i := range sessions {
		sessions[i] = &frameSession{}
		m := &Member{r: a.r, sess: sessions[i]}
		a.add(m)
		a.r.local.Add(1)
		members = append(members, m)
	}
	return a, members, sessions
}

// Every viewer's adds of a round, however many, reach the grain as one message with their
// sum; the next round has nothing to send.
func TestCounterAddsConflated(t *testing.T) {
	a, members, _ := counterReplica(50)
	ctx := context.Background()
	var wg sync.WaitGroup
	for _, m := range members {
		wg.Add(1)
		go func(m *Member) {
			defer wg.Done()
			for i := 0; i < rooms.AddsPerSecond; i++ {
				if err := m.Add(ctx, "likes", 3, false); err != nil {
					t.Error(err)
				}
			}
		}(m)
	}
	wg.Wait()
	msg, waiters := a.takeFlush()
	if msg == nil || len(waiters) != 0 {
		t.Fatalf("flush %v, %d waiters", msg, len(waiters))
	}
	if want := int64(50 * rooms.AddsPerSecond * 3); msg.Adds["likes"] != want || msg.Count != 50*rooms.AddsPerSecond || len(msg.Adds) != 1 {
		t.Fatalf("one flush: %v count %d, want likes=%d", msg.Adds, msg.Count, want)
	}
	if again, _ := a.takeFlush(); again != nil {
		t.Fatalf("a second flush without adds: %v", again)
	}
	// Over the per-session limit: rate_limited, counted in the next flush, not summed.
	err := members[0].Add(ctx, "likes", 1, false)
	if rooms.CodeOf(err) != rooms.CodeRateLimited {
		t.Fatalf("21st add in a second: %v", err)
	}
	msg, _ = a.takeFlush()
	if msg == nil || msg.RateLimited != 1 || len(msg.Adds) != 0 || msg.Serial != 2 {
		t.Fatalf("rate-limited flush: %+v", msg)
	}
}

// A 17th counter name is refused on the node, before it reaches the grain.
func TestCounterNameCap(t *testing.T) {
	a, members, _ := counterReplica(1)
	known := map[string]int64{}
	for i := 0; i < rooms.MaxCounters-1; i++ {
		known[string(rune('a'+i))] = 1
	}
	a.counterTotals(&pb.CounterTotals{Values: known, IntervalMs: 1000})
	m := members[0]
	if err := m.Add(context.Background(), "sixteenth", 1, false); err != nil {
		t.Fatal(err)
	}
	if err := m.Add(context.Background(), "seventeenth", 1, false); rooms.CodeOf(err) != rooms.CodeBadRequest {
		t.Fatalf("17th counter: %v", err)
	}
	if err := m.Add(context.Background(), "a", 1, false); err != nil {
		t.Fatal(err)
	}
}

// A member gets a counters frame at most once per interval, and none while nothing changed
// since its last one.
func TestCounterFramesPaced(t *testing.T) {
	a, members, sessions := counterReplica(3)
	t0 := time.Now()
	for _, m := range members {
		m.joinCounters(nil, 3, t0) // joined showed no counters and 3 online
	}
	a.counterRound(t0)
	if n := sessions[0].count(); n != 0 {
		t.Fatalf("%d frames before the grain's totals", n)
	}
	a.counterTotals(&pb.CounterTotals{Values: map[string]int64{"likes": 5}, Online: 3, IntervalMs: 1000})
	a.reported = 3 // this node's 3 viewers are all the room's
	a.counterTotals(&pb.CounterTotals{Values: map[string]int64{"likes": 5}, Online: 3, IntervalMs: 1000})
	a.counterRound(t0.Add(10 * time.Millisecond))
	for i, s := range sessions {
		if n := s.count(); n != 0 {
			t.Fatalf("session %d: %d frames within the interval after joined", i, n)
		}
	}
	t1 := t0.Add(time.Second)
	a.counterRound(t1)
	for i, s := range sessions {
		if n := s.count(); n != 1 {
			t.Fatalf("session %d: %d frames after the interval, want 1", i, n)
		}
		var f struct {
			Op       string           `json:"op"`
			Room     string           `json:"room"`
			Counters map[string]int64 `json:"counters"`
			Online   int64            `json:"online"`
		}
		if err := json.Unmarshal([]byte(s.frames[0]), &f); err != nil || f.Op != "counters" || f.Room != "bench" ||
			f.Counters["likes"] != 5 || f.Online != 3 {
			t.Fatalf("frame %s (%v)", s.frames[0], err)
		}
	}
	// Unchanged: nothing, however many rounds and however long.
	for i := 1; i <= 5; i++ {
		a.counterRound(t1.Add(time.Duration(i) * time.Second))
	}
	a.counterTotals(&pb.CounterTotals{Values: map[string]int64{"likes": 5}, Online: 3, IntervalMs: 1000})
	a.counterRound(t1.Add(10 * time.Second))
	if n := sessions[0].count(); n != 1 {
		t.Fatalf("%d frames while nothing changed", n)
	}
	// Changed twice within one interval: one frame, with the latest totals, once due.
	t2 := t1.Add(20 * time.Second)
	a.counterTotals(&pb.CounterTotals{Values: map[string]int64{"likes": 6}, Online: 3, IntervalMs: 1000})
	a.counterRound(t2)
	a.counterTotals(&pb.CounterTotals{Values: map[string]int64{"likes": 7}, Online: 3, IntervalMs: 1000})
	a.counterRound(t2.Add(100 * time.Millisecond))
	a.counterRound(t2.Add(900 * time.Millisecond))
	if n := sessions[0].count(); n != 2 {
		t.Fatalf("%d frames, want 2", n)
	}
	a.counterRound(t2.Add(time.Second))
	if n := sessions[0].count(); n != 3 || sessions[0].frames[2] != `{"op":"counters","room":"bench","counters":{"likes":7},"online":3}` {
		t.Fatalf("%d frames, last %s", n, sessions[0].frames[len(sessions[0].frames)-1])
	}
	// A viewer leaving changes online: a frame once due. A busy session is tried next round.
	a.r.local.Add(-1)
	sessions[1].busy = true
	t3 := t2.Add(5 * time.Second)
	a.counterRound(t3)
	if sessions[0].count() != 4 || sessions[1].count() != 3 {
		t.Fatalf("online change: %d and %d frames", sessions[0].count(), sessions[1].count())
	}
	sessions[1].busy = false
	a.counterRound(t3.Add(50 * time.Millisecond))
	if sessions[1].count() != 4 || sessions[0].count() != 4 {
		t.Fatalf("after busy: %d and %d frames", sessions[0].count(), sessions[1].count())
	}
}

// A changed frame is written to its old holders once they are paced, without a pass over the
// members before that; a value that comes back (online 3, 4, 3) and changes again still
// reaches a member that held it.
func TestCounterFrameChangeWaitsForPace(t *testing.T) {
	a, members, sessions := counterReplica(2)
	t0 := time.Now()
	for _, m := range members {
		m.joinCounters(nil, 2, t0)
	}
	a.reported = 2
	a.counterTotals(&pb.CounterTotals{Values: map[string]int64{"likes": 1}, Online: 2, IntervalMs: 1000})
	a.counterRound(t0.Add(time.Second)) // likes 1: both get it
	if sessions[0].count() != 1 || sessions[1].count() != 1 {
		t.Fatalf("%d and %d frames", sessions[0].count(), sessions[1].count())
	}
	t1 := t0.Add(time.Second)
	a.r.local.Add(1) // online 3
	a.counterRound(t1.Add(100 * time.Millisecond))
	if want := t1.Add(time.Second).UnixNano(); a.cnt.due != want {
		t.Fatalf("due %d after a change, want the holders' pace %d", a.cnt.due, want)
	}
	a.r.local.Add(-1) // back to the frame they hold
	a.counterRound(t1.Add(200 * time.Millisecond))
	a.counterRound(t1.Add(time.Second)) // a pass: both hold the current frame
	if sessions[0].count() != 1 {
		t.Fatalf("%d frames for the value they hold", sessions[0].count())
	}
	a.r.local.Add(2) // online 4, past the pace of the frame they got at t1
	a.counterRound(t1.Add(1100 * time.Millisecond))
	for i, s := range sessions {
		if s.count() != 2 || s.frames[1] != `{"op":"counters","room":"bench","counters":{"likes":1},"online":4}` {
			t.Fatalf("session %d: %d frames %q", i, s.count(), s.frames)
		}
	}
}

// BenchmarkCounterJoins is a viewer joining a room of b.N members: the join changes online,
// and the replica's visits that follow must not pass over every member each time.
func BenchmarkCounterJoins(b *testing.B) {
	a, _, _ := counterReplica(0)
	a.counterTotals(&pb.CounterTotals{Values: map[string]int64{"likes": 1}, Online: 0, IntervalMs: 1000})
	now := time.Now()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		m := &Member{r: a.r, sess: &countSession{}}
		m.joinCounters(nil, int64(i), now)
		a.add(m)
		a.r.local.Add(1)
		now = now.Add(time.Millisecond)
		a.counterRound(now)
	}
}

// A member due for counters in the round that notifies it gets both in one write, the notify
// first; a push member gets its window with the counters inside while its online count is
// the room's, and followed by the counters frame once online changed. A member whose notify is
// coming (its pull in progress) waits for it up to one pace before it gets the counters frame
// alone; one with nothing coming gets it at once.
func TestCountersRideWithTheRound(t *testing.T) {
	a, members, sessions := counterReplica(3)
	members[1].push = true
	t0 := time.Now()
	for _, m := range members {
		m.joinCounters(nil, 3, t0)
	}
	a.reported = 3
	a.counterTotals(&pb.CounterTotals{Values: map[string]int64{"likes": 5}, Online: 3, IntervalMs: 1000})
	ts := t0.UnixMicro()
	appendMsgs(a, 2, &ts)
	last := func(s *frameSession, k int) []string {
		t.Helper()
		s.mu.Lock()
		defer s.mu.Unlock()
		if len(s.frames) < k {
			t.Fatalf("%d frames, want at least %d: %q", len(s.frames), k, s.frames)
		}
		return append([]string(nil), s.frames[len(s.frames)-k:]...)
	}
	const counters5 = `{"op":"counters","room":"bench","counters":{"likes":5},"online":3}`
	shared := testutil.ToFloat64(a.r.node.metrics.CounterFramesShared)

	t1 := t0.Add(time.Second)
	a.round(t1)
	for _, i := range []int{0, 2} {
		if f := last(sessions[i], 2); sessions[i].calls != 1 || !strings.HasPrefix(f[0], `{"op":"notify"`) || f[1] != counters5 {
			t.Fatalf("member %d: %d writes, frames %q", i, sessions[i].calls, f)
		}
	}
	if f := last(sessions[1], 1); sessions[1].calls != 1 || !strings.HasPrefix(f[0], `{"op":"msgs"`) || !strings.HasSuffix(f[0], `,"counters":{"likes":5}}`) {
		t.Fatalf("push member: %d writes, frames %q", sessions[1].calls, f)
	}
	a.counterRound(t1)
	if n := sessions[0].count() + sessions[1].count() + sessions[2].count(); n != 5 {
		t.Fatalf("%d frames after the counter round: the round's counters went again", n)
	}

	// One viewer fewer: online changed; the push member's next window carries the frame behind it.
	a.r.local.Add(-1)
	t2 := t1.Add(time.Second)
	appendMsgs(a, 1, &ts)
	a.round(t2)
	const counters5of2 = `{"op":"counters","room":"bench","counters":{"likes":5},"online":2}`
	if f := last(sessions[1], 2); sessions[1].calls != 2 || !strings.HasPrefix(f[0], `{"op":"msgs"`) || strings.Contains(f[0], `"counters"`) || f[1] != counters5of2 {
		t.Fatalf("push member after online changed: %d writes, frames %q", sessions[1].calls, f)
	}
	// The notify members' pulls are in progress: their counters wait for the next notify, one
	// pace (DispatchInterval here) at most.
	a.counterRound(t2)
	if sessions[0].count() != 2 {
		t.Fatalf("counters frame at once while a notify is coming: %q", last(sessions[0], 1))
	}
	a.counterRound(t2.Add(a.r.node.cfg.DispatchInterval))
	if f := last(sessions[0], 1); sessions[0].calls != 2 || f[0] != counters5of2 {
		t.Fatalf("after the hold: %d writes, frames %q", sessions[0].calls, f)
	}
	// New totals. Up to date with the messages and no pull in progress: nothing is coming, no
	// hold; member 0's pull is still in progress: it waits.
	m := members[2]
	m.markAt.Store(0)
	m.pulledTS.Store(a.lastTS)
	a.counterTotals(&pb.CounterTotals{Values: map[string]int64{"likes": 6}, Online: 3, IntervalMs: 1000})
	t3 := t2.Add(time.Second + a.r.node.cfg.DispatchInterval)
	a.counterRound(t3)
	if f := last(sessions[2], 1); f[0] != `{"op":"counters","room":"bench","counters":{"likes":6},"online":2}` {
		t.Fatalf("nothing coming: frames %q", f)
	}
	if f := last(sessions[0], 1); f[0] != counters5of2 {
		t.Fatalf("a notify coming: frames %q", f)
	}
	if got := testutil.ToFloat64(a.r.node.metrics.CounterFramesShared) - shared; got != 4 {
		t.Errorf("%v counters frames shared a write, want 4", got)
	}
}
