// Package testwait holds what tests of several packages await: a condition, a node's metric.
package testwait

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// For polls cond every 5 ms until it holds, failing the test after timeout.
func For(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Metric reads a metric from the /metrics of the node at addr (host:port): its samples summed
// over their labels (liveroom_accepted_total is the sum of its pri samples); 0 when absent.
func Metric(t testing.TB, addr, name string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	sum := 0.0
	for _, line := range strings.Split(string(b), "\n") {
		v, ok := strings.CutPrefix(line, name+" ")
		if !ok {
			if rest, labelled := strings.CutPrefix(line, name+"{"); labelled {
				if _, after, found := strings.Cut(rest, "} "); found {
					v, ok = after, true
				}
			}
		}
		if ok {
			f, _ := strconv.ParseFloat(v, 64)
			sum += f
		}
	}
	return sum
}
