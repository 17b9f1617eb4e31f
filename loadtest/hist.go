package loadtest

import (
	"sync"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// durations is a histogram of rare events' durations (us), safe for concurrent use.
type durations struct {
	mu sync.Mutex
	h  *hdrhistogram.Histogram
}

func (d *durations) record(ns int64) {
	d.mu.Lock()
	_ = d.h.RecordValue(max(ns/1000, 1))
	d.mu.Unlock()
}

func (d *durations) encode() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return encodeHist(d.h)
}

func encodeHist(h *hdrhistogram.Histogram) string {
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return ""
	}
	return string(b)
}

func decodeHist(s string) *hdrhistogram.Histogram {
	if s == "" {
		return newHist()
	}
	h, err := hdrhistogram.Decode([]byte(s))
	if err != nil {
		return newHist()
	}
	return h
}
