package rooms

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/liveroom/liveroom/internal/testwait"
)

// testStore is the suite every Store passes. newStore may be called more than once; the stores
// it returns may share their data (as Redis stores on one server do).
func testStore(t *testing.T, newStore func(t *testing.T) Store) {
	ctx := context.Background()
	s := newStore(t)
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	testStoreCounters(t, s)
	if _, found, _, err := s.LoadRoom(ctx, "none"); found || err != nil {
		t.Fatalf("unknown room: found %v err %v", found, err)
	}
	// Every load claims the room: a newer fence each time.
	_, _, f1, err := s.LoadRoom(ctx, "r1")
	if err != nil || f1 == 0 {
		t.Fatalf("claim: fence %d err %v", f1, err)
	}
	state := func() State {
		return State{Epoch: "e1", LastTS: 10, LastSeq: 3, Config: DefaultConfig(),
			Moderation: []ModEntry{{List: Mutes, UID: "m", Until: t0}, {List: Bans, UID: "b"}},
			Protected:  []StoredMessage{{TS: 9, Seq: 2, Pri: 3, Kind: "notice", Body: json.RawMessage(`{"a":"b"}`)}}}
	}
	st, want := state(), state()
	must(t, s.SaveRoom(ctx, "r1", st, f1))
	// The store holds a copy, not the caller's value.
	st.LastSeq = 99
	st.Moderation[0].UID = "changed"
	st.Protected[0].Body[2] = 'X'
	got, found, f2, err := s.LoadRoom(ctx, "r1")
	if err != nil || !found || f2 <= f1 {
		t.Fatalf("load: found %v fence %d after %d, err %v", found, f2, f1, err)
	}
	if !got.Moderation[0].Until.Equal(t0) {
		t.Errorf("until %v, want %v", got.Moderation[0].Until, t0)
	}
	got.Moderation[0].Until = t0 // only the time's location may differ
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("load\n got %+v\nwant %+v", got, want)
	}
	// Nor does a loaded value alias the store.
	got.Moderation[1].UID = "changed"
	again, _, fence, _ := s.LoadRoom(ctx, "r1")
	if again.Moderation[1].UID != "b" {
		t.Fatal("a loaded state aliases the stored one")
	}
	// The older claims are fenced off: their writes fail, the newest one's succeed.
	if err := s.SaveRoom(ctx, "r1", State{Epoch: "stale"}, f2); err != ErrFenced {
		t.Fatalf("save with an older fence: %v, want ErrFenced", err)
	}
	if err := s.SaveHead(ctx, "r1", Head{Epoch: "stale"}, f1); err != ErrFenced {
		t.Fatalf("head with an older fence: %v, want ErrFenced", err)
	}
	if err := s.CheckFence(ctx, "r1", f2); err != ErrFenced {
		t.Fatalf("check of an older fence: %v", err)
	}
	must(t, s.CheckFence(ctx, "r1", fence))
	if err := s.DeleteRoom(ctx, "r1", f1); err != ErrFenced {
		t.Fatalf("delete with an older fence: %v", err)
	}
	// A save replaces.
	must(t, s.SaveRoom(ctx, "r1", State{Epoch: "e1", LastTS: 20, LastSeq: 4, Config: DefaultConfig()}, fence))
	got, _, fence, _ = s.LoadRoom(ctx, "r1")
	if got.LastSeq != 4 || got.Moderation != nil || got.Protected != nil {
		t.Fatalf("after a second save: %+v", got)
	}

	// The head moves the last stamp forward, within the same epoch only.
	must(t, s.SaveHead(ctx, "r1", Head{Epoch: "e1", LastTS: 50, LastSeq: 9}, fence))
	got, _, fence, _ = s.LoadRoom(ctx, "r1")
	if got.LastSeq != 9 || got.LastTS != 50 {
		t.Fatalf("head not applied: %+v", got)
	}
	must(t, s.SaveHead(ctx, "r1", Head{Epoch: "other", LastTS: 99, LastSeq: 99}, fence))
	if got, _, _, _ := s.LoadRoom(ctx, "r1"); got.LastSeq != 4 || got.Epoch != "e1" {
		t.Fatalf("a head of another epoch was applied: %+v", got)
	}
	_, _, hf, _ := s.LoadRoom(ctx, "headless")
	must(t, s.SaveHead(ctx, "headless", Head{Epoch: "e", LastTS: 1, LastSeq: 1}, hf))
	if _, found, _, err := s.LoadRoom(ctx, "headless"); found || err != nil {
		t.Fatalf("a head alone made a room: found %v err %v", found, err)
	}
	// The history index: runs appended by saves come back with the state, ending at its last
	// stamp; a run that neither follows nor overlaps it starts it over; it keeps the last
	// StoredIndex.
	_, _, fence, _ = s.LoadRoom(ctx, "ix")
	must(t, s.SaveRoom(ctx, "ix", State{Epoch: "e", LastTS: 30, LastSeq: 3, Config: DefaultConfig(),
		Index: Index{From: 1, TS: []int64{10, 20, 30}}}, fence))
	must(t, s.SaveHead(ctx, "ix", Head{Epoch: "e", LastTS: 50, LastSeq: 5, Index: Index{From: 4, TS: []int64{40, 50}}}, fence))
	got, _, fence, _ = s.LoadRoom(ctx, "ix")
	if got.Index.From != 1 || fmt.Sprint(got.Index.TS) != "[10 20 30 40 50]" || got.LastSeq != 5 {
		t.Fatalf("index %+v, last seq %d", got.Index, got.LastSeq)
	}
	// A run that overlaps the stored one's end (a save built before the one that landed last)
	// replaces the overlap instead of starting over: the index keeps its older history.
	must(t, s.SaveRoom(ctx, "ix", State{Epoch: "e", LastTS: 60, LastSeq: 6, Config: DefaultConfig(),
		Index: Index{From: 4, TS: []int64{40, 50, 60}}}, fence))
	got, _, fence, _ = s.LoadRoom(ctx, "ix")
	if got.Index.From != 1 || fmt.Sprint(got.Index.TS) != "[10 20 30 40 50 60]" || got.LastSeq != 6 {
		t.Fatalf("after an overlapping run: index %+v, last seq %d", got.Index, got.LastSeq)
	}
	must(t, s.SaveHead(ctx, "ix", Head{Epoch: "e2", LastTS: 70, LastSeq: 1, Index: Index{From: 1, TS: []int64{70}}}, fence))
	must(t, s.SaveRoom(ctx, "ix", State{Epoch: "e2", LastTS: 70, LastSeq: 1, Config: DefaultConfig()}, fence))
	if got, _, _, _ = s.LoadRoom(ctx, "ix"); got.Index.From != 1 || fmt.Sprint(got.Index.TS) != "[70]" {
		t.Fatalf("a new epoch's index %+v", got.Index)
	}
	big := make([]int64, StoredIndex+10)
	for i := range big {
		big[i] = int64(100 + i)
	}
	_, _, fence, _ = s.LoadRoom(ctx, "ix")
	must(t, s.SaveHead(ctx, "ix", Head{Epoch: "e2", LastTS: big[len(big)-1], LastSeq: uint64(1 + len(big)), Index: Index{From: 2, TS: big}}, fence))
	got, _, _, _ = s.LoadRoom(ctx, "ix")
	if len(got.Index.TS) != StoredIndex || got.Index.From != uint64(2+len(big)-StoredIndex) || got.Index.TS[0] != big[10] {
		t.Fatalf("trimmed index: from %d, %d entries, first %d", got.Index.From, len(got.Index.TS), got.Index.TS[0])
	}
	// An index that does not end at the state's last stamp is not returned.
	_, _, fence, _ = s.LoadRoom(ctx, "ix")
	must(t, s.SaveRoom(ctx, "ix", State{Epoch: "e2", LastTS: 1 << 40, LastSeq: 1 << 20, Config: DefaultConfig()}, fence))
	if got, _, _, _ = s.LoadRoom(ctx, "ix"); got.Index.TS != nil {
		t.Fatalf("an index behind the state: %+v", got.Index.From)
	}

	// A deleted room is gone, claim included (the next claim may start over).
	_, _, fence, _ = s.LoadRoom(ctx, "gone")
	must(t, s.SaveRoom(ctx, "gone", State{Epoch: "e", Config: DefaultConfig()}, fence))
	must(t, s.DeleteRoom(ctx, "gone", fence))
	if _, found, _, err := s.LoadRoom(ctx, "gone"); found || err != nil {
		t.Fatalf("a deleted room: found %v err %v", found, err)
	}

	// Active rooms.
	for _, r := range []string{"b", "a", "c"} {
		must(t, s.MarkActive(ctx, r, true))
	}
	must(t, s.MarkActive(ctx, "c", false))
	if got, err := s.ActiveRooms(ctx); err != nil || fmt.Sprint(got) != "[a b]" {
		t.Fatalf("active rooms %v %v", got, err)
	}
	// The node directory keeps the nodes heard from since a time.
	must(t, s.Heartbeat(ctx, "n1", NodeAddr{WS: "ws://a/v1/ws", Actor: "10.0.0.1:7000"}, t0))
	must(t, s.Heartbeat(ctx, "n2", NodeAddr{WS: "ws://b/v1/ws", Actor: "10.0.0.2:7000"}, t0.Add(10*time.Second)))
	must(t, s.Heartbeat(ctx, "m1", NodeAddr{Actor: "10.0.0.3:7000"}, t0.Add(10*time.Second))) // takes no viewers
	wantNodes := map[string]NodeAddr{"n2": {WS: "ws://b/v1/ws", Actor: "10.0.0.2:7000"}, "m1": {Actor: "10.0.0.3:7000"}}
	if got, err := s.Nodes(ctx, t0.Add(5*time.Second)); err != nil || !maps.Equal(got, wantNodes) {
		t.Fatalf("nodes %v %v, want %v", got, err, wantNodes)
	}

	// Safe for concurrent use: rooms saved and loaded from several goroutines.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			room := fmt.Sprintf("c%d", g)
			for i := uint64(1); i <= 20; i++ {
				_, _, fence, err := s.LoadRoom(ctx, room)
				if err != nil {
					errs <- err
					return
				}
				if err := s.SaveRoom(ctx, room, State{Epoch: "e", LastSeq: i, Config: DefaultConfig()}, fence); err != nil {
					errs <- err
					return
				}
				if got, found, _, err := s.LoadRoom(ctx, room); err != nil || !found || got.LastSeq != i {
					errs <- fmt.Errorf("%s: load %d: %+v %v %v", room, i, got, found, err)
					return
				}
				_ = s.MarkActive(ctx, room, i%2 == 0)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	testDirectory(t, s)
	must(t, s.Close())
}

