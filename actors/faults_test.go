//go:build !race

// Faults of the store and of room activations, on one node (see node_test.go for why these
// tests run without -race). The multi-process faults (kill -9, SIGSTOP, restarts) are in e2e/.

package actors

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/liveroom/liveroom/internal/testwait"
	"github.com/liveroom/liveroom/ring"
	"github.com/liveroom/liveroom/rooms"
)

// gateStore is a store whose room writes can be made to hang (as a Redis stopped with SIGSTOP:
// a call returns only when its context ends) or fail, and then work again.
type gateStore struct {
	rooms.Store
	mu     sync.Mutex
	gate   chan struct{} // closed: writes go through
	fail   bool
	writes int        // writes that went through
	hold   *heldWrite // the next room write waits (holdOne)
}

// heldWrite is one room write made to wait: held is closed once it waits, release lets it go
// on, landed is closed once the store has it (or refused it).
type heldWrite struct{ held, release, landed chan struct{} }

// holdOne makes the next room write (only that one) wait until it is released, as a write
// already on its way to the store: it lands whatever its caller's context says meanwhile.
func (s *gateStore) holdOne() *heldWrite {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hold = &heldWrite{held: make(chan struct{}), release: make(chan struct{}), landed: make(chan struct{})}
	return s.hold
}

// holding makes the calling write wait if it is the held one; the returned func marks it
// landed (a no-op for the others).
func (s *gateStore) holding() func() {
	s.mu.Lock()
	h := s.hold
	s.hold = nil
	s.mu.Unlock()
	if h == nil {
		return func() {}
	}
	close(h.held)
	<-h.release
	return func() { close(h.landed) }
}

func newGateStore() *gateStore {
	g := &gateStore{Store: rooms.NewMemoryStore(), gate: make(chan struct{})}
	close(g.gate)
	return g
}

func (s *gateStore) hang() {
	s.mu.Lock()
	s.gate = make(chan struct{})
	s.mu.Unlock()
}

func (s *gateStore) open() {
	s.mu.Lock()
	select {
	case <-s.gate:
	default:
		close(s.gate)
	}
	s.fail = false
	s.mu.Unlock()
}

