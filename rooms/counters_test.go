package rooms

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

func TestValidCounterName(t *testing.T) {
	f := func(name string, want bool) {
		t.Helper()
		if got := ValidCounterName(name); got != want {
			t.Errorf("ValidCounterName(%q) = %v, want %v", name, got, want)
		}
	}
	f("likes", true)
	f("gift_value", true)
	f("a", true)
	f("0_9", true)
	f(strings.Repeat("x", 32), true)
	f(strings.Repeat("x", 33), false)
	f("", false)
	f("Likes", false)
	f("li-kes", false)
	f("li kes", false)
	f("likés", false)
	f("likes\x00", false)
}

func TestCountersAdd(t *testing.T) {
	var c Counters
	if v, err := c.Add("likes", 3); v != 3 || err != nil {
		t.Fatalf("add: %d %v", v, err)
	}
	if v, err := c.Add("likes", -5); v != -2 || err != nil {
		t.Fatalf("negative add: %d %v", v, err)
	}
	if _, err := c.Add("Bad", 1); CodeOf(err) != CodeBadRequest {
		t.Fatalf("bad name: %v", err)
	}
	must(t, c.Set("big", math.MaxInt64-1))
	if _, err := c.Add("big", 2); CodeOf(err) != CodeBadRequest || c["big"] != math.MaxInt64-1 {
		t.Fatalf("overflow: %v, total %d", err, c["big"])
	}
	must(t, c.Set("small", math.MinInt64+1))
	if _, err := c.Add("small", -2); CodeOf(err) != CodeBadRequest {
		t.Fatalf("underflow: %v", err)
	}
	for i := len(c); i < MaxCounters; i++ {
		if _, err := c.Add("c"+string(rune('a'+i)), 1); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Add("seventeenth", 1); CodeOf(err) != CodeBadRequest {
		t.Fatalf("17th counter: %v", err)
	}
	if err := c.Set("seventeenth", 1); CodeOf(err) != CodeBadRequest {
		t.Fatalf("17th counter set: %v", err)
	}
	if _, err := c.Add("likes", 1); err != nil { // an existing one still counts
		t.Fatal(err)
	}
	if !c.NonZero() || (Counters{"a": 0}).NonZero() || Counters(nil).NonZero() {
		t.Fatal("NonZero")
	}
}

func TestAddLimiter(t *testing.T) {
	now := time.Unix(1000, 0)
	b := NewAddLimiter(now)
	n := 0
	for b.Allow(now) {
		n++
	}
	if n != AddsPerSecond {
		t.Fatalf("burst %d, want %d", n, AddsPerSecond)
	}
	if !b.Allow(now.Add(time.Second / AddsPerSecond)) {
		t.Fatal("a token earned on time was refused")
	}
}

func TestConfigCountersInterval(t *testing.T) {
	if DefaultConfig().CountersInterval() != time.Second {
		t.Fatal("default counters_interval is not 1 s")
	}
	// A state saved before the field existed keeps its other values and takes the default.
	var c Config
	must(t, json.Unmarshal([]byte(`{"rate":{"normal":7},"ring":{"system":256,"high":512,"normal":1024,"low":256}}`), &c))
	if c.Rate.Normal != 7 || c.CountersIntervalMS != 1000 || c.Validate() != nil {
		t.Fatalf("old state: %+v (%v)", c, c.Validate())
	}
	f := func(patch string, ok bool) {
		t.Helper()
		var p ConfigPatch
		must(t, json.Unmarshal([]byte(patch), &p))
		got, err := p.Apply(DefaultConfig())
		if (err == nil) != ok {
			t.Fatalf("%s: %v", patch, err)
		}
		if ok && p.CountersIntervalMS != nil && got.CountersIntervalMS != *p.CountersIntervalMS {
			t.Fatalf("%s: not applied", patch)
		}
	}
	f(`{"counters_interval_ms":250}`, true)
	f(`{"counters_interval_ms":50}`, true)
	f(`{"counters_interval_ms":60000}`, true)
	f(`{"counters_interval_ms":49}`, false)
	f(`{"counters_interval_ms":0}`, false)
	f(`{"counters_interval_ms":60001}`, false)
	if !(ConfigPatch{}).Empty() {
		t.Fatal("empty patch")
	}
}

// testStoreCounters is the counters part of every Store's suite.
func testStoreCounters(t *testing.T, s Store) {
	ctx := context.Background()
	_, _, fence, err := s.LoadRoom(ctx, "cnt")
	must(t, err)
	must(t, s.SaveCounters(ctx, "cnt", Counters{"likes": 5, "gift_value": -3}, fence))
	must(t, s.SaveCounters(ctx, "cnt", Counters{"likes": 9}, fence)) // totals: the last one wins
	st, found, f2, err := s.LoadRoom(ctx, "cnt")
	must(t, err)
	if found { // counters alone are no saved state
		t.Fatal("a room with counters only was found")
	}
	if st.Counters["likes"] != 9 || st.Counters["gift_value"] != -3 || len(st.Counters) != 2 {
		t.Fatalf("counters %v", st.Counters)
	}
	if err := s.SaveCounters(ctx, "cnt", Counters{"likes": 1}, fence); err != ErrFenced {
		t.Fatalf("a stale activation's counters: %v", err)
	}
	must(t, s.SaveRoom(ctx, "cnt", State{Epoch: "e", LastSeq: 1, Config: DefaultConfig()}, f2))
	st, found, f3, err := s.LoadRoom(ctx, "cnt")
	must(t, err)
	if !found || st.Counters["likes"] != 9 {
		t.Fatalf("with a state: found %v counters %v", found, st.Counters)
	}
	must(t, s.DeleteRoom(ctx, "cnt", f3))
	st, _, _, err = s.LoadRoom(ctx, "cnt")
	must(t, err)
	if st.Counters != nil {
		t.Fatalf("deleted room's counters %v", st.Counters)
	}
}
