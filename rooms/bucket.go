package rooms

import "time"

// Bucket is a token bucket: rate tokens per second, burst = one second's worth (at least 1).
// A rate of 0 rejects everything; a negative rate means no limit.
type Bucket struct {
	rate   float64
	tokens float64
	last   time.Time
}

// NewBucket returns a full bucket.
func NewBucket(rate float64, now time.Time) Bucket {
	b := Bucket{rate: rate, last: now}
	b.tokens = b.burst()
	return b
}

func (b *Bucket) burst() float64 { return max(1, b.rate) }

func (b *Bucket) refill(now time.Time) {
	if dt := now.Sub(b.last).Seconds(); dt > 0 && b.rate > 0 {
		b.tokens = min(b.burst(), b.tokens+dt*b.rate)
	}
	if now.After(b.last) {
		b.last = now
	}
}

// Allow takes a token if one is available.
func (b *Bucket) Allow(now time.Time) bool {
	if b.rate < 0 {
		return true
	}
	if b.rate == 0 {
		return false
	}
	b.refill(now)
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// SetRate changes the rate; the tokens already earned are kept, capped to the new burst.
func (b *Bucket) SetRate(rate float64, now time.Time) {
	b.refill(now)
	b.rate = rate
	b.tokens = min(b.tokens, b.burst())
}
