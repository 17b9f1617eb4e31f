package rooms

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/liveroom/liveroom/ring"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestBucket(t *testing.T) {
	f := func(name string, rate float64, offsets []time.Duration, want string) {
		t.Helper()
		b := NewBucket(rate, t0)
		got := ""
		for _, d := range offsets {
			if b.Allow(t0.Add(d)) {
				got += "y"
			} else {
				got += "n"
			}
		}
		if got != want {
			t.Errorf("%s: got %s want %s", name, got, want)
		}
	}
	ms := time.Millisecond
	f("burst of one second's worth", 3, []time.Duration{0, 0, 0, 0}, "yyyn")
	f("refill at rate", 2, []time.Duration{0, 0, 0, 400 * ms, 500 * ms, 1000 * ms}, "yynnyy")
	f("burst is at least 1", 0.5, []time.Duration{0, 0, 1000 * ms, 2000 * ms}, "ynny")
	f("rate 0 rejects", 0, []time.Duration{0, time.Hour}, "nn")
	f("negative is unlimited", -1, []time.Duration{0, 0, 0, 0, 0}, "yyyyy")
	f("clock stepping back refills nothing", 1, []time.Duration{time.Second, 0, 0}, "ynn")

	b := NewBucket(1, t0)
	b.Allow(t0)
	b.SetRate(100, t0)
	if !b.Allow(t0.Add(10*ms)) || !b.Allow(t0.Add(20*ms)) {
		t.Error("rate change did not take effect")
	}
}

func TestModeration(t *testing.T) {
	var m Moderation
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(m.Set(ModOp{List: Bans, UID: "a", Set: true, TTL: time.Minute}, t0))
	must(m.Set(ModOp{List: Mutes, UID: "b", Set: true}, t0))
	if !m.Has(Bans, "a", t0.Add(59*time.Second)) || m.Has(Bans, "a", t0.Add(time.Minute)) {
		t.Error("ban TTL not honoured")
	}
	if !m.Has(Mutes, "b", t0.Add(24*365*time.Hour)) {
		t.Error("forever mute expired")
	}
	if m.Has(Bans, "b", t0) || m.Has(Whitelist, "b", t0) {
		t.Error("lists are not separate")
	}
	must(m.Set(ModOp{List: Mutes, UID: "b"}, t0))
	if m.Has(Mutes, "b", t0) {
		t.Error("delete did not remove")
	}
	must(m.Set(ModOp{List: Whitelist, UID: "w", Set: true}, t0))
	var n Moderation
	n.Load(m.Entries(t0))
	if !n.Has(Whitelist, "w", t0) {
		t.Error("entries round trip lost the whitelist")
	}
	if err := m.Set(ModOp{List: 7, UID: "x", Set: true}, t0); CodeOf(err) != CodeBadRequest {
		t.Errorf("unknown list: %v", err)
	}
	if err := m.Set(ModOp{List: Bans, UID: "x", Set: true, TTL: -time.Second}, t0); CodeOf(err) != CodeBadRequest {
		t.Errorf("negative ttl: %v", err)
	}
}

func TestDedup(t *testing.T) {
	d := NewDedup()
	d.Put("u1", "c1", Stamp{TS: 1, Seq: 1})
	if st, ok := d.Get("u1", "c1"); !ok || st.Seq != 1 {
		t.Error("remembered cmid not found")
	}
	if _, ok := d.Get("u2", "c1"); ok {
		t.Error("same cmid of another uid matched")
	}
	d.Put("u1", "", Stamp{TS: 2, Seq: 2})
	if _, ok := d.Get("u1", ""); ok {
		t.Error("empty cmid matched")
	}
	if _, ok := d.Get("u1\x00c", "1"); ok {
		t.Error("ambiguous key matched")
	}
	for i := 0; i < DedupSize; i++ {
		d.Put("u", fmt.Sprint(i), Stamp{Seq: uint64(i)})
	}
	if _, ok := d.Get("u1", "c1"); ok {
		t.Error("oldest cmid not evicted after DedupSize more")
	}
}

func TestStamper(t *testing.T) {
	var s Stamper
	ts1, seq1 := s.Next(t0)
	ts2, seq2 := s.Next(t0.Add(-time.Hour)) // the clock steps back
	ts3, seq3 := s.Next(t0)
	if !(ts1 < ts2 && ts2 < ts3) || seq1 != 1 || seq2 != 2 || seq3 != 3 {
		t.Errorf("stamps %d/%d %d/%d %d/%d", ts1, seq1, ts2, seq2, ts3, seq3)
	}
	s.Restore(ts3+1000, 41)
	if ts, seq := s.Next(t0); ts != ts3+1001 || seq != 42 {
		t.Errorf("after restore: %d %d", ts, seq)
	}
	if a, b := NewEpoch(), NewEpoch(); a == b || len(a) == 0 {
		t.Errorf("epochs %q %q", a, b)
	}
}

