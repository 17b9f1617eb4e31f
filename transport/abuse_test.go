package transport

import (
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var t0 = time.Unix(1_800_000_000, 0)

func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

// TestLimiterDecisions: limit per window, block, extension by retries, a fresh window after
// the block.
func TestLimiterDecisions(t *testing.T) {
	l := newLimiter(3, 10*time.Second, 5*time.Second)
	f := func(key string, s float64, want bool) {
		t.Helper()
		if got := l.allow(key, at(s)); got != want {
			t.Errorf("%s at %vs: %v, want %v", key, s, got, want)
		}
	}
	// Three per window, the window rolls over.
	f("a", 0, true)
	f("a", 1, true)
	f("a", 9.9, true)
	f("a", 10, true) // new window [10, 20)
	f("a", 11, true)
	f("a", 12, true)
	f("a", 13, false) // 4th in the window: blocked until 18
	f("a", 17, false) // retry while blocked: until 22
	f("a", 21.9, false)
	f("a", 26.8, false) // until 31.8
	f("a", 31.8, true)  // block over: a fresh window [31.8, 41.8)
	f("a", 32, true)
	f("a", 33, true)
	f("a", 34, false)

	// Keys are independent.
	f("b", 34, true)
	f("c", 34, true)

	// A block shorter than the window still ends in a fresh window.
	m := newLimiter(2, time.Minute, 10*time.Second)
	g := func(s float64, want bool) {
		t.Helper()
		if got := m.allow("k", at(s)); got != want {
			t.Errorf("k at %vs: %v, want %v", s, got, want)
		}
	}
	g(0, true)
	g(1, true)
	g(2, false) // until 12
	g(12, true)
	g(13, true)
	g(14, false)

	// Limit 1: every other attempt in a window is refused.
	one := newLimiter(1, 10*time.Second, time.Second)
	if !one.allow("x", at(0)) || one.allow("x", at(0.5)) || one.allow("x", at(1.4)) || !one.allow("x", at(2.5)) {
		t.Error("limit 1")
	}
}

// TestAbuseIPAndUID: the two limits of Config are separate.
func TestAbuseIPAndUID(t *testing.T) {
	a := NewAbuse(Config{ConnPerIP: 2, ConnPerUID: 1, ConnWindow: 10 * time.Second, BlockFor: 30 * time.Second})
	if !a.AllowIP("1.2.3.4", at(0)) || !a.AllowIP("1.2.3.4", at(1)) || a.AllowIP("1.2.3.4", at(2)) {
		t.Error("per-IP limit of 2")
	}
	if !a.AllowUID("1.2.3.4", at(2)) { // same string, other table
		t.Error("uid table shares the IP table")
	}
	if a.AllowUID("1.2.3.4", at(3)) {
		t.Error("per-uid limit of 1")
	}
	if a.AllowIP("1.2.3.4", at(31)) { // blocked at 2 until 32
		t.Error("IP unblocked early")
	}
	if !a.AllowIP("1.2.3.4", at(61.5)) { // the attempt at 31 extended the block to 61
		t.Error("IP still blocked after the extended block")
	}
	// Defaults: 20 per IP, 10 per uid.
	d := NewAbuse(Config{})
	for i := 0; i < 20; i++ {
		if !d.AllowIP("ip", at(0)) {
			t.Fatalf("default IP limit refused attempt %d", i+1)
		}
	}
	if d.AllowIP("ip", at(0)) {
		t.Error("default IP limit is not 20")
	}
	for i := 0; i < 10; i++ {
		d.AllowUID("u", at(0))
	}
	if d.AllowUID("u", at(0)) {
		t.Error("default uid limit is not 10")
	}
}

// TestLimiterBoundedMemory: a flood of distinct keys inside one window stays under the bound,
// blocked keys survive it, and keys are forgotten once their window has passed.
func TestLimiterBoundedMemory(t *testing.T) {
	l := newLimiter(1, 10*time.Second, 60*time.Second)
	l.maxKeys = 64
	l.allow("attacker", at(0))
	if l.allow("attacker", at(0)) {
		t.Fatal("second attempt allowed")
	}
	for i := 0; i < 100_000; i++ {
		l.allow("ip-"+strconv.Itoa(i), at(1))
	}
	if n := l.len(); n > 16*64 {
		t.Errorf("%d keys remembered, bound %d", n, 16*64)
	}
	if l.allow("attacker", at(2)) {
		t.Error("the flood evicted a blocked key")
	}
	// 20 s later every counting key has passed its window: the next attempt on each shard
	// sweeps it. The attacker (blocked until 62) stays.
	for i := 0; i < 200; i++ {
		l.allow("late-"+strconv.Itoa(i), at(30))
	}
	if n := l.len(); n > 201 {
		t.Errorf("%d keys after the sweep, want <= 201", n)
	}
	if l.allow("attacker", at(30)) {
		t.Error("the sweep forgot a blocked key")
	}

	// The default bound: the lead's TestLimiter floods a default limiter; here the map
	// shrinks back after a burst (Go maps do not shrink by themselves).
	d := newLimiter(20, 10*time.Second, 10*time.Second)
	for i := 0; i < 50_000; i++ {
		d.allow(strconv.Itoa(i), at(0))
	}
	for i := 0; i < 1000; i++ { // ~62 per shard: every shard is swept
		d.allow("x"+strconv.Itoa(i), at(11))
	}
	for i := range d.shards {
		if p := d.shards[i].keys.peak; p > 200 {
			t.Errorf("shard %d: peak %d after the sweep, the map was not rebuilt", i, p)
		}
	}
}

// TestLimiterConcurrent: under -race, many goroutines on one key get exactly limit allowed.
func TestLimiterConcurrent(t *testing.T) {
	l := newLimiter(50, time.Hour, time.Hour)
	var allowed atomic.Int32
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				if l.allow("hot", at(float64(i)/1000)) {
					allowed.Add(1)
				}
				l.allow(fmt.Sprintf("g%d-%d", g, i), at(0))
			}
		}()
	}
	wg.Wait()
	if n := allowed.Load(); n != 50 {
		t.Errorf("%d attempts allowed, want 50", n)
	}
}

// BenchmarkLimiterAllow measures one attempt on a limiter holding keys, and the heap bytes
// per remembered key (`go test -run '^$' -bench LimiterAllow -benchtime=200000x ./transport/`).
func BenchmarkLimiterAllow(b *testing.B) {
	keys := make([]string, 100_000)
	for i := range keys {
		keys[i] = "10.0." + strconv.Itoa(i/256) + "." + strconv.Itoa(i%256)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	l := newLimiter(1<<30, time.Hour, time.Second)
	for _, k := range keys {
		l.allow(k, t0)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perKey := float64(after.HeapAlloc-before.HeapAlloc) / float64(len(keys))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l.allow(keys[i%len(keys)], t0)
	}
	b.ReportMetric(perKey, "bytes/key") // after the loop: ResetTimer clears reported metrics
	runtime.KeepAlive(keys)
}
