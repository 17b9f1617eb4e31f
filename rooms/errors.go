package rooms

import "errors"

// Code is a protocol error code (PROTOCOL.md section 3). The same codes are used on the
// WebSocket (`{"op":"error","code":...}`) and in HTTP error bodies.
type Code string

// The error codes of the contract, with when they are returned.
const (
	CodeBadRequest   Code = "bad_request"    // malformed input: JSON, types, ids, unknown op
	CodeUnauthorized Code = "unauthorized"   // missing or bad token / key
	CodeForbidden    Code = "forbidden"      // authenticated but not allowed (e.g. system pri by a viewer)
	CodeNotJoined    Code = "not_joined"     // a room op on a room the session has not joined
	CodeRateLimited  Code = "rate_limited"   // upstream token bucket empty, or abuse limit
	CodeMuted        Code = "muted"          // the uid is muted in the room
	CodeBanned       Code = "banned"         // the uid is banned from the room
	CodeTooLarge     Code = "too_large"      // body over max_body
	CodeTooManyRooms Code = "too_many_rooms" // session already joined max_rooms rooms
	CodeUnavailable  Code = "unavailable"    // the room or the store could not be reached in time
	CodeInternal     Code = "internal"       // a bug; logged
	CodeNotFound     Code = "not_found"      // HTTP only: unknown path
)

// Error is an error that carries a protocol code. Handlers turn it into the wire form;
// any other error is reported as `internal`.
type Error struct {
	Code    Code
	Message string
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Errorf is a short constructor for an *Error.
func Errorf(code Code, msg string) *Error { return &Error{Code: code, Message: msg} }

// CodeOf returns the protocol code of err: its own if it is (or wraps) an *Error,
// `internal` otherwise.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}
