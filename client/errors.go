package client

import (
	"errors"
	"fmt"
)

// Error codes of PROTOCOL.md section 3, as they appear in ServerError.Code and APIError.Code.
const (
	CodeBadRequest   = "bad_request"
	CodeUnauthorized = "unauthorized"
	CodeForbidden    = "forbidden"
	CodeNotJoined    = "not_joined"
	CodeRateLimited  = "rate_limited"
	CodeMuted        = "muted"
	CodeBanned       = "banned"
	CodeTooLarge     = "too_large"
	CodeTooManyRooms = "too_many_rooms"
	CodeUnavailable  = "unavailable"
	CodeInternal     = "internal"
)

// WebSocket close codes of PROTOCOL.md section 3, plus 1006 which no frame carries: OnClose
// reports it when the connection ended without a close frame.
const (
	CloseNormal       = 1000
	CloseGoingAway    = 1001 // server shutting down
	CloseAbnormal     = 1006 // no close frame received (network error, local shutdown)
	CloseTooLarge     = 1009
	CloseUnauthorized = 4001
	CloseBanned       = 4003
	CloseUnresponsive = 4008
	CloseTooManyConns = 4029
)

// ErrClosed is returned by requests on a Conn whose connection has ended (or is closing).
var ErrClosed = errors.New("liveroom client: connection closed")

// ErrUnexpectedReply means the server answered a request with a frame of the wrong op.
var ErrUnexpectedReply = errors.New("liveroom client: unexpected reply op")

// CloseError is how a connection ended: the code and text of the server's close frame, or
// CloseAbnormal with the network error's text when none came. Requests pending or made on an
// ended Conn fail with it; errors.Is(err, ErrClosed) is true for it.
type CloseError struct {
	Code int
	Text string
}

func (e *CloseError) Error() string {
	return fmt.Sprintf("liveroom client: connection closed: %d %s", e.Code, e.Text)
}

// Is makes errors.Is(err, ErrClosed) true for a *CloseError.
func (e *CloseError) Is(target error) bool { return target == ErrClosed }

// ServerError is an error frame: {"op":"error","id":..,"code":..,"message":..}.
type ServerError struct {
	Code    string
	Message string
	ID      uint64 // the id of the request it answers; 0 for an error without id
}

func (e *ServerError) Error() string {
	if e.Message == "" {
		return "liveroom: " + e.Code
	}
	return "liveroom: " + e.Code + ": " + e.Message
}

// IsCode reports whether err is a *ServerError or an *APIError with the given code.
func IsCode(err error, code string) bool {
	var se *ServerError
	if errors.As(err, &se) {
		return se.Code == code
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Code == code
	}
	return false
}

// HandshakeError is returned by Dial when the server refused the upgrade with an HTTP status
// (401 for a bad token, 429 when connections are rate-limited).
type HandshakeError struct {
	Status int
	Body   string // the start of the response body
}

func (e *HandshakeError) Error() string {
	return fmt.Sprintf("liveroom client: websocket upgrade refused: HTTP %d: %s", e.Status, e.Body)
}

// APIError is an HTTP API error: the status and the {"error":{"code","message"}} body. When
// the body is not in that shape, Code is empty and Message holds the start of the body.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("liveroom api: HTTP %d %s: %s", e.Status, e.Code, e.Message)
}
