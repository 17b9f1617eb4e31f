package rooms

import (
	"testing"
	"time"
)

// allows runs b.Allow at t0+each offset and returns y/n per call.
func allows(b *Bucket, offsets ...time.Duration) string {
	got := ""
	for _, d := range offsets {
		if b.Allow(t0.Add(d)) {
			got += "y"
		} else {
			got += "n"
		}
	}
	return got
}

func TestBucket(t *testing.T) {
	f := func(name string, rate float64, offsets []time.Duration, want string) {
		t.Helper()
		b := NewBucket(rate, t0)
		if got := allows(&b, offsets...); got != want {
			t.Errorf("%s: got %s want %s", name, got, want)
		}
	}
	f("burst of one second's worth", 3, []time.Duration{0, 0, 0, 0}, "yyyn")
	f("refill at rate", 2, []time.Duration{0, 0, 0, 400 * ms, 500 * ms, 1000 * ms}, "yynnyy")
	f("refill in small steps", 10, []time.Duration{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 99 * ms, 100 * ms, 100 * ms}, "yyyyyyyyyynnyn")
	f("refill caps at the burst", 2, []time.Duration{0, 0, time.Hour, time.Hour, time.Hour}, "yyyyn")
	f("burst is at least 1", 0.5, []time.Duration{0, 0, 1000 * ms, 2000 * ms}, "ynny")
	f("rate 0 rejects", 0, []time.Duration{0, time.Hour}, "nn")
	f("negative is unlimited", -1, []time.Duration{0, 0, 0, 0, 0}, "yyyyy")
	f("clock stepping back refills nothing", 1, []time.Duration{time.Second, 0, 0, time.Second, 2 * time.Second}, "ynnny")
}

// Refills added in many small steps add up to a token exactly on time: without an epsilon,
// 0.1 s in steps of 10 ms at rate 10 sums to 0.9999999999999999 tokens and is refused.
func TestBucketRefillInSteps(t *testing.T) {
	f := func(rate float64, step time.Duration) {
		t.Helper()
		b := NewBucket(rate, t0)
		for b.Allow(t0) {
		}
		period := time.Duration(float64(time.Second) / rate)
		for at := step; at < period; at += step {
			if b.Allow(t0.Add(at)) {
				t.Fatalf("rate %v: a token at %v, before its period %v", rate, at, period)
			}
		}
		if !b.Allow(t0.Add(period)) {
			t.Errorf("rate %v: no token after one period (%v) in steps of %v", rate, period, step)
		}
	}
	f(1, 100*time.Microsecond)
	f(10, 10*ms)
	f(100, ms)
	f(125, 100*time.Microsecond)
	f(1000, 100*time.Microsecond)
}

func TestBucketZeroValueIsFullOnFirstUse(t *testing.T) {
	b := Bucket{rate: 2}
	if got := allows(&b, -time.Hour, -time.Hour, -time.Hour, -time.Hour+time.Second); got != "yyny" {
		t.Errorf("got %s want yyny", got)
	}
}

func TestBucketSetRate(t *testing.T) {
	f := func(name string, from float64, spent int, to float64, offsets []time.Duration, want string) {
		t.Helper()
		b := NewBucket(from, t0)
		for i := 0; i < spent; i++ {
			b.Allow(t0)
		}
		b.SetRate(to, t0)
		if b.Rate() != to {
			t.Errorf("%s: rate %v", name, b.Rate())
		}
		if got := allows(&b, offsets...); got != want {
			t.Errorf("%s: got %s want %s", name, got, want)
		}
	}
	f("lower rate caps the tokens", 10, 0, 2, []time.Duration{0, 0, 0, 500 * ms}, "yyny")
	f("higher rate keeps what was earned", 1, 1, 100, []time.Duration{0, 10 * ms, 10 * ms, time.Second, time.Second}, "nynyy")
	f("higher rate does not refill at once", 2, 0, 100, []time.Duration{0, 0, 0}, "yyn")
	f("to 0 rejects everything", 5, 0, 0, []time.Duration{0, time.Hour}, "nn")
	f("to unlimited", 1, 1, -1, []time.Duration{0, 0, 0}, "yyy")

	// Back from 0: the tokens held when the rate went to 0 are there, nothing was earned since.
	b := NewBucket(3, t0)
	b.Allow(t0)
	b.SetRate(0, t0)
	b.SetRate(3, t0.Add(time.Hour))
	if got := allows(&b, time.Hour, time.Hour, time.Hour); got != "yyn" {
		t.Errorf("back from 0: got %s want yyn", got)
	}
}
