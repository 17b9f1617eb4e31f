package rooms

import (
	"fmt"
	"testing"
	"time"
)

func TestModerationTTL(t *testing.T) {
	var m Moderation
	must(t, m.Set(ModOp{List: Bans, UID: "a", Set: true, TTL: time.Minute}, t0))
	must(t, m.Set(ModOp{List: Mutes, UID: "b", Set: true}, t0))
	f := func(list List, uid string, at time.Duration, want bool) {
		t.Helper()
		if got := m.Has(list, uid, t0.Add(at)); got != want {
			t.Errorf("Has(%v, %q, +%v) = %v, want %v", list, uid, at, got, want)
		}
	}
	f(Bans, "a", 0, true)
	f(Bans, "a", time.Minute-time.Nanosecond, true)
	f(Mutes, "b", 100*365*24*time.Hour, true) // forever
	f(Bans, "b", 0, false)                    // lists are separate
	f(Whitelist, "b", 0, false)
	f(List(9), "b", 0, false)
	f(Bans, "a", time.Minute, false) // expires at exactly now+TTL
	if m.Len(Bans) != 0 {
		t.Error("an expired entry read by Has was not dropped")
	}

	// A put replaces the expiry, both ways; a delete removes.
	must(t, m.Set(ModOp{List: Mutes, UID: "b", Set: true, TTL: time.Second}, t0))
	f(Mutes, "b", time.Second, false)
	must(t, m.Set(ModOp{List: Mutes, UID: "b", Set: true, TTL: time.Second}, t0))
	must(t, m.Set(ModOp{List: Mutes, UID: "b", Set: true}, t0))
	f(Mutes, "b", time.Hour, true)
	must(t, m.Set(ModOp{List: Mutes, UID: "b"}, t0))
	f(Mutes, "b", 0, false)
	must(t, m.Set(ModOp{List: Mutes, UID: "never-set"}, t0)) // deleting what is absent is fine
}

func TestModerationBadOps(t *testing.T) {
	var m Moderation
	f := func(op ModOp) {
		t.Helper()
		if err := m.Set(op, t0); CodeOf(err) != CodeBadRequest {
			t.Errorf("%+v: err %v, want bad_request", op, err)
		}
	}
	f(ModOp{List: 7, UID: "x", Set: true})
	f(ModOp{List: Bans, UID: "x", Set: true, TTL: -time.Second})
	f(ModOp{List: Bans, UID: "", Set: true})
}

func TestModerationSweepAndEntries(t *testing.T) {
	var m Moderation
	must(t, m.Set(ModOp{List: Whitelist, UID: "w2", Set: true, TTL: time.Hour}, t0))
	must(t, m.Set(ModOp{List: Whitelist, UID: "w1", Set: true}, t0))
	must(t, m.Set(ModOp{List: Bans, UID: "short", Set: true, TTL: time.Second}, t0))
	must(t, m.Set(ModOp{List: Bans, UID: "long", Set: true, TTL: time.Hour}, t0))

	m.Sweep(t0.Add(time.Second))
	if m.Len(Bans) != 1 || m.Len(Whitelist) != 2 {
		t.Fatalf("after sweep: bans %d whitelist %d, want 1 and 2", m.Len(Bans), m.Len(Whitelist))
	}
	got := m.Entries(t0.Add(time.Second))
	want := []ModEntry{{Bans, "long", t0.Add(time.Hour)}, {Whitelist, "w1", time.Time{}}, {Whitelist, "w2", t0.Add(time.Hour)}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("entries\n got %v\nwant %v", got, want)
	}
	if got := m.Entries(t0.Add(time.Hour)); len(got) != 1 || got[0].UID != "w1" {
		t.Errorf("entries after an hour: %v", got)
	}

	var n Moderation
	must(t, n.LoadEntries(want))
	if !n.Has(Whitelist, "w1", t0.Add(time.Hour)) || !n.Has(Bans, "long", t0) || n.Has(Bans, "long", t0.Add(time.Hour)) {
		t.Error("entries did not round trip")
	}
	// Loading replaces what was there.
	must(t, n.LoadEntries(nil))
	if n.Has(Whitelist, "w1", t0) {
		t.Error("LoadEntries kept an old entry")
	}
	err := n.LoadEntries([]ModEntry{{List: 5, UID: "x"}, {List: Bans, UID: ""}, {List: Mutes, UID: "ok"}})
	if CodeOf(err) != CodeBadRequest || !n.Has(Mutes, "ok", t0) {
		t.Errorf("bad entries: err %v, good one loaded %v", err, n.Has(Mutes, "ok", t0))
	}
}

func TestModerationBound(t *testing.T) {
	var m Moderation
	for i := 0; i < MaxListEntries; i++ {
		must(t, m.Set(ModOp{List: Mutes, UID: fmt.Sprint(i), Set: true, TTL: time.Minute}, t0))
	}
	err := m.Set(ModOp{List: Mutes, UID: "one-more", Set: true}, t0)
	if CodeOf(err) != CodeBadRequest {
		t.Fatalf("list over the bound: %v", err)
	}
	t.Log(err)
	must(t, m.Set(ModOp{List: Mutes, UID: "7", Set: true}, t0))                         // updating an entry is fine
	must(t, m.Set(ModOp{List: Bans, UID: "one-more", Set: true}, t0))                   // other lists have their own bound
	must(t, m.Set(ModOp{List: Mutes, UID: "one-more", Set: true}, t0.Add(time.Minute))) // expired ones make room
	if m.Len(Mutes) != 2 {
		t.Errorf("after the sweep the mutes hold %d entries, want 2 (7 and one-more)", m.Len(Mutes))
	}

	entries := make([]ModEntry, MaxListEntries+5)
	for i := range entries {
		entries[i] = ModEntry{List: Bans, UID: fmt.Sprint(i)}
	}
	if err := m.LoadEntries(entries); CodeOf(err) != CodeBadRequest || m.Len(Bans) != MaxListEntries {
		t.Errorf("loading over the bound: err %v, %d loaded", err, m.Len(Bans))
	}
}
