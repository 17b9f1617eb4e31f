package loadtest

import (
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// acks measures the senders' acknowledgements per priority: the latency from a post's first
// attempt to its 200 (a retried notice's includes its retries), the same per second, and the
// longest stretch of the send phase without any acknowledged post (what a fault costs the
// senders: how long posts failed). Safe for concurrent use.
type acks struct {
	mu     sync.Mutex
	total  [4]*hdrhistogram.Histogram
	second [4]*hdrhistogram.Histogram
	used   [4]bool      // the priority is sent
	start  time.Time    // the send phase began
	stop   time.Time    // it ended (zero while sending)
	last   [4]time.Time // the latest acknowledgement (start before the first)
	gap    [4]time.Duration
}

func newAcks() *acks {
	a := &acks{}
	for p := range a.total {
		a.total[p], a.second[p] = newHist(), newHist()
	}
	return a
}

// begin starts the send phase at start for the priorities with a rate.
func (a *acks) begin(start time.Time, rates map[string]float64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.start = start
	for p, r := range rates {
		if r > 0 {
			i := priOf([]byte(p))
			a.used[i], a.last[i] = true, start
		}
	}
}

// end closes the send phase at t: acknowledgements after it no longer shorten a gap.
func (a *acks) end(t time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stop = t
	for p := range a.used {
		if a.used[p] && t.After(a.last[p]) {
			a.gap[p] = max(a.gap[p], t.Sub(a.last[p]))
			a.last[p] = t
		}
	}
}

// record adds a post of priority p first attempted at first and acknowledged at now.
func (a *acks) record(p int, first, now time.Time) {
	us := max(now.Sub(first).Microseconds(), 1)
	a.mu.Lock()
	defer a.mu.Unlock()
	_ = a.total[p].RecordValue(us)
	_ = a.second[p].RecordValue(us)
	if !a.stop.IsZero() && now.After(a.stop) {
		return // after the send phase: end has closed the gap
	}
	if now.After(a.last[p]) {
		a.gap[p] = max(a.gap[p], now.Sub(a.last[p]))
		a.last[p] = now
	}
}

// takeSecond returns the p99 (ms) of each priority's acknowledgements since the last call.
func (a *acks) takeSecond() map[string]float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out map[string]float64
	for p, h := range a.second {
		if h.TotalCount() > 0 {
			if out == nil {
				out = map[string]float64{}
			}
			out[priNames[p]] = float64(h.ValueAtQuantile(99)) / 1000
			h.Reset()
		}
	}
	return out
}

// summary returns the latency quantiles and the longest gap (seconds) of the sent priorities.
func (a *acks) summary() (map[string]Quantiles, map[string]float64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	lat, gaps := map[string]Quantiles{}, map[string]float64{}
	for p := range a.used {
		if !a.used[p] {
			continue
		}
		if a.total[p].TotalCount() > 0 {
			lat[priNames[p]] = quantiles(a.total[p])
		}
		gaps[priNames[p]] = a.gap[p].Seconds()
	}
	return lat, gaps
}
