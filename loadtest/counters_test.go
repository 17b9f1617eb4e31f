package loadtest

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestLikesOf(t *testing.T) {
	f := func(frame string, want int64, wantOK bool) {
		t.Helper()
		if n, ok := likesOf([]byte(frame)); n != want || ok != wantOK {
			t.Errorf("likesOf(%s) = %d, %v; want %d, %v", frame, n, ok, want, wantOK)
		}
	}
	f(`{"op":"counters","room":"r","counters":{"gift_value":9,"likes":123},"online":5}`, 123, true)
	f(`{"op":"joined","room":"r","epoch":"e","ts":1,"seq":0,"online":1,"id":1,"counters":{}}`, 0, true)
	f(`{"op":"joined","room":"r","epoch":"e","ts":1,"seq":0,"online":1,"id":1,"counters":{"gift_value":7}}`, 0, true)
	f(`{"op":"joined","room":"r","epoch":"e","ts":1,"seq":0,"online":1,"id":1}`, 0, false) // a server without counters
	// The counters object is the last member: a message body before it does not count.
	f(`{"op":"msgs","msgs":[{"body":{"counters":{"likes":5}}}],"counters":{"likes":6}}`, 6, true)
	// A long window: the object is found at its end, and only there.
	long := `{"op":"msgs","msgs":[` + strings.Repeat(`{"ts":1,"body":{"n":1}},`, 200) + `{"ts":2}]`
	f(long+`,"counters":{"likes":7}}`, 7, true)
	f(long+`}`, 0, false)
}

// The end check against the fake, in both viewer IO modes: with every add counted and every frame sent, the run
// passes with the totals exact (the rooms' earlier totals left out); adds over the 20/s
// limit are refused and not counted as accepted; an add the server loses, a viewer whose
// last counters frame is not the server's total and a post the server did not count fail
// the run.
func TestRunCounters(t *testing.T) {
	forEachIO(t, testRunCounters)
}

func testRunCounters(t *testing.T, io string) {
	defer func(a, b time.Duration) { counterSettle, viewerSettle = a, b }(counterSettle, viewerSettle)
	counterSettle, viewerSettle = 2*time.Second, time.Second
	run := func(c *fakeCluster, likes float64) *Result {
		t.Helper()
		cfg := Config{ViewerIO: io, Viewers: 6, PerWorker: 3, Rooms: 2, Likes: likes, CounterPosts: 4, Drain: 2 * time.Second,
			Prefix: "ct", Rates: map[string]float64{"normal": 5}}
		res := fakeRun(t, c, cfg, Options{})
		if res.Counters == nil {
			t.Fatal("no counters result")
		}
		return res
	}
	wantFail := func(res *Result, what string) {
		t.Helper()
		if !strings.Contains(strings.Join(res.Counters.Failures, "; "), what) {
			t.Errorf("failures %q, want one about %q", res.Counters.Failures, what)
		}
	}

	c := newFakeCluster(t, 1)
	c.mu.Lock()
	c.addCounter("ct-r0", "likes", 1000) // an earlier run's
	c.mu.Unlock()
	res := run(c, 5)
	cr := res.Counters
	if len(cr.Failures) != 0 || !cr.Settled {
		t.Fatalf("a right server failed: %q (settled %v)", cr.Failures, cr.Settled)
	}
	// 6 viewers x 5/s x 2 s, give or take the first and last adds (so the rooms' shares may
	// differ by a few: ct-r0 kept its 1000 and got its own viewers' adds)
	if cr.AddsOffered < 40 || cr.AddsRefused != 0 || cr.ServerLikes != cr.AddsAccepted || cr.Rooms["ct-r0"]-1000+cr.Rooms["ct-r1"] != cr.ServerLikes {
		t.Errorf("offered %d refused %d accepted %d, server +%d, by room %v", cr.AddsOffered, cr.AddsRefused, cr.AddsAccepted, cr.ServerLikes, cr.Rooms)
	}
	if cr.ViewersChecked != 6 || cr.ViewersMismatch != 0 || cr.GiftPosted < 10 || cr.ServerGift != cr.GiftPosted || cr.PostErrors != 0 {
		t.Errorf("viewers %d/%d, gift posted %d server %d errors %d", cr.ViewersChecked, cr.ViewersMismatch, cr.GiftPosted, cr.ServerGift, cr.PostErrors)
	}
	if cr.FramesPerVS <= 0 || cr.FramesPerVSPeak > 21 { // the fake conflates to 20 frames a second
		t.Errorf("counter frames per viewer per second %v (peak %v)", cr.FramesPerVS, cr.FramesPerVSPeak)
	}

	c = newFakeCluster(t, 1)
	res = run(c, 40) // twice the limit
	if cr := res.Counters; len(cr.Failures) != 0 || cr.AddsRefused < cr.AddsOffered/4 || cr.ServerLikes != cr.AddsAccepted {
		t.Errorf("over the limit: failures %q, offered %d refused %d, server +%d", cr.Failures, cr.AddsOffered, cr.AddsRefused, cr.ServerLikes)
	}

	c = newFakeCluster(t, 1)
	c.loseAdd = func(n int) bool { return n%7 == 0 }
	res = run(c, 5)
	wantFail(res, "taps accepted")
	if res.Counters.Settled {
		t.Error("lost adds: the totals settled")
	}

	c = newFakeCluster(t, 1)
	c.muteCnt = func(uid string) bool { return strings.HasSuffix(uid, "-v4") }
	res = run(c, 5)
	wantFail(res, "1 viewers' last likes total was not the server's")
	if res.Counters.ViewersMismatch != 1 {
		t.Errorf("%d viewers mismatched, want 1", res.Counters.ViewersMismatch)
	}

	c = newFakeCluster(t, 1)
	var posts atomic.Int32
	c.failPost = func(path string, _ int) int {
		if strings.HasSuffix(path, "/counters/gift_value") && posts.Add(1) == 3 { // counted, yet refused
			c.mu.Lock()
			c.addCounter(strings.Split(path, "/")[3], "gift_value", 5)
			c.mu.Unlock()
			return 400
		}
		return 0
	}
	res = run(c, 5)
	wantFail(res, "gift_value grew by")
}

