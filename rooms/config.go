package rooms

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/liveroom/liveroom/ring"
)

// Config is a room's tunable configuration (PROTOCOL.md section 2). Its JSON form is what
// `GET /v1/rooms/{room}` shows and `PUT /v1/rooms/{room}/config` returns.
type Config struct {
	Rate RateConfig `json:"rate"`
	Ring RingConfig `json:"ring"`
	// CountersIntervalMS is counters_interval (PROTOCOL.md section 8.4): a member gets a
	// `counters` frame at most this often, in milliseconds. Default 1000.
	CountersIntervalMS int `json:"counters_interval_ms"`
}

// UnmarshalJSON starts from the defaults, so a field left out (counters_interval_ms in a state
// saved before it existed) keeps its default instead of making the config invalid.
func (c *Config) UnmarshalJSON(b []byte) error {
	type plain Config
	p := plain(DefaultConfig())
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*c = Config(p)
	return nil
}

// CountersInterval is counters_interval as a duration.
func (c Config) CountersInterval() time.Duration {
	return time.Duration(c.CountersIntervalMS) * time.Millisecond
}

// RateConfig is the upstream limit per priority in messages per second; the token bucket's
// burst is one second's worth. System notices are never rate-limited.
// A rate of 0 rejects every message of that priority.
type RateConfig struct {
	High   float64 `json:"high"`   // default 50
	Normal float64 `json:"normal"` // default 200
	Low    float64 `json:"low"`    // default 100
	// PerUID is each viewer's share of the normal and low lanes: a viewer's WebSocket sends
	// also take a token from a bucket of its own at this rate (burst one second's worth), so one
	// viewer cannot starve the room's chat. Backend and admin posts are not limited by it.
	// Default 5.
	PerUID float64 `json:"per_uid"`
}

// UnmarshalJSON starts from the defaults, so a field left out (per_uid in a state saved before
// it existed) keeps its default instead of becoming 0.
func (c *RateConfig) UnmarshalJSON(b []byte) error {
	type plain RateConfig
	p := plain(DefaultConfig().Rate)
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*c = RateConfig(p)
	return nil
}

// RingConfig is the ring capacity per priority, in messages.
type RingConfig struct {
	System int `json:"system"` // default 256
	High   int `json:"high"`   // default 512
	Normal int `json:"normal"` // default 1024
	Low    int `json:"low"`    // default 256
}

// Bounds of the configurable values; Validate rejects anything outside them.
const (
	MaxRate    = 100000 // msg/s per priority
	MinRingCap = 1
	MaxRingCap = 65536

	MinCountersIntervalMS = 50
	MaxCountersIntervalMS = 60000
)

// DefaultConfig returns the defaults of PROTOCOL.md section 2.
func DefaultConfig() Config {
	return Config{
		Rate: RateConfig{High: 50, Normal: 200, Low: 100, PerUID: 5},
		Ring: RingConfig{System: 256, High: 512, Normal: 1024, Low: 256},

		CountersIntervalMS: 1000,
	}
}

// Rates returns the upstream limits indexed by ring.Priority; the system entry is -1 (no limit).
func (c Config) Rates() [ring.NumPriorities]float64 {
	return [ring.NumPriorities]float64{ring.Low: c.Rate.Low, ring.Normal: c.Rate.Normal, ring.High: c.Rate.High, ring.System: -1}
}

// Caps returns the ring capacities indexed by ring.Priority.
func (c Config) Caps() [ring.NumPriorities]int {
	return [ring.NumPriorities]int{ring.Low: c.Ring.Low, ring.Normal: c.Ring.Normal, ring.High: c.Ring.High, ring.System: c.Ring.System}
}

// Validate reports the first out-of-range field as a bad_request *Error.
func (c Config) Validate() error {
	for _, r := range []struct {
		name string
		v    float64
	}{{"rate.high", c.Rate.High}, {"rate.normal", c.Rate.Normal}, {"rate.low", c.Rate.Low}, {"rate.per_uid", c.Rate.PerUID}} {
		if r.v < 0 || r.v > MaxRate || r.v != r.v {
			return Errorf(CodeBadRequest, fmt.Sprintf("%s must be between 0 and %d", r.name, MaxRate))
		}
	}
	for _, r := range []struct {
		name string
		v    int
	}{{"ring.system", c.Ring.System}, {"ring.high", c.Ring.High}, {"ring.normal", c.Ring.Normal}, {"ring.low", c.Ring.Low}} {
		if r.v < MinRingCap || r.v > MaxRingCap {
			return Errorf(CodeBadRequest, fmt.Sprintf("%s must be between %d and %d", r.name, MinRingCap, MaxRingCap))
		}
	}
	if c.CountersIntervalMS < MinCountersIntervalMS || c.CountersIntervalMS > MaxCountersIntervalMS {
		return Errorf(CodeBadRequest, fmt.Sprintf("counters_interval_ms must be between %d and %d", MinCountersIntervalMS, MaxCountersIntervalMS))
	}
	return nil
}

// ConfigPatch is the body of `PUT /v1/rooms/{room}/config`: fields left out (nil) keep
// their values.
type ConfigPatch struct {
	Rate *struct {
		High   *float64 `json:"high"`
		Normal *float64 `json:"normal"`
		Low    *float64 `json:"low"`
		PerUID *float64 `json:"per_uid"`
	} `json:"rate"`
	Ring *struct {
		System *int `json:"system"`
		High   *int `json:"high"`
		Normal *int `json:"normal"`
		Low    *int `json:"low"`
	} `json:"ring"`
	CountersIntervalMS *int `json:"counters_interval_ms,omitempty"`
}

// Empty reports whether the patch changes nothing (a read of the config).
func (p ConfigPatch) Empty() bool {
	return p.Rate == nil && p.Ring == nil && p.CountersIntervalMS == nil
}

// Apply returns c with the patch's fields set, validated.
func (p ConfigPatch) Apply(c Config) (Config, error) {
	setF := func(dst *float64, v *float64) {
		if v != nil {
			*dst = *v
		}
	}
	setI := func(dst *int, v *int) {
		if v != nil {
			*dst = *v
		}
	}
	if p.Rate != nil {
		setF(&c.Rate.High, p.Rate.High)
		setF(&c.Rate.Normal, p.Rate.Normal)
		setF(&c.Rate.Low, p.Rate.Low)
		setF(&c.Rate.PerUID, p.Rate.PerUID)
	}
	if p.Ring != nil {
		setI(&c.Ring.System, p.Ring.System)
		setI(&c.Ring.High, p.Ring.High)
		setI(&c.Ring.Normal, p.Ring.Normal)
		setI(&c.Ring.Low, p.Ring.Low)
	}
	setI(&c.CountersIntervalMS, p.CountersIntervalMS)
	return c, c.Validate()
}
