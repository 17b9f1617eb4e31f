package transport

import (
	"github.com/valyala/fasthttp"

	"github.com/liveroom/liveroom/rooms"
)

// Browsers and origins (PROTOCOL.md section 8.9): a page served from another origin may call
// the HTTP API when its origin is in Config.CORSOrigins, and a WebSocket upgrade carrying an
// Origin that is not listed is refused with 403 once the list is set.
//
// Why echo the origin rather than answer "*": the API is called with an Authorization header,
// and a preflight that allows it must name the header; the echoed origin with "Vary: Origin"
// is also what caches need to keep one origin's answer from another. Credentials (cookies)
// are never allowed: the API's keys and tokens travel in the Authorization header or the
// query, so Access-Control-Allow-Credentials stays unset.

// corsPolicy is the parsed list: any origin, or a set.
type corsPolicy struct {
	any     bool
	origins map[string]struct{}
}

func newCORSPolicy(list []string) corsPolicy {
	p := corsPolicy{origins: make(map[string]struct{}, len(list))}
	for _, o := range list {
		if o == "*" {
			p.any = true
			continue
		}
		p.origins[o] = struct{}{}
	}
	return p
}

// set reports whether a list was given (CORS answered, upgrades checked).
func (p *corsPolicy) set() bool { return p.any || len(p.origins) > 0 }

// allows reports whether origin (the header's bytes) is listed.
func (p *corsPolicy) allows(origin []byte) bool {
	if p.any {
		return true
	}
	_, ok := p.origins[string(origin)] // no allocation: the compiler reads the bytes in place
	return ok
}

const (
	corsMethods = "GET, HEAD, POST, PUT, DELETE"
	corsHeaders = "Authorization, Content-Type"
	corsMaxAge  = "600" // seconds a browser may reuse a preflight's answer
)

// cors adds the CORS headers to an answer for a listed Origin, and answers a preflight
// (OPTIONS with Access-Control-Request-Method) itself: true when it did, and the request is
// done. A preflight from an origin that is not listed gets 403 without CORS headers, so the
// browser refuses the real request.
func (s *Server) cors(ctx *fasthttp.RequestCtx) bool {
	if !s.corsP.set() {
		return false
	}
	h := &ctx.Request.Header
	origin := h.Peek("Origin")
	preflight := ctx.IsOptions() && len(h.Peek("Access-Control-Request-Method")) > 0
	if len(origin) == 0 {
		return false
	}
	out := &ctx.Response.Header
	out.Add("Vary", "Origin")
	if !s.corsP.allows(origin) {
		if preflight {
			writeError(ctx, rooms.Errorf(rooms.CodeForbidden, "origin not allowed (--cors-origins)"))
			return true
		}
		return false
	}
	out.SetBytesV("Access-Control-Allow-Origin", origin)
	if !preflight {
		return false
	}
	out.Set("Access-Control-Allow-Methods", corsMethods)
	out.Set("Access-Control-Allow-Headers", corsHeaders)
	out.Set("Access-Control-Max-Age", corsMaxAge)
	ctx.SetStatusCode(fasthttp.StatusNoContent)
	return true
}

// originAllowed is the upgrade's check: an Origin header that is not listed is refused once
// a list is set. A request without Origin is not a browser's (every browser sends it on a
// WebSocket handshake), so the check, which guards browsers' pages, lets it through: the Go
// client, the load tester and backends connect with a token and no Origin.
func (s *Server) originAllowed(ctx *fasthttp.RequestCtx) bool {
	if !s.corsP.set() {
		return true
	}
	origin := ctx.Request.Header.Peek("Origin")
	return len(origin) == 0 || s.corsP.allows(origin)
}