func TestTapsDue(t *testing.T) {
	start := time.Unix(100, 0)
	f := func(after time.Duration, want int64) {
		t.Helper()
		if n := tapsDue(start, 200*time.Millisecond, start.Add(after)); n != want {
			t.Errorf("tapsDue at start%+v = %d, want %d", after, n, want)
		}
	}
	f(-time.Millisecond, 0)
	f(0, 1) // the first tap falls at start
	f(199*time.Millisecond, 1)
	f(200*time.Millisecond, 2)
	f(time.Second, 6)
	f(10*time.Second+time.Millisecond, 51)
}

// A refusal does not say which add it refuses: the taps refused are counted between the
// smallest and the largest delta the viewer wrote, the same when every delta is 1.
func TestRefusedAddRange(t *testing.T) {
	f := func(deltas []int64, refusals int, wantLo, wantHi int64) {
		t.Helper()
		v := &viewer{w: &worker{}, lk: &likeCounts{}}
		for _, d := range deltas {
			v.wroteAdd(d)
		}
		for range refusals {
			v.refusedAdd()
		}
		if v.lk.refused.Load() != wantLo || v.lk.refusedMax.Load() != wantHi || v.w.c.addsRefused.Load() != wantLo || v.w.c.addsRefusedMax.Load() != wantHi {
			t.Errorf("deltas %v, %d refused: %d..%d (worker %d..%d), want %d..%d", deltas, refusals,
				v.lk.refused.Load(), v.lk.refusedMax.Load(), v.w.c.addsRefused.Load(), v.w.c.addsRefusedMax.Load(), wantLo, wantHi)
		}
		var sum int64
		for _, d := range deltas {
			sum += d
		}
		if v.lk.offered.Load() != sum || v.lk.frames.Load() != int64(len(deltas)) || v.w.c.addFrames.Load() != int64(len(deltas)) {
			t.Errorf("deltas %v: offered %d in %d frames", deltas, v.lk.offered.Load(), v.lk.frames.Load())
		}
	}
	f([]int64{1, 1, 1}, 2, 2, 2)
	f([]int64{5, 5}, 1, 5, 5)
	f([]int64{4, 5, 100, 5}, 2, 8, 200)
	f(nil, 1, 1, 1) // an error without id before any add: counted as one tap, as before batching
}

