package main

import (
	"fmt"
	"net/http"
	"os"
	"testing"

	"github.com/liveroom/liveroom/internal/apicheck"
)

// TestMain checks every reply the tests' HTTP clients get from the binary (http.Get,
// http.DefaultClient, clients without a Transport of their own) against the API document
// (transport/openapi.json), and lists those that do not match it after the run, failing it.
func TestMain(m *testing.M) {
	b, err := os.ReadFile("../../transport/openapi.json")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	doc, err := apicheck.Load(b)
	if err != nil {
		fmt.Fprintln(os.Stderr, "transport/openapi.json:", err)
		os.Exit(1)
	}
	var log apicheck.Log
	http.DefaultTransport = &apicheck.Transport{Doc: doc, Log: &log, Base: http.DefaultTransport}
	code := m.Run()
	if log.Report(os.Stderr, doc, testing.Verbose()) && code == 0 {
		code = 1
	}
	os.Exit(code)
}
