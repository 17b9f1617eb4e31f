package loadtest

import (
	"bytes"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Priority names, indexed as in msgInfo.pri.
var priNames = [4]string{"low", "normal", "high", "system"}

// counters are a worker's running totals (atomics: every viewer goroutine adds to them).
type counters struct {
	deliveries   [4]atomic.Int64 // messages received, by priority
	dropped      atomic.Int64    // `dropped` reported by pulls
	frames       atomic.Int64    // frames received
	notifies     atomic.Int64
	pulls        atomic.Int64
	kicks        atomic.Int64
	kickWhy      [len(kickReasons)]atomic.Int64 // kicks by reason (kickReasons; the last is any other)
	errorWhy     [len(errorCodes)]atomic.Int64  // error frames by code (errorCodes; the last is any other)
	reconnects   atomic.Int64
	churns       atomic.Int64 // sessions closed on purpose (--churn)
	acctErrors   atomic.Int64
	acctMu       sync.Mutex
	acctSamples  []string     // the first few accounting errors, described (maxAcctSamples)
	connected    atomic.Int64 // sessions currently joined
	dialFails    atomic.Int64
	joinTimeouts atomic.Int64 // attempts whose join got no joined within joinTimeout
	errorFrames  atomic.Int64 // error frames received (a refused join ends its attempt)
	silentEnds   atomic.Int64 // sessions closed for silence (--liveness)
	connectNs    atomic.Int64 // summed time from dial to joined of first connections
	firstJoins   atomic.Int64

	addsOffered    atomic.Int64 // taps written: the adds' deltas summed (counters.go)
	addFrames      atomic.Int64 // add frames written
	addsRefused    atomic.Int64 // taps refused (error frames without id), at least
	addsRefusedMax atomic.Int64 // taps refused, at most (counters.go)
	addsInDoubt    atomic.Int64 // taps written just before their session ended (counters.go)
	counterFrames  atomic.Int64
}

const maxAcctSamples = 8

// acctError counts an accounting error and keeps the description of the first few.
func (c *counters) acctError(describe func() string) {
	c.acctErrors.Add(1)
	c.acctMu.Lock()
	defer c.acctMu.Unlock()
	if len(c.acctSamples) < maxAcctSamples {
		c.acctSamples = append(c.acctSamples, describe())
	}
}

// Totals is the JSON form of counters.
type Totals struct {
	Deliveries   map[string]int64 `json:"deliveries"`
	Dropped      int64            `json:"dropped"`
	Frames       int64            `json:"frames"`
	Notifies     int64            `json:"notifies"`
	Pulls        int64            `json:"pulls"`
	Kicks        int64            `json:"kicks"`
	KickWhy      map[string]int64 `json:"kicks_by_reason,omitempty"`
	ErrorWhy     map[string]int64 `json:"error_frames_by_code,omitempty"`
	Reconnects   int64            `json:"reconnects"` // connection attempts after each viewer's first
	Churns       int64            `json:"churns"`     // sessions closed on purpose (--churn)
	AcctErrors   int64            `json:"accounting_errors"`
	AcctSamples  []string         `json:"accounting_error_samples,omitempty"` // the first few, for diagnosis
	Connected    int64            `json:"connected"`
	DialFails    int64            `json:"dial_failures"` // attempts that did not get as far as joined
	JoinTimeouts int64            `json:"join_timeouts"` // of which the server did not answer the join within 10 s
	ErrorFrames  int64            `json:"error_frames"`  // error frames received (to a join: the attempt failed; to a pull: it may pull again)
	SilentEnds   int64            `json:"silent_ends"`   // sessions closed after 2 x --liveness without a frame
	FirstJoins   int64            `json:"first_joins"`
	ConnectNs    int64            `json:"connect_ns_sum"`

	AddsOffered    int64 `json:"adds_offered,omitempty"` // taps
	AddFrames      int64 `json:"add_frames,omitempty"`
	AddsRefused    int64 `json:"adds_refused,omitempty"` // taps, at least
	AddsRefusedMax int64 `json:"adds_refused_max,omitempty"`
	AddsInDoubt    int64 `json:"adds_in_doubt,omitempty"`
	CounterFrames  int64 `json:"counter_frames,omitempty"` // counters frames and pushed windows carrying the counters
}

func (c *counters) totals() Totals {
	t := Totals{Deliveries: map[string]int64{}, Dropped: c.dropped.Load(), Frames: c.frames.Load(),
		Notifies: c.notifies.Load(), Pulls: c.pulls.Load(), Kicks: c.kicks.Load(), Reconnects: c.reconnects.Load(), Churns: c.churns.Load(),
		AcctErrors: c.acctErrors.Load(), Connected: c.connected.Load(), DialFails: c.dialFails.Load(), JoinTimeouts: c.joinTimeouts.Load(), ErrorFrames: c.errorFrames.Load(), SilentEnds: c.silentEnds.Load(),
		FirstJoins: c.firstJoins.Load(), ConnectNs: c.connectNs.Load(),
		AddsOffered: c.addsOffered.Load(), AddFrames: c.addFrames.Load(), AddsRefused: c.addsRefused.Load(), AddsRefusedMax: c.addsRefusedMax.Load(),
		AddsInDoubt: c.addsInDoubt.Load(), CounterFrames: c.counterFrames.Load()}
	c.acctMu.Lock()
	t.AcctSamples = append([]string(nil), c.acctSamples...)
	c.acctMu.Unlock()
	for i, n := range priNames {
		t.Deliveries[n] = c.deliveries[i].Load()
	}
	for i, why := range kickReasons {
		if n := c.kickWhy[i].Load(); n > 0 {
			if t.KickWhy == nil {
				t.KickWhy = map[string]int64{}
			}
			t.KickWhy[why] = n
		}
	}
	for i, code := range errorCodes {
		if n := c.errorWhy[i].Load(); n > 0 {
			if t.ErrorWhy == nil {
				t.ErrorWhy = map[string]int64{}
			}
			t.ErrorWhy[code] = n
		}
	}
	return t
}

// kickReasons are the kick reasons of PROTOCOL.md section 3, then "other".
var kickReasons = [...]string{"unresponsive", "replaced", "shutdown", "banned", "kicked", "other"}

// countKick counts a kick frame by its reason.
func (c *counters) countKick(frame []byte) {
	c.kicks.Add(1)
	for i, why := range kickReasons[:len(kickReasons)-1] {
		if bytes.Contains(frame, []byte(`"reason":"`+why+`"`)) {
			c.kickWhy[i].Add(1)
			return
		}
	}
	c.kickWhy[len(kickReasons)-1].Add(1)
}

// errorCodes are the error codes of PROTOCOL.md section 3, then "other".
var errorCodes = [...]string{"bad_request", "unauthorized", "forbidden", "not_joined", "rate_limited", "muted", "banned",
	"too_large", "too_many_rooms", "unavailable", "internal", "other"}

// countError counts an error frame by its code.
func (c *counters) countError(frame []byte) {
	c.errorFrames.Add(1)
	code := strField(frame, keyCode)
	for i, known := range errorCodes[:len(errorCodes)-1] {
		if string(code) == known {
			c.errorWhy[i].Add(1)
			return
		}
	}
	c.errorWhy[len(errorCodes)-1].Add(1)
}

// add sums b into t.
func (t *Totals) add(b Totals) {
	if t.Deliveries == nil {
		t.Deliveries = map[string]int64{}
	}
	for k, v := range b.Deliveries {
		t.Deliveries[k] += v
	}
	t.Dropped += b.Dropped
	t.Frames += b.Frames
	t.Notifies += b.Notifies
	t.Pulls += b.Pulls
	t.Kicks += b.Kicks
	for k, v := range b.KickWhy {
		if t.KickWhy == nil {
			t.KickWhy = map[string]int64{}
		}
		t.KickWhy[k] += v
	}
	for k, v := range b.ErrorWhy {
		if t.ErrorWhy == nil {
			t.ErrorWhy = map[string]int64{}
		}
		t.ErrorWhy[k] += v
	}
	t.Reconnects += b.Reconnects
	t.Churns += b.Churns
	t.AcctErrors += b.AcctErrors
	for _, s := range b.AcctSamples {
		if len(t.AcctSamples) < maxAcctSamples {
			t.AcctSamples = append(t.AcctSamples, s)
		}
	}
	t.Connected += b.Connected
	t.DialFails += b.DialFails
	t.JoinTimeouts += b.JoinTimeouts
	t.ErrorFrames += b.ErrorFrames
	t.SilentEnds += b.SilentEnds
	t.FirstJoins += b.FirstJoins
	t.ConnectNs += b.ConnectNs
	t.AddsOffered += b.AddsOffered
	t.AddFrames += b.AddFrames
	t.AddsRefused += b.AddsRefused
	t.AddsRefusedMax += b.AddsRefusedMax
	t.AddsInDoubt += b.AddsInDoubt
	t.CounterFrames += b.CounterFrames
}

// sub returns t - b (per-second deltas; Connected is a gauge and is kept).
func (t Totals) sub(b Totals) Totals {
	d := Totals{Deliveries: map[string]int64{}, Dropped: t.Dropped - b.Dropped, Frames: t.Frames - b.Frames,
		Notifies: t.Notifies - b.Notifies, Pulls: t.Pulls - b.Pulls, Kicks: t.Kicks - b.Kicks,
		Reconnects: t.Reconnects - b.Reconnects, Churns: t.Churns - b.Churns, AcctErrors: t.AcctErrors - b.AcctErrors, Connected: t.Connected,
		DialFails: t.DialFails - b.DialFails, JoinTimeouts: t.JoinTimeouts - b.JoinTimeouts, ErrorFrames: t.ErrorFrames - b.ErrorFrames, SilentEnds: t.SilentEnds - b.SilentEnds, FirstJoins: t.FirstJoins - b.FirstJoins, ConnectNs: t.ConnectNs - b.ConnectNs,
		AddsOffered: t.AddsOffered - b.AddsOffered, AddFrames: t.AddFrames - b.AddFrames, AddsRefused: t.AddsRefused - b.AddsRefused,
		AddsRefusedMax: t.AddsRefusedMax - b.AddsRefusedMax, AddsInDoubt: t.AddsInDoubt - b.AddsInDoubt, CounterFrames: t.CounterFrames - b.CounterFrames}
	for k, v := range t.Deliveries {
		d.Deliveries[k] = v - b.Deliveries[k]
	}
	return d
}

// Latency histograms: microseconds from a message's ts to its receipt, 1 us .. 10 min.
func newHist() *hdrhistogram.Histogram {
	return hdrhistogram.New(1, int64(10*time.Minute/time.Microsecond), 3)
}

// latencies is sharded so that thousands of viewer goroutines do not queue on one mutex (the
// epoll IO has a shard per handler). A histogram is 172 KB (1 us .. 10 min, 3 digits): a
// shard's are made on their priority's first message, and an empty one is never reset or
// merged, so that a priority nobody posts costs no memory.
type latencies struct {
	shards []latShard
	sec    [4]*hdrhistogram.Histogram // takeSecond's result, reused (its one caller encodes it at once)
}

type latShard struct {
	mu     sync.Mutex
	total  [4]*hdrhistogram.Histogram
	second [4]*hdrhistogram.Histogram
}

func newLatencies(shards int) *latencies {
	return &latencies{shards: make([]latShard, max(shards, 1))}
}

// record adds one batch of messages received at recv by viewer id.
func (l *latencies) record(id int, msgs []msgInfo, recvUS int64) {
	sh := &l.shards[id%len(l.shards)]
	sh.mu.Lock()
	for _, m := range msgs {
		if sh.total[m.pri] == nil {
			sh.total[m.pri], sh.second[m.pri] = newHist(), newHist()
		}
		v := max(recvUS-m.ts, 1)
		_ = sh.total[m.pri].RecordValue(v)
		_ = sh.second[m.pri].RecordValue(v)
	}
	sh.mu.Unlock()
}

// takeSecond merges and resets the per-second histograms. The result is valid until the next
// call.
func (l *latencies) takeSecond() [4]*hdrhistogram.Histogram {
	for p, h := range l.sec {
		if h == nil {
			l.sec[p] = newHist()
		} else if h.TotalCount() > 0 {
			h.Reset()
		}
	}
	l.mergeInto(&l.sec, func(sh *latShard) *[4]*hdrhistogram.Histogram { return &sh.second }, true)
	return l.sec
}

// totals merges the whole run's histograms.
func (l *latencies) totals() [4]*hdrhistogram.Histogram {
	var out [4]*hdrhistogram.Histogram
	for p := range out {
		out[p] = newHist()
	}
	l.mergeInto(&out, func(sh *latShard) *[4]*hdrhistogram.Histogram { return &sh.total }, false)
	return out
}

func (l *latencies) mergeInto(out *[4]*hdrhistogram.Histogram, pick func(*latShard) *[4]*hdrhistogram.Histogram, reset bool) {
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		for p, h := range pick(sh) {
			if h == nil || h.TotalCount() == 0 {
				continue
			}
			out[p].Merge(h)
			if reset {
				h.Reset()
			}
		}
		sh.mu.Unlock()
	}
}

// Quantiles summarises a histogram in milliseconds.
type Quantiles struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

func quantiles(h *hdrhistogram.Histogram) Quantiles {
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return Quantiles{Count: h.TotalCount(), P50: ms(h.ValueAtQuantile(50)), P90: ms(h.ValueAtQuantile(90)),
		P99: ms(h.ValueAtQuantile(99)), Max: ms(h.Max())}
}
