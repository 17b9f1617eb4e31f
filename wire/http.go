package wire

import "strconv"

// The HTTP API's bodies that are built by hand (PROTOCOL.md section 5); the pull answer is
// AppendPullBody (window.go). Their strings keep <, > and & as they are (AppendStringKeepHTML).

// OKBody answers a request that succeeded with nothing to return.
const OKBody = `{"ok":true}`

// AppendErrorBody appends `{"error":{"code":C,"message":M}}`.
func AppendErrorBody(b []byte, code, message string) []byte {
	b = append(b, `{"error":{"code":`...)
	b = AppendStringKeepHTML(b, code)
	b = append(b, `,"message":`...)
	b = AppendStringKeepHTML(b, message)
	return append(b, "}}"...)
}

// AppendStampBody appends a send's answer `{"ts":T,"seq":S}`, with `"dup":true` for a repeated
// cmid.
func AppendStampBody(b []byte, ts int64, seq uint64, dup bool) []byte {
	b = append(b, `{"ts":`...)
	b = strconv.AppendInt(b, ts, 10)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, seq, 10)
	if dup {
		b = append(b, `,"dup":true`...)
	}
	return append(b, '}')
}

// AppendRoomsBody appends `{"rooms":N}`, the number of rooms a notice to all reached.
func AppendRoomsBody(b []byte, n int) []byte {
	b = append(b, `{"rooms":`...)
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, '}')
}

// AppendRouteBody appends `{"node":N,"ws":W}`: a uid's node and its WebSocket URL.
func AppendRouteBody(b []byte, node, ws string) []byte {
	b = append(b, `{"node":`...)
	b = AppendStringKeepHTML(b, node)
	b = append(b, `,"ws":`...)
	b = AppendStringKeepHTML(b, ws)
	return append(b, '}')
}

// AppendTokenBody appends `{"token":T}`.
func AppendTokenBody(b []byte, token string) []byte {
	b = append(b, `{"token":`...)
	b = AppendStringKeepHTML(b, token)
	return append(b, '}')
}
