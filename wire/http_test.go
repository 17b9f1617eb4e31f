package wire

import (
	"encoding/json"
	"testing"
)

// TestHTTPBodies: each body against the bytes the handlers wrote before (golden, see
// golden_test.go).
func TestHTTPBodies(t *testing.T) {
	f := func(got []byte, want string) {
		t.Helper()
		if string(got) != "x"+want {
			t.Errorf("got  %s\nwant x%s", got, want)
		}
		if !json.Valid(got[1:]) {
			t.Errorf("not JSON: %q", got)
		}
	}
	x := func() []byte { return []byte("x") }
	f(append(x(), OKBody...), `{"ok":true}`)
	f(AppendErrorBody(x(), "forbidden", "plain"), `{"error":{"code":"forbidden","message":"plain"}}`)
	f(AppendErrorBody(x(), "unauthorized", "a valid key is required (Authorization: Bearer <key>)"),
		`{"error":{"code":"unauthorized","message":"a valid key is required (Authorization: Bearer <key>)"}}`)
	f(AppendErrorBody(x(), "forbidden", `x&y>z<`), `{"error":{"code":"forbidden","message":"x&y>z<"}}`)
	f(AppendErrorBody(x(), "forbidden", "ctl\x00\x01\n\r\t\b\f\x1f\x7f"),
		"{\"error\":{\"code\":\"forbidden\",\"message\":\"ctl\\u0000\\u0001\\n\\r\\t\\b\\f\\u001f\x7f\"}}")
	f(AppendErrorBody(x(), "forbidden", "bad\xffutf8"), `{"error":{"code":"forbidden","message":"bad\ufffdutf8"}}`)
	f(AppendErrorBody(x(), "forbidden", "sep\u2028x"), `{"error":{"code":"forbidden","message":"sep\u2028x"}}`)
	f(AppendErrorBody(x(), "unavailable", "not ready: store unreachable"),
		`{"error":{"code":"unavailable","message":"not ready: store unreachable"}}`)
	f(AppendStampBody(x(), 1732280000123456, 42, false), `{"ts":1732280000123456,"seq":42}`)
	f(AppendStampBody(x(), 1732280000123456, 42, true), `{"ts":1732280000123456,"seq":42,"dup":true}`)
	f(AppendRoomsBody(x(), 3), `{"rooms":3}`)
	f(AppendRouteBody(x(), "node-a", "ws://127.0.0.1:8080/v1/ws"), `{"node":"node-a","ws":"ws://127.0.0.1:8080/v1/ws"}`)
	f(AppendRouteBody(x(), `n"1`, "wss://x/v1/ws?a=1&b=<2>"), `{"node":"n\"1","ws":"wss://x/v1/ws?a=1&b=<2>"}`)
	f(AppendTokenBody(x(), "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSJ9.sig-_x"), `{"token":"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSJ9.sig-_x"}`)
}
