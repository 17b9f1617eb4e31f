package wire

import (
	"math"
	"testing"
)

func TestCountersFrames(t *testing.T) {
	f := func(got []byte, want string) { t.Helper(); wantJSON(t, got, want) }
	id := int64(7)
	cs := []Counter{{"gift_value", math.MinInt64}, {"likes", 123456}}
	f(AppendCounters(nil, "R", cs, 98765), `{"op":"counters","room":"R","counters":{"gift_value":-9223372036854775808,"likes":123456},"online":98765}`)
	f(AppendCounters(nil, "R", nil, 0), `{"op":"counters","room":"R","counters":{},"online":0}`)
	f(AppendAdded(nil, "R", &id), `{"op":"added","room":"R","id":7}`)
	f(AppendAdded(nil, "R", nil), `{"op":"added","room":"R"}`)
	f(WithCounters(AppendJoined(nil, "R", "e", 5, 2, 3, &id), cs[1:]),
		`{"op":"joined","room":"R","epoch":"e","ts":5,"seq":2,"online":3,"id":7,"counters":{"likes":123456}}`)
	f(WithCounters(AppendJoined(nil, "R", "e", 5, 2, 3, nil), nil),
		`{"op":"joined","room":"R","epoch":"e","ts":5,"seq":2,"online":3,"counters":{}}`)
	f(AppendValueBody(nil, math.MaxInt64), `{"value":9223372036854775807}`)
}