func body(s string) json.RawMessage { return json.RawMessage(s) }

func TestAccept(t *testing.T) {
	r := NewRoom("r", DefaultConfig())
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(r.Moderate(ModOp{List: Bans, UID: "banned", Set: true}, t0))
	must(r.Moderate(ModOp{List: Mutes, UID: "muted", Set: true}, t0))
	must(r.Moderate(ModOp{List: Whitelist, UID: "vip", Set: true}, t0))
	f := func(uid string, pri ring.Priority, src Source, wantCode Code, wantPri ring.Priority) {
		t.Helper()
		m, _, err := r.Accept(SendRequest{UID: uid, Kind: "chat", Pri: pri, Body: body(`{}`), Source: src}, t0)
		if wantCode != "" {
			if CodeOf(err) != wantCode {
				t.Errorf("%s %v from %d: err %v, want %s", uid, pri, src, err, wantCode)
			}
			return
		}
		if err != nil || m == nil || m.Pri != wantPri {
			t.Errorf("%s %v from %d: %v %+v, want pri %v", uid, pri, src, err, m, wantPri)
		}
	}
	f("u", ring.Normal, FromViewer, "", ring.Normal)
	f("u", ring.Low, FromViewer, "", ring.Low)
	f("u", ring.High, FromViewer, CodeForbidden, 0)
	f("u", ring.System, FromViewer, CodeForbidden, 0)
	f("u", ring.High, FromServer, "", ring.High)
	f("u", ring.System, FromServer, CodeForbidden, 0)
	f("", ring.System, FromAdmin, "", ring.System)
	f("vip", ring.Normal, FromViewer, "", ring.High)
	f("vip", ring.Low, FromServer, "", ring.High)
	f("vip", ring.System, FromAdmin, "", ring.System)
	f("banned", ring.Normal, FromViewer, CodeBanned, 0)
	f("muted", ring.Normal, FromViewer, CodeMuted, 0)
	f("muted", ring.Normal, FromServer, CodeMuted, 0)

	if _, _, err := r.Accept(SendRequest{UID: "u", Kind: "", Body: body(`1`)}, t0); CodeOf(err) != CodeBadRequest {
		t.Errorf("empty kind: %v", err)
	}
	if _, _, err := r.Accept(SendRequest{UID: "u", Kind: "k", Body: body(`{`)}, t0); CodeOf(err) != CodeBadRequest {
		t.Errorf("bad body: %v", err)
	}
}

