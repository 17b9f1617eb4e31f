package transport

// WebSocket close codes (PROTOCOL.md section 3) and whether a client should reconnect.
const (
	CloseNormal       = 1000 // the session was closed on purpose (kicked): reconnect only if the app wants
	CloseGoingAway    = 1001 // the server is shutting down: reconnect (elsewhere) with backoff
	CloseTooLarge     = 1009 // a frame over max_frame: a client bug, do not resend it
	CloseUnauthorized = 4001 // the token expired or is invalid: get a new token first
	CloseBanned       = 4003 // banned: do not reconnect to that room
	CloseUnresponsive = 4008 // notifies went unanswered kick_after times: reconnect and pull faster
	CloseTooManyConns = 4029 // session cap (replaced) or connection rate exceeded: back off
)

// closeCodeFor maps a whole-session kick reason to its close code.
func closeCodeFor(reason string) int {
	switch reason {
	case "unresponsive":
		return CloseUnresponsive
	case "replaced":
		return CloseTooManyConns
	case "shutdown":
		return CloseGoingAway
	case "banned":
		return CloseBanned
	case "expired":
		return CloseUnauthorized
	}
	return CloseNormal
}
