package transport

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/liveroom/liveroom/rooms"
	"github.com/liveroom/liveroom/wire"
)

// The HTTP API of PROTOCOL.md section 5: the request's way to the router's table (routes.go),
// method and key checks, and the error format.
// The handlers are in http_messages.go (posts, notices, pulls), http_rooms.go (info, config,
// moderation) and http_node.go (health, route, dev token, the web pages); bodies are parsed in codec.go.

// statusOf maps a protocol code to its HTTP status.
func statusOf(code rooms.Code) int {
	switch code {
	case rooms.CodeBadRequest:
		return fasthttp.StatusBadRequest
	case rooms.CodeUnauthorized:
		return fasthttp.StatusUnauthorized
	case rooms.CodeForbidden, rooms.CodeMuted, rooms.CodeBanned:
		return fasthttp.StatusForbidden
	case rooms.CodeNotFound:
		return fasthttp.StatusNotFound
	case rooms.CodeNotJoined, rooms.CodeTooManyRooms:
		return fasthttp.StatusConflict
	case rooms.CodeTooLarge:
		return fasthttp.StatusRequestEntityTooLarge
	case rooms.CodeRateLimited:
		return fasthttp.StatusTooManyRequests
	case rooms.CodeUnavailable:
		return fasthttp.StatusServiceUnavailable
	}
	return fasthttp.StatusInternalServerError
}

// wireError returns err's code and message: its own for a *rooms.Error (wrapped or not),
// unavailable for a timeout or cancellation, internal for anything else.
func wireError(err error) (rooms.Code, string) {
	var e *rooms.Error
	switch {
	case errors.As(err, &e):
		return e.Code, e.Message
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return rooms.CodeUnavailable, "the room did not answer in time"
	}
	return rooms.CodeInternal, err.Error()
}

// writeError writes `{"error":{"code","message"}}` with the code's status.
func writeError(ctx *fasthttp.RequestCtx, err error) {
	code, msg := wireError(err)
	b := wire.AppendErrorBody(make([]byte, 0, 48+len(code)+len(msg)), string(code), msg)
	ctx.SetStatusCode(statusOf(code))
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}

func writeOK(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType("application/json")
	ctx.SetBodyString(wire.OKBody)
}

var errNoEndpoint = rooms.Errorf(rooms.CodeNotFound, "no such endpoint")

// route answers a request of the public listener: CORS and the per-IP request rate first,
// then the table's entry for the path (routes.go). The checks run in this order: path (404),
// method (405), key or token (401/403), ids (400), body.
func (s *Server) route(ctx *fasthttp.RequestCtx) {
	path := string(ctx.Path())
	if path != "/v1/ws" && s.cors(ctx) {
		return
	}
	if path != "/v1/ws" && path != "/healthz" && path != "/readyz" && !s.allowRequest(ctx) {
		return
	}
	if a, ok := auditOf(string(ctx.Method()), path); ok {
		defer s.audit(ctx, a) // audit.go
	}
	if !s.dispatch(ctx, publicRouter, path) {
		writeError(ctx, errNoEndpoint)
	}
}

// allowRequest applies the per-IP request rate to requests without a key (the backend's are
// not limited); false: it answered 429.
func (s *Server) allowRequest(ctx *fasthttp.RequestCtx) bool {
	if len(ctx.Request.Header.Peek("Authorization")) > 0 && s.auth.Role(ctx) != RoleNone {
		return true
	}
	if s.ipRate.allow(s.clientIP(ctx), time.Now()) {
		return true
	}
	s.metrics.ConnRejected.WithLabelValues("http_ip_rate").Inc()
	writeError(ctx, rooms.Errorf(rooms.CodeRateLimited, "too many requests from this address"))
	return false
}

// methods is a set of HTTP methods.
type methods uint8

const (
	mGet methods = 1 << iota
	mHead
	mPost
	mPut
	mDelete
)

var methodNames = [...]string{"GET", "HEAD", "POST", "PUT", "DELETE"}

// method answers 405 (code bad_request, with an Allow header) unless the request's method is
// in allowed.
func (s *Server) method(ctx *fasthttp.RequestCtx, allowed methods) bool {
	m := string(ctx.Method())
	var names []string
	for i, name := range methodNames {
		if allowed&(1<<i) == 0 {
			continue
		}
		if m == name {
			return true
		}
		names = append(names, name)
	}
	list := strings.Join(names, ", ")
	writeError(ctx, badRequest("method "+m+" not allowed here; allowed: "+list))
	ctx.Response.Header.Set("Allow", list)
	ctx.SetStatusCode(fasthttp.StatusMethodNotAllowed)
	return false
}

// key checks the bearer key against need: 401 without a valid key, 403 for the server key on
// an admin endpoint. It returns the key's role, RoleNone when it answered the error.
func (s *Server) key(ctx *fasthttp.RequestCtx, need Role) Role {
	got := s.auth.Role(ctx)
	switch {
	case got == RoleNone:
		writeError(ctx, rooms.Errorf(rooms.CodeUnauthorized, "a valid key is required (Authorization: Bearer <key>)"))
		return RoleNone
	case got < need:
		writeError(ctx, rooms.Errorf(rooms.CodeForbidden, "this endpoint needs the admin key"))
		return RoleNone
	}
	return got
}

// ids answers 400 unless every one of ids is a valid room id or uid.
func (s *Server) ids(ctx *fasthttp.RequestCtx, ids ...string) bool {
	for _, id := range ids {
		if !ValidID(id) {
			writeError(ctx, rooms.Errorf(rooms.CodeBadRequest, "invalid id "+quoteID(id)+": ids must match [A-Za-z0-9_.:-]{1,128}"))
			return false
		}
	}
	return true
}

// quoteID quotes an id for an error message, cut to 40 bytes.
func quoteID(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return string(wire.AppendStringKeepHTML(nil, s))
}

// reqCtx bounds one call into the engine.
func reqCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}
