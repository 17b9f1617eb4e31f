package rooms

import (
	"math"
	"time"
)

// A room's counters (PROTOCOL.md section 8.4): named int64 totals that viewers and the backend
// add to. They are not messages: they never enter the rings or use an upstream lane, and
// viewers see totals, so an update a viewer skips loses nothing.

// Bounds of counters.
const (
	MaxCounters     = 16 // per room
	MaxCounterName  = 32 // bytes of [a-z0-9_]
	MaxViewerDelta  = 100
	AddsPerSecond   = 20 // per session and room; burst one second's worth
	CounterNameRule = "counter names match [a-z0-9_]{1,32}"
)

// ValidCounterName reports whether name matches ^[a-z0-9_]{1,32}$.
func ValidCounterName(name string) bool {
	if len(name) < 1 || len(name) > MaxCounterName {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// NewAddLimiter returns a session's bucket for its adds to one room (AddsPerSecond, burst one
// second's worth).
func NewAddLimiter(now time.Time) Bucket { return NewBucket(AddsPerSecond, now) }

// Counters are a room's totals by name. The zero value is empty and ready.
type Counters map[string]int64

// Add adds delta to name and returns the new total: bad_request for a bad name, a name that
// would be the room's 17th counter, or a total that would leave int64.
func (c *Counters) Add(name string, delta int64) (int64, error) {
	if !ValidCounterName(name) {
		return 0, Errorf(CodeBadRequest, CounterNameRule)
	}
	cur, ok := (*c)[name]
	if !ok && len(*c) >= MaxCounters {
		return 0, Errorf(CodeBadRequest, "a room has at most 16 counters")
	}
	if delta > 0 && cur > math.MaxInt64-delta || delta < 0 && cur < math.MinInt64-delta {
		return cur, Errorf(CodeBadRequest, "the counter's total would overflow int64")
	}
	if *c == nil {
		*c = make(Counters, 1)
	}
	(*c)[name] = cur + delta
	return cur + delta, nil
}

// Set sets name to v (bad_request for a bad name or a 17th counter).
func (c *Counters) Set(name string, v int64) error {
	if !ValidCounterName(name) {
		return Errorf(CodeBadRequest, CounterNameRule)
	}
	if _, ok := (*c)[name]; !ok && len(*c) >= MaxCounters {
		return Errorf(CodeBadRequest, "a room has at most 16 counters")
	}
	if *c == nil {
		*c = make(Counters, 1)
	}
	(*c)[name] = v
	return nil
}

// NonZero reports whether any counter is not 0 (a room with one is worth keeping).
func (c Counters) NonZero() bool {
	for _, v := range c {
		if v != 0 {
			return true
		}
	}
	return false
}

// Clone returns a copy (nil for an empty set).
func (c Counters) Clone() Counters {
	if len(c) == 0 {
		return nil
	}
	out := make(Counters, len(c))
	for k, v := range c {
		out[k] = v
	}
	return out
}
