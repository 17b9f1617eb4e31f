package metrics

import "github.com/prometheus/client_golang/prometheus"

// The latency histograms: what an operator alerts on (docs/operations.md). Each is observed
// where it costs one clock read and one atomic add per event, never per viewer: the delivery
// lag and the round once per replica round that did work, a grain request per request, the
// store per operation.
//
// Buckets: fixed, exponential, spanning what was measured on the load-test machine
// (docs/benchmarks.md) up to the timeouts (a grain request gives up after 5 s, a store call
// after the request timeout), so that the alert thresholds fall inside a bucket range.

// The bucket upper bounds, in seconds.
var (
	lagBuckets   = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10}
	roundBuckets = prometheus.ExponentialBuckets(10e-6, 4, 9)     // 10 µs .. 655 ms
	grainBuckets = prometheus.ExponentialBuckets(250e-6, 2.5, 11) // 0.25 ms .. 2.4 s
	storeBuckets = prometheus.ExponentialBuckets(100e-6, 2.5, 12) // 0.1 ms .. 2.4 s
)

func (m *Metrics) newHistograms() {
	h := func(name, help string, buckets []float64) prometheus.Histogram {
		return prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "liveroom", Name: name, Help: help, Buckets: buckets})
	}
	m.DeliveryLag = h("delivery_lag_seconds", "From a message's ts (stamped by its room) to the dispatch round that wrote the first "+
		"notify or pushed window covering it, sampled once per round per replica (the round's newest message). "+
		"Across nodes it includes their clock difference.", lagBuckets)
	m.RoundSeconds = h("round_seconds", "One notify/push dispatch round of a room replica (rounds with nothing to do are not observed).", roundBuckets)
	m.GrainRequest = h("grain_request_seconds", "One request from this node to a room grain (send, join check, pull catch-up, config, "+
		"moderation), each attempt, answered or not.", grainBuckets)
	m.StoreSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "liveroom", Name: "store_seconds",
		Help: "One store operation (Redis with --redis), by op, successful or not.", Buckets: storeBuckets}, []string{"op"})
}
