package rooms

import (
	"testing"
	"time"
)

// t0 is the tests' clock origin; nothing in the package reads the real clock.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

const ms = time.Millisecond

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