// testDirectory: the uid directory lists a uid's sessions oldest first, from every store on
// the same data, and forgets detached ones.
func testDirectory(t *testing.T, s Store) {
	ctx := context.Background()
	base := time.UnixMilli(1_732_280_000_123)
	attach := func(id string, at time.Time) []DirEntry {
		t.Helper()
		es, err := s.AttachSession(ctx, "dir-u", id, at, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return es
	}
	attach("n2|b", base.Add(2*time.Second))
	attach("n1|a", base)
	got := attach("n1|c", base) // same time as a: ties go by id
	want := []DirEntry{{"n1|a", base.UnixMicro()}, {"n1|c", base.UnixMicro()}, {"n2|b", base.Add(2 * time.Second).UnixMicro()}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("entries %v, want %v", got, want)
	}
	must(t, s.DetachSessions(ctx, "dir-u", "n1|a", "unknown"))
	must(t, s.DetachSessions(ctx, "dir-u"))
	if got := attach("n3|d", base.Add(time.Second)); len(got) != 3 || got[0].ID != "n1|c" || got[1].ID != "n3|d" {
		t.Fatalf("after detach: %v", got)
	}
	if got, _ := s.AttachSession(ctx, "dir-other", "x", base, time.Hour); len(got) != 1 {
		t.Fatalf("another uid sees %v", got)
	}
	must(t, s.DetachSessions(ctx, "dir-u", "n1|c", "n2|b", "n3|d"))
	must(t, s.DetachSessions(ctx, "dir-other", "x"))
}

func TestMemoryStore(t *testing.T) {
	testStore(t, func(*testing.T) Store { return NewMemoryStore() })
	testRetention(t, NewMemoryStore(StoreOptions{Retention: 100 * time.Millisecond}))
}

// testRetention: a room's state is forgotten Retention after its last save, whoever loads it
// meanwhile (a claim does not renew it).
func testRetention(t *testing.T, s Store) {
	ctx := context.Background()
	_, _, fence, err := s.LoadRoom(ctx, "brief")
	must(t, err)
	must(t, s.SaveRoom(ctx, "brief", State{Epoch: "e", LastSeq: 1, Config: DefaultConfig()}, fence))
	saved := time.Now()
	if _, found, _, _ := s.LoadRoom(ctx, "brief"); !found {
		t.Fatal("not found right after its save")
	}
	testwait.For(t, 5*time.Second, "the state to expire", func() bool {
		_, found, _, _ := s.LoadRoom(ctx, "brief")
		return !found
	})
	if gone := time.Since(saved); gone < 100*time.Millisecond {
		t.Fatalf("forgotten %v after its save, before the retention", gone)
	}
}
