package transport

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/liveroom/liveroom/rooms"
	"github.com/liveroom/liveroom/transport/web"
	"github.com/liveroom/liveroom/wire"
)

// The HTTP API of PROTOCOL.md section 5: routing, method and key checks, and the error format.
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

// route dispatches by path; segments are split by hand (no router dependency). The checks
// run in this order: path (404), method (405), key or token (401/403), ids (400), body.
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
	switch path {
	case "/v1/ws":
		s.ws.serve(ctx)
	case "/healthz":
		if s.method(ctx, mGet|mHead) {
			writeOK(ctx)
		}
	case "/readyz":
		if s.method(ctx, mGet|mHead) {
			s.handleReady(ctx)
		}
	case "/metrics":
		if s.adminOnly(path) {
			writeError(ctx, errAdminOnly)
		} else if s.method(ctx, mGet) {
			s.metricH(ctx)
		}
	case "/v1/route":
		if s.method(ctx, mGet) {
			s.handleRoute(ctx)
		}
	case "/v1/dev/token":
		if !s.cfg.Dev {
			writeError(ctx, rooms.Errorf(rooms.CodeNotFound, "no such endpoint (dev mode only)"))
		} else if s.method(ctx, mGet) {
			s.handleDevToken(ctx)
		}
	case "/v1/notices":
		if s.method(ctx, mPost) && s.key(ctx, RoleAdmin) != RoleNone {
			s.handleNoticeAll(ctx)
		}
	case "/v1/node/drain":
		if s.method(ctx, mPost) && s.key(ctx, RoleAdmin) != RoleNone {
			s.handleDrain(ctx)
		}
	default:
		if web.Has(path) {
			if s.adminOnly(path) {
				writeError(ctx, errAdminOnly)
			} else if s.method(ctx, mGet|mHead) {
				s.serveWeb(ctx)
			}
			return
		}
		if s.routeGlobal(ctx, path) {
			return
		}
		rest, ok := strings.CutPrefix(path, "/v1/rooms/")
		if !ok {
			writeError(ctx, errNoEndpoint)
			return
		}
		s.routeRoom(ctx, strings.Split(rest, "/"))
	}
}

// routeRoom handles /v1/rooms/{room}[/...]; seg is the path after "/v1/rooms/", split.
func (s *Server) routeRoom(ctx *fasthttp.RequestCtx, seg []string) {
	switch {
	case len(seg) == 1:
		if s.method(ctx, mGet) && s.key(ctx, RoleServer) != RoleNone && s.ids(ctx, seg[0]) {
			s.handleInfo(ctx, seg[0])
		}
	case len(seg) == 2 && seg[1] == "messages":
		if !s.method(ctx, mGet|mPost) {
			return
		}
		if ctx.IsGet() {
			s.handlePull(ctx, seg[0])
			return
		}
		if r := s.key(ctx, RoleServer); r != RoleNone && s.ids(ctx, seg[0]) {
			s.handlePost(ctx, seg[0], r)
		}
	case len(seg) == 2 && seg[1] == "notices":
		if s.method(ctx, mPost) && s.key(ctx, RoleAdmin) != RoleNone && s.ids(ctx, seg[0]) {
			s.handleNotice(ctx, seg[0])
		}
	case len(seg) == 2 && seg[1] == "config":
		if s.method(ctx, mPut) && s.key(ctx, RoleAdmin) != RoleNone && s.ids(ctx, seg[0]) {
			s.handleConfig(ctx, seg[0])
		}
	case len(seg) == 2 && isModList(seg[1]):
		if s.method(ctx, mGet) && s.key(ctx, RoleServer) != RoleNone && s.ids(ctx, seg[0]) {
			s.handleRoomList(ctx, seg[0], modLists[seg[1]])
		}
	case len(seg) == 3 && seg[1] == "counters":
		s.routeCounter(ctx, seg[0], seg[2])
	case len(seg) == 3 && seg[1] == "viewers":
		if s.method(ctx, mDelete) && s.key(ctx, RoleServer) != RoleNone && s.ids(ctx, seg[0], seg[2]) {
			s.handleKick(ctx, seg[0], seg[2])
		}
	case len(seg) == 3 && seg[1] == "pins":
		if s.method(ctx, mDelete) && s.key(ctx, RoleAdmin) != RoleNone && s.ids(ctx, seg[0]) {
			s.handleUnpin(ctx, seg[0], seg[2])
		}
	case len(seg) == 3:
		list, ok := modLists[seg[1]]
		if !ok {
			writeError(ctx, errNoEndpoint)
			return
		}
		if s.method(ctx, mPut|mDelete) && s.key(ctx, RoleServer) != RoleNone && s.ids(ctx, seg[0], seg[2]) {
			s.handleModerate(ctx, seg[0], list, seg[2], ctx.IsPut())
		}
	default:
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
