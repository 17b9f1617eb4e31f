package loadtest

import (
	"reflect"
	"testing"
)

func TestKicksByReason(t *testing.T) {
	var c counters
	for _, f := range []string{
		`{"op":"kick","reason":"unresponsive"}`, `{"op":"kick","reason":"unresponsive"}`,
		`{"op":"kick","room":"r","reason":"banned"}`, `{"op":"kick","reason":"replaced"}`,
		`{"op":"kick","reason":"something new"}`,
	} {
		c.countKick([]byte(f))
	}
	got := c.totals()
	want := map[string]int64{"unresponsive": 2, "banned": 1, "replaced": 1, "other": 1}
	if got.Kicks != 5 || !reflect.DeepEqual(got.KickWhy, want) {
		t.Fatalf("kicks %d by reason %v, want 5 %v", got.Kicks, got.KickWhy, want)
	}
	var sum Totals
	sum.add(got)
	sum.add(got)
	if sum.KickWhy["unresponsive"] != 4 || sum.KickWhy["other"] != 2 {
		t.Fatalf("summed %v", sum.KickWhy)
	}
	var none counters
	if none.totals().KickWhy != nil {
		t.Fatal("no kicks, yet reasons")
	}
}
