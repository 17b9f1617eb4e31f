package rooms

import "time"

// Bucket is a token bucket: rate tokens per second, burst = one second's worth (at least 1).
// A rate of 0 rejects everything; a negative rate means no limit (system notices).
//
// It is pure arithmetic on the times passed in: a clock that steps back refills nothing.
// A Bucket that has never seen a time (the zero last) is full on first use, so a room can be
// built without reading the clock.
type Bucket struct {
	rate   float64
	tokens float64
	last   time.Time
	size   float64 // the burst; 0 = one second's worth
}

// NewBurstBucket returns a full bucket of rate tokens per second holding at most burst.
func NewBurstBucket(rate, burst float64, now time.Time) Bucket {
	b := Bucket{rate: rate, last: now, size: burst}
	b.tokens = b.burst()
	return b
}

// NewBucket returns a full bucket.
func NewBucket(rate float64, now time.Time) Bucket {
	b := Bucket{rate: rate, last: now}
	b.tokens = b.burst()
	return b
}

// tokenEpsilon absorbs float rounding of refills added in small steps (0.99 + 0.01 may land
// just below 1), so a token earned on time is never refused.
const tokenEpsilon = 1e-9

func (b *Bucket) burst() float64 {
	if b.size > 0 {
		return b.size
	}
	return max(1, b.rate)
}

// Rate returns the bucket's rate in tokens per second.
func (b *Bucket) Rate() float64 { return b.rate }

func (b *Bucket) refill(now time.Time) {
	switch {
	case b.last.IsZero():
		b.tokens = b.burst()
	case b.rate > 0:
		if dt := now.Sub(b.last).Seconds(); dt > 0 {
			b.tokens = min(b.burst(), b.tokens+dt*b.rate)
		}
	}
	if now.After(b.last) {
		b.last = now
	}
}

// Allow takes a token if one is available at now.
func (b *Bucket) Allow(now time.Time) bool {
	if b.rate < 0 {
		return true
	}
	if b.rate == 0 {
		return false
	}
	b.refill(now)
	if b.tokens < 1-tokenEpsilon {
		return false
	}
	b.tokens--
	return true
}

// SetRate changes the rate at now; the tokens already earned are kept, capped to the new
// burst. A rate of 0 or below pauses the bucket: it earns nothing, and the tokens it held are
// there again when a positive rate is set.
func (b *Bucket) SetRate(rate float64, now time.Time) {
	b.refill(now)
	b.rate = rate
	if rate > 0 {
		b.tokens = min(b.tokens, b.burst())
	}
}

// Idle returns how long the bucket has not been used at now.
func (b *Bucket) Idle(now time.Time) time.Duration { return now.Sub(b.last) }
