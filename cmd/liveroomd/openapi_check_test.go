package main

import (
	"os"
	"testing"

	"github.com/liveroom/liveroom/internal/apicheck"
)

// TestMain checks every reply the tests' HTTP clients get from the binary (http.Get,
// http.DefaultClient, clients without a Transport of their own) against the API document,
// and lists those that do not match it after the run, failing it.
func TestMain(m *testing.M) { os.Exit(apicheck.Main(m, "../../transport/openapi.json")) }