func TestAcceptLimitsAndDedup(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Rate.Normal, cfg.Rate.High = 2, 1
	r := NewRoom("r", cfg)
	send := func(pri ring.Priority, src Source, cmid string) (Stamp, error) {
		_, st, err := r.Accept(SendRequest{UID: "u", Kind: "chat", Pri: pri, Body: body(`{}`), CMID: cmid, Source: src}, t0)
		return st, err
	}
	first, err := send(ring.Normal, FromServer, "c1")
	if err != nil {
		t.Fatal(err)
	}
	// A repeat is answered with the original stamp and takes no token.
	for i := 0; i < 5; i++ {
		st, err := send(ring.Normal, FromServer, "c1")
		if err != nil || !st.Dup || st.Seq != first.Seq || st.TS != first.TS {
			t.Fatalf("repeat %d: %+v %v", i, st, err)
		}
	}
	if _, err := send(ring.Normal, FromServer, ""); err != nil {
		t.Fatalf("second normal: %v", err)
	}
	if _, err := send(ring.Normal, FromServer, ""); CodeOf(err) != CodeRateLimited {
		t.Fatalf("third normal in the same second: %v", err)
	}
	// Other priorities have their own buckets; system has none.
	if _, err := send(ring.High, FromServer, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := send(ring.High, FromServer, ""); CodeOf(err) != CodeRateLimited {
		t.Fatalf("high over its limit: %v", err)
	}
	for i := 0; i < 100; i++ {
		if _, err := send(ring.System, FromAdmin, ""); err != nil {
			t.Fatalf("system notice %d limited: %v", i, err)
		}
	}
	st := r.StatsRef()
	if st.Accepted != 103 || st.RateLimited != 2 {
		t.Errorf("stats %+v", *st)
	}
	if _, seq := r.Last(); seq != 103 {
		t.Errorf("seq %d, want 103 (gapless)", seq)
	}
}

func TestStateRoundTrip(t *testing.T) {
	r := NewRoom("r", DefaultConfig())
	_ = r.Moderate(ModOp{List: Bans, UID: "x", Set: true}, t0)
	m, _, err := r.Accept(SendRequest{Kind: "notice", Pri: ring.System, Body: body(`{"a":1}`), Source: FromAdmin}, t0)
	if err != nil {
		t.Fatal(err)
	}
	st := r.State([]*ring.Message{m}, t0)
	s := NewMemoryStore()
	if err := s.SaveRoom(context.Background(), "r", st); err != nil {
		t.Fatal(err)
	}
	got, found, err := s.LoadRoom(context.Background(), "r")
	if err != nil || !found {
		t.Fatal(found, err)
	}
	r2 := RestoreRoom("r", got, t0)
	if r2.Epoch() != r.Epoch() || !r2.Banned("x", t0) {
		t.Error("restore lost epoch or moderation")
	}
	m2, _, err := r2.Accept(SendRequest{Kind: "chat", Pri: ring.Normal, Body: body(`1`), Source: FromServer}, t0)
	if err != nil || m2.Seq != m.Seq+1 || m2.TS <= m.TS {
		t.Errorf("restored room stamped %+v after %+v (%v)", m2, m, err)
	}
	if p := got.Protected[0].Message(); string(p.Encoded) != string(m.Encoded) {
		t.Errorf("protected message changed: %s vs %s", p.Encoded, m.Encoded)
	}
}

// testStore is the suite every Store passes.
func testStore(t *testing.T, newStore func(t *testing.T) Store) {
	ctx := context.Background()
	s := newStore(t)
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if _, found, err := s.LoadRoom(ctx, "none"); found || err != nil {
		t.Fatalf("unknown room: found %v err %v", found, err)
	}
	st := State{Epoch: "e1", LastTS: 10, LastSeq: 3, Config: DefaultConfig(),
		Moderation: []ModEntry{{List: Mutes, UID: "m", Until: t0}}}
	if err := s.SaveRoom(ctx, "r1", st); err != nil {
		t.Fatal(err)
	}
	st.LastSeq = 99 // the store holds a copy, not the caller's value
	got, found, err := s.LoadRoom(ctx, "r1")
	if err != nil || !found || got.LastSeq != 3 || got.Epoch != "e1" || len(got.Moderation) != 1 || !got.Moderation[0].Until.Equal(t0) {
		t.Fatalf("load = %+v %v %v", got, found, err)
	}
	// The head moves the last stamp forward, within the same epoch only.
	if err := s.SaveHead(ctx, "r1", Head{Epoch: "e1", LastTS: 50, LastSeq: 9}); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.LoadRoom(ctx, "r1"); got.LastSeq != 9 || got.LastTS != 50 {
		t.Fatalf("head not applied: %+v", got)
	}
	if err := s.SaveHead(ctx, "r1", Head{Epoch: "other", LastTS: 99, LastSeq: 99}); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.LoadRoom(ctx, "r1"); got.LastSeq == 99 || got.Epoch != "e1" {
		t.Fatalf("a head of another epoch was applied: %+v", got)
	}
	// Active rooms.
	for _, r := range []string{"b", "a", "c"} {
		if err := s.MarkActive(ctx, r, true); err != nil {
			t.Fatal(err)
		}
	}
	_ = s.MarkActive(ctx, "c", false)
	if got, err := s.ActiveRooms(ctx); err != nil || len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("active rooms %v %v", got, err)
	}
	// The node directory keeps the nodes heard from since a time.
	_ = s.Heartbeat(ctx, "n1", "ws://a/v1/ws", t0)
	_ = s.Heartbeat(ctx, "n2", "ws://b/v1/ws", t0.Add(10*time.Second))
	if got, err := s.Nodes(ctx, t0.Add(5*time.Second)); err != nil || len(got) != 1 || got["n2"] != "ws://b/v1/ws" {
		t.Fatalf("nodes %v %v", got, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestMemoryStore(t *testing.T) {
	testStore(t, func(*testing.T) Store { return NewMemoryStore() })
}

func BenchmarkAccept(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Rate.Normal = MaxRate
	r := NewRoom("r", cfg)
	req := SendRequest{UID: "u1", Kind: "chat", Pri: ring.Normal, Body: body(`{"text":"hello"}`), Source: FromViewer}
	now := t0
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		now = now.Add(time.Millisecond)
		if _, _, err := r.Accept(req, now); err != nil {
			b.Fatal(err)
		}
	}
}