func (s *gateStore) wait(ctx context.Context) error {
	s.mu.Lock()
	gate, fail := s.gate, s.fail
	s.mu.Unlock()
	if fail {
		return errors.New("gate: refused")
	}
	select {
	case <-gate:
		s.mu.Lock()
		s.writes++
		s.mu.Unlock()
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *gateStore) SaveRoom(ctx context.Context, room string, st rooms.State, fence uint64) error {
	defer s.holding()()
	if err := s.wait(ctx); err != nil {
		return err
	}
	return s.Store.SaveRoom(ctx, room, st, fence)
}

func (s *gateStore) SaveHead(ctx context.Context, room string, h rooms.Head, fence uint64) error {
	defer s.holding()()
	if err := s.wait(ctx); err != nil {
		return err
	}
	return s.Store.SaveHead(ctx, room, h, fence)
}

func (s *gateStore) LoadRoom(ctx context.Context, room string) (rooms.State, bool, uint64, error) {
	if err := s.wait(ctx); err != nil {
		return rooms.State{}, false, 0, err
	}
	return s.Store.LoadRoom(ctx, room)
}

func notice(n int, cmid string) rooms.SendRequest {
	return rooms.SendRequest{Kind: "notice", Pri: ring.System, Body: []byte(fmt.Sprintf(`{"n":%d}`, n)), CMID: cmid, Source: rooms.FromAdmin}
}

// A store that hangs never blocks the room: with the store stopped, every post (chat and
// notices) is still acknowledged, each within a bound of StoreWait (a protected message waits
// at most that once, then the room delivers without the store, counted); readiness says so;
// when the store answers again the room is durable again and the store holds every stamp it
// delivered.
func TestHungStoreNeverBlocksTheRoom(t *testing.T) {
	st := newGateStore()
	n := testNode(t, func(c *Config) {
		c.Store, c.DurableStamps, c.StoreWait = st, true, 100*time.Millisecond
	})
	ctx := context.Background()
	if _, err := n.Send(ctx, "r-hang", chat("u", "before")); err != nil {
		t.Fatal(err)
	}
	s := &fakeSession{uid: "v"}
	_ = n.Connect(s)
	defer n.Disconnect(s)
	j, err := n.Join(ctx, s, "r-hang", JoinOptions{Since: -1})
	if err != nil {
		t.Fatal(err)
	}
	st.hang()
	var worst time.Duration
	var last rooms.Stamp
	for i := 0; i < 40; i++ {
		req := chat("u", fmt.Sprint(i))
		if i%4 == 0 {
			req = notice(i, fmt.Sprint("n", i))
		}
		began := time.Now()
		c, cancel := context.WithTimeout(ctx, 2*time.Second)
		stamp, err := n.Send(c, "r-hang", req)
		cancel()
		if err != nil {
			t.Fatalf("post %d with the store hung: %v", i, err)
		}
		worst = max(worst, time.Since(began))
		last = stamp
	}
	// One wait of StoreWait at the start of the outage, then no waiting at all.
	if worst > 100*time.Millisecond+500*time.Millisecond {
		t.Fatalf("the slowest post took %v with a StoreWait of 100ms", worst)
	}
	t.Logf("slowest acknowledgement with the store hung: %v", worst)
	if err := n.Ready(ctx); err == nil || !strings.Contains(err.Error(), "without it") {
		t.Fatalf("readiness with the store hung: %v", err)
	}
	info, _ := n.Info(ctx, "r-hang")
	if !info.Undurable || metricValue(t, n, "liveroom_undurable_total", "system") != 10 {
		t.Fatalf("undurable %v, counted %v system notices", info.Undurable, metricValue(t, n, "liveroom_undurable_total", "system"))
	}
	// The viewer got every message while the store hung.
	testwait.For(t, 2*time.Second, "the viewer's replica has the last post", func() bool { _, _, seq := j.Member.(*Member).r.head(); return seq == last.Seq })
	st.open()
	testwait.For(t, 5*time.Second, "the room durable again", func() bool { return n.Ready(ctx) == nil })
	c, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	saved, found, _, err := st.Store.LoadRoom(c, "r-hang")
	if err != nil || !found || saved.LastSeq < last.Seq || len(saved.Protected) != 10 {
		t.Fatalf("the store after the outage: seq %d (want %d), %d notices (want 10), found %v, %v", saved.LastSeq, last.Seq, len(saved.Protected), found, err)
	}
}

// Two activations of one room: the older one (a node frozen while the room moved) can neither
// save nor deliver once the newer one has claimed the room; its waiting sender is refused
// (and retries), and no seq is stamped twice.
func TestStaleActivationIsFencedOff(t *testing.T) {
	st := newGateStore()
	n := testNode(t, func(c *Config) { c.Store, c.DurableStamps = st, true })
	ctx := context.Background()
	first, err := n.Send(ctx, "r-fence", notice(1, "a"))
	if err != nil {
		t.Fatal(err)
	}
	// Another activation claims the room (what a survivor's activation does in the store).
	c, cancel := context.WithTimeout(ctx, time.Second)
	_, _, _, err = st.Store.LoadRoom(c, "r-fence")
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Send(ctx, "r-fence", notice(2, "b")); rooms.CodeOf(err) != rooms.CodeUnavailable {
		t.Fatalf("a post to the fenced activation: %v, want unavailable", err)
	}
	testwait.For(t, 2*time.Second, "the fenced grain to stop", func() bool {
		n.mu.Lock()
		defer n.mu.Unlock()
		_, ok := n.grains["r-fence"]
		return !ok
	})
	// The retry reaches a new activation, which continues the seq from the store.
	again, err := n.Send(ctx, "r-fence", notice(2, "b"))
	if err != nil || again.Seq != first.Seq+1 || again.Dup {
		t.Fatalf("retry after the fence: %+v %v (first was seq %d)", again, err, first.Seq)
	}
	if metricValue(t, n, "liveroom_rooms_fenced_total", "") != 1 {
		t.Fatal("the fenced activation was not counted")
	}
}

// An activation that finds a replica ahead of it in the same epoch (an earlier activation
// delivered stamps without the store, then was lost) starts a new epoch instead of stamping
// those seqs again; the viewers' replica follows it.
func TestDivergedStampsStartANewEpoch(t *testing.T) {
	st := newGateStore()
	n := testNode(t, func(c *Config) {
		c.Store, c.DurableStamps, c.StoreWait = st, true, 50*time.Millisecond
		c.RenewInterval = 100 * time.Millisecond
	})
	ctx := context.Background()
	s := &fakeSession{uid: "v"}
	_ = n.Connect(s)
	defer n.Disconnect(s)
	j, err := n.Join(ctx, s, "r-div", JoinOptions{Since: -1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Send(ctx, "r-div", notice(0, "")); err != nil { // saved: the room's state exists
		t.Fatal(err)
	}
	epoch, _, _ := j.Member.(*Member).r.head()
	st.hang() // these three are delivered without the store
	var last rooms.Stamp
	for i := 0; i < 3; i++ {
		if last, err = n.Send(ctx, "r-div", chat("u", fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	testwait.For(t, 2*time.Second, "the replica has them", func() bool { _, _, seq := j.Member.(*Member).r.head(); return seq == last.Seq })
	// The grain is lost with the store still down (its stop cannot save), then the store
	// comes back: the next activation reads the old head.
	st.mu.Lock()
	st.fail = true
	st.mu.Unlock()
	n.mu.Lock()
	pid := n.grains["r-div"]
	n.mu.Unlock()
	_ = n.system.Root.PoisonFuture(pid).Wait()
	st.open()
	testwait.For(t, 5*time.Second, "the replica on a new epoch", func() bool { e, _, _ := j.Member.(*Member).r.head(); return e != epoch })
	stamp, err := n.Send(ctx, "r-div", chat("u", "after"))
	if err != nil || stamp.Seq != 1 {
		t.Fatalf("first post of the new epoch: %+v %v", stamp, err)
	}
	if metricValue(t, n, "liveroom_rooms_diverged_total", "") != 1 {
		t.Fatal("the divergence was not counted")
	}
}

// A grain that stops while a save is on its way does not let that older write land after its
// final one: the next activation would read a head behind what was delivered and stamp those
// seqs again (seen as viewers' accounting errors after a rolling restart's room moves), or
// lose the notices of the final save.
func TestStopWaitsForTheSaveInFlight(t *testing.T) {
	st := newGateStore()
	n := testNode(t, func(c *Config) { c.Store, c.DurableStamps, c.StoreWait = st, true, 5*time.Second })
	ctx := context.Background()
	if _, err := n.Send(ctx, "r-stop", notice(0, "n0")); err != nil {
		t.Fatal(err)
	}
	w := st.holdOne()
	sent := make(chan error, 2)
	go func() { _, err := n.Send(ctx, "r-stop", notice(1, "")); sent <- err }()
	<-w.held // the save of n1 is on its way
	go func() { _, err := n.Send(ctx, "r-stop", notice(2, "")); sent <- err }()
	testwait.For(t, 2*time.Second, "n2 stamped", func() bool {
		info, err := n.Info(ctx, "r-stop")
		return err == nil && info.Stats.Accepted == 3
	})
	n.mu.Lock()
	pid := n.grains["r-stop"]
	n.mu.Unlock()
	stopped := make(chan struct{})
	go func() { _ = n.system.Root.PoisonFuture(pid).Wait(); close(stopped) }()
	// A stop that does not wait saves at once and is over; one that waits is still waiting.
	select {
	case <-stopped:
	case <-time.After(300 * time.Millisecond):
	}
	close(w.release)
	<-stopped
	for i := 0; i < 2; i++ {
		if err := <-sent; err != nil {
			t.Fatalf("post acknowledged with %v", err)
		}
	}
	<-w.landed
	c, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	saved, _, _, err := st.Store.LoadRoom(c, "r-stop")
	if err != nil || saved.LastSeq != 3 || len(saved.Protected) != 3 {
		t.Fatalf("the store after the stop: seq %d (want 3), %d notices (want 3), %v", saved.LastSeq, len(saved.Protected), err)
	}
	// The history index still starts at seq 1: the next activation's Dropped is exact for a
	// since anywhere in it (a final save that restarted the index at its own first seq left
	// the viewers who resume from an older since with a wrong count).
	if saved.Index.From != 1 || len(saved.Index.TS) != 3 {
		t.Fatalf("the stored history index after the stop: from seq %d, %d entries (want from 1, 3)", saved.Index.From, len(saved.Index.TS))
	}
}

// metricValue reads a counter or gauge of the node's registry (label: the value of its only
// label, "" for none); 0 when absent.
func metricValue(t *testing.T, n *Node, name, label string) float64 {
	t.Helper()
	mfs, err := n.metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if label != "" && (len(m.GetLabel()) != 1 || m.GetLabel()[0].GetValue() != label) {
				continue
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

// One session cannot pin the heap through the window cache: pulling the same 200 messages of
// 4 KB with 64 different since values (and limits) keeps the replica's cache within its byte
// bound, and windows that are the same window share one entry.
func TestWindowCacheIsBoundedInBytes(t *testing.T) {
	n := testNode(t, nil)
	ctx := context.Background()
	body := []byte(`"` + strings.Repeat("x", 4000) + `"`)
	var stamps []rooms.Stamp
	for i := 0; i < 200; i++ {
		st, err := n.Send(ctx, "r-cache", rooms.SendRequest{UID: "u", Kind: "chat", Pri: ring.Normal, Body: body, Source: rooms.FromServer})
		if err != nil {
			t.Fatal(err)
		}
		stamps = append(stamps, st)
	}
	s := &fakeSession{uid: "v"}
	_ = n.Connect(s)
	defer n.Disconnect(s)
	j, err := n.Join(ctx, s, "r-cache", JoinOptions{Since: 0})
	if err != nil {
		t.Fatal(err)
	}
	r := j.Member.(*Member).r
	testwait.For(t, 2*time.Second, "the replica has them", func() bool { _, _, seq := r.head(); return seq == 200 })
	for i := 0; i < 64; i++ {
		j.Member.Pull(ctx, int64(i), 200)         // since 0..63: all before the first message, one window
		j.Member.Pull(ctx, stamps[i].TS, 200-i%7) // 64 different windows of up to 800 KB
	}
	r.cmu.Lock()
	bytes, entries := r.bytes, r.cache.Len()
	r.cmu.Unlock()
	if bytes > windowCacheBytes || n.cacheBytes.Load() != int64(bytes) {
		t.Fatalf("cache holds %d bytes in %d entries (bound %d), node counts %d", bytes, entries, windowCacheBytes, n.cacheBytes.Load())
	}
	t.Logf("after 128 pulls of windows up to 800 KB: %d entries, %d bytes cached", entries, bytes)
	// The 64 pulls from before the first message share one encoding.
	before := r.encodes.Load()
	for i := 0; i < 64; i++ {
		j.Member.Pull(ctx, int64(i), 50)
	}
	if got := r.encodes.Load() - before; got > 1 {
		t.Fatalf("64 pulls of one window encoded it %d times", got)
	}
}
