//go:build pusheach

// --push-each, the load test's baseline (actors/pusheach_pusheach.go): only in the binary that
// scripts/loadtest.sh builds with PUSH_EACH=1, never in the one operators run.

package main

import (
	"flag"

	"github.com/liveroom/liveroom/actors"
)

// baselineFlags registers --push-each; the function returned sets it in the node's config.
func baselineFlags(fs *flag.FlagSet) func(*actors.Config) {
	on := fs.Bool("push-each", false, "baseline for load tests: push every message to every viewer (no notify/pull)")
	return func(c *actors.Config) { c.PushEach = *on }
}
