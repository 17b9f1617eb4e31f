//go:build !pusheach

package main

import (
	"flag"

	"github.com/liveroom/liveroom/actors"
)

// baselineFlags registers nothing: --push-each exists only in a -tags pusheach build.
func baselineFlags(*flag.FlagSet) func(*actors.Config) { return func(*actors.Config) {} }