// --like-batch on the fake, in both viewer IO modes: taps summed into one add per interval are counted exactly (in taps,
// frames apart), a sum over 100 is split (the fake refuses a delta over 100), 40 taps a second
// in 4 adds stay under the 20 adds/s limit that one add per tap exceeds, and refusals of adds
// whose deltas differ leave the check a range that still holds, and still catches a lost add.
func TestRunCountersBatched(t *testing.T) {
	forEachIO(t, testRunCountersBatched)
}

func testRunCountersBatched(t *testing.T, io string) {
	defer func(a, b time.Duration) { counterSettle, viewerSettle = a, b }(counterSettle, viewerSettle)
	counterSettle, viewerSettle = 2*time.Second, time.Second
	run := func(c *fakeCluster, likes float64, batch time.Duration) *CounterResult {
		t.Helper()
		cfg := Config{ViewerIO: io, Viewers: 6, PerWorker: 3, Rooms: 2, Likes: likes, LikeBatch: batch, Drain: 2 * time.Second,
			Prefix: "cb", Rates: map[string]float64{"normal": 5}}
		res := fakeRun(t, c, cfg, Options{})
		if res.Counters == nil {
			t.Fatal("no counters result")
		}
		return res.Counters
	}
	// 6 viewers x 2 s: 40 taps a second in adds of 10 (the first and last may be smaller)
	cr := run(newFakeCluster(t, 1), 40, 250*time.Millisecond)
	if len(cr.Failures) != 0 || cr.AddsRefused != 0 || cr.AddsOffered < 6*40 || cr.ServerLikes != cr.AddsOffered ||
		cr.AddFrames > cr.AddsOffered/8+12 || cr.AddFrames < cr.AddsOffered/10 || cr.AddFramesPerS <= 0 {
		t.Errorf("40/s in 250 ms batches: failures %q, %d taps in %d frames (%.1f/s), refused %d, server +%d",
			cr.Failures, cr.AddsOffered, cr.AddFrames, cr.AddFramesPerS, cr.AddsRefused, cr.ServerLikes)
	}
	// 500 taps a second, sent once a second: five adds of 100
	cr = run(newFakeCluster(t, 1), 500, time.Second)
	if len(cr.Failures) != 0 || cr.AddsRefused != 0 || cr.AddsOffered < 6*500 || cr.ServerLikes != cr.AddsOffered ||
		cr.AddFrames < cr.AddsOffered/100 {
		t.Errorf("500/s in 1 s batches: failures %q, %d taps in %d frames, refused %d, server +%d",
			cr.Failures, cr.AddsOffered, cr.AddFrames, cr.AddsRefused, cr.ServerLikes)
	}
	// 30 taps a second every 150 ms: deltas of 4 and 5; every third add refused
	c := newFakeCluster(t, 1)
	var n int
	c.refuseAdd = func(int64) bool { n++; return n%3 == 0 }
	cr = run(c, 30, 150*time.Millisecond)
	acc := cr.AddsOffered - cr.AddsRefused
	if len(cr.Failures) != 0 || cr.AddsRefused == 0 || cr.AddsRefusedMax <= cr.AddsRefused ||
		cr.ServerLikes > acc || cr.ServerLikes < cr.AddsOffered-cr.AddsRefusedMax {
		t.Errorf("refused batches: failures %q, offered %d, refused %d..%d, server +%d",
			cr.Failures, cr.AddsOffered, cr.AddsRefused, cr.AddsRefusedMax, cr.ServerLikes)
	}
	c = newFakeCluster(t, 1)
	c.loseAdd = func(n int) bool { return n%7 == 0 }
	if cr = run(c, 40, 250*time.Millisecond); !strings.Contains(strings.Join(cr.Failures, "; "), "taps accepted") {
		t.Errorf("lost batched adds: failures %q", cr.Failures)
	}
}
