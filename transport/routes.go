package transport

import (
	"maps"
	"slices"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/liveroom/liveroom/rooms"
	"github.com/liveroom/liveroom/transport/web"
)

// The router's tables: every path the public listener (publicRoutes) and the admin listener
// (adminRoutes, admin.go) answer, with its methods and its handler. The tables are the router:
// a path no entry matches is answered 404, a method an entry does not list 405, so the API
// document (openapi.json) can be checked against them both ways (TestOpenAPIRoutes) and
// nothing the server answers can be missing from it.
//
// Why a table and not a switch on the path: the switch could answer a path no list named.
// Matching walks the few entries with the path's number of segments, without allocating:
// BenchmarkHTTPPull and BenchmarkHTTPPost make one allocation fewer than with the switch
// (which split the path) and take the same time.

// route is one path of a table.
type route struct {
	// path is the pattern as the API document writes it: literal segments and {name}
	// parameters, each of which matches one segment, empty included (an empty id is then
	// answered 400 like any invalid one).
	path    string
	methods methods
	// off, when set, returns the 404 this server answers instead (before the method check):
	// dev-only endpoints, pages moved to the admin listener. nil: served.
	off   func(s *Server) error
	serve func(s *Server, ctx *fasthttp.RequestCtx, p params)
	segs  []string // path split at '/', set by newRouter
}

// params are the {name} segments of a matched path, in order.
type params [2]string

// maxSegs is the most segments a path of the tables has (/v1/rooms/{room}/counters/{name}).
const maxSegs = 5

// router matches paths against a table, grouped by segment count.
type router struct {
	bySegs [maxSegs + 1][]*route
	all    []*route // in table order
}

func newRouter(table []route) *router {
	r := &router{}
	for i := range table {
		rt := &table[i]
		rt.segs = strings.Split(rt.path[1:], "/")
		n := len(rt.segs)
		if n > maxSegs || rt.path[0] != '/' || strings.Count(rt.path, "{") > len(params{}) {
			panic("transport: route " + rt.path + " does not fit the router")
		}
		r.bySegs[n] = append(r.bySegs[n], rt)
		r.all = append(r.all, rt)
	}
	return r
}

// match returns the first entry whose pattern matches path and the path's parameters.
func (r *router) match(path string) (*route, params, bool) {
	var p params
	if path == "" || path[0] != '/' {
		return nil, p, false
	}
	var seg [maxSegs]string
	n := 0
	for rest := path[1:]; ; n++ {
		if n == maxSegs {
			return nil, p, false
		}
		i := strings.IndexByte(rest, '/')
		if i < 0 {
			seg[n] = rest
			n++
			break
		}
		seg[n], rest = rest[:i], rest[i+1:]
	}
next:
	for _, rt := range r.bySegs[n] {
		k := 0
		for i, s := range rt.segs {
			if s != "" && s[0] == '{' {
				p[k] = seg[i]
				k++
			} else if s != seg[i] {
				continue next
			}
		}
		return rt, p, true
	}
	return nil, params{}, false
}

// dispatch serves path by rt's entry for it; false when no entry matches (nothing answered).
func (s *Server) dispatch(ctx *fasthttp.RequestCtx, rt *router, path string) bool {
	r, p, ok := rt.match(path)
	if !ok {
		return false
	}
	if r.off != nil {
		if err := r.off(s); err != nil {
			writeError(ctx, err)
			return true
		}
	}
	if s.method(ctx, r.methods) {
		r.serve(s, ctx, p)
	}
	return true
}

// keyed checks the key against need, then ids (the path's room ids and uids).
func (s *Server) keyed(ctx *fasthttp.RequestCtx, need Role, ids ...string) bool {
	return s.key(ctx, need) != RoleNone && s.ids(ctx, ids...)
}

var publicRouter = newRouter(publicRoutes())

// publicRoutes is the public listener's table (PROTOCOL.md sections 3, 5 and 8).
func publicRoutes() []route {
	t := []route{
		{path: "/v1/ws", methods: mGet, serve: func(s *Server, ctx *fasthttp.RequestCtx, _ params) { s.ws.serve(ctx) }},
		{path: "/healthz", methods: mGet | mHead, serve: func(_ *Server, ctx *fasthttp.RequestCtx, _ params) { writeOK(ctx) }},
		{path: "/readyz", methods: mGet | mHead, serve: func(s *Server, ctx *fasthttp.RequestCtx, _ params) { s.handleReady(ctx) }},
		{path: "/metrics", methods: mGet, off: adminOnly, serve: func(s *Server, ctx *fasthttp.RequestCtx, _ params) { s.metricH(ctx) }},
		{path: "/v1/openapi.json", methods: mGet | mHead, serve: func(_ *Server, ctx *fasthttp.RequestCtx, _ params) { serveOpenAPI(ctx) }},
		{path: "/v1/route", methods: mGet, serve: func(s *Server, ctx *fasthttp.RequestCtx, _ params) { s.handleRoute(ctx) }},
		{path: "/v1/dev/token", methods: mGet, off: devOnly, serve: func(s *Server, ctx *fasthttp.RequestCtx, _ params) { s.handleDevToken(ctx) }},
		{path: "/v1/notices", methods: mPost, serve: func(s *Server, ctx *fasthttp.RequestCtx, _ params) {
			if s.keyed(ctx, RoleAdmin) {
				s.handleNoticeAll(ctx)
			}
		}},
		{path: "/v1/node/drain", methods: mPost, serve: func(s *Server, ctx *fasthttp.RequestCtx, _ params) {
			if s.keyed(ctx, RoleAdmin) {
				s.handleDrain(ctx)
			}
		}},

		// Global moderation and the lists (http_bans.go).
		{path: "/v1/bans", methods: mGet, serve: func(s *Server, ctx *fasthttp.RequestCtx, _ params) {
			if s.keyed(ctx, RoleServer) {
				s.handleGlobalBans(ctx)
			}
		}},
		{path: "/v1/bans/{uid}", methods: mPut | mDelete, serve: func(s *Server, ctx *fasthttp.RequestCtx, p params) {
			if s.keyed(ctx, RoleServer, p[0]) {
				s.handleGlobalBan(ctx, p[0], ctx.IsPut())
			}
		}},
		{path: "/v1/viewers/{uid}", methods: mDelete, serve: func(s *Server, ctx *fasthttp.RequestCtx, p params) {
			if s.keyed(ctx, RoleServer, p[0]) {
				s.handleKickEverywhere(ctx, p[0])
			}
		}},
		{path: "/v1/rooms", methods: mGet, serve: func(s *Server, ctx *fasthttp.RequestCtx, _ params) {
			if s.keyed(ctx, RoleServer) {
				s.handleRoomsList(ctx)
			}
		}},

		// One room (http_rooms.go, http_messages.go, http_counters.go).
		{path: "/v1/rooms/{room}", methods: mGet, serve: func(s *Server, ctx *fasthttp.RequestCtx, p params) {
			if s.keyed(ctx, RoleServer, p[0]) {
				s.handleInfo(ctx, p[0])
			}
		}},
		{path: "/v1/rooms/{room}/messages", methods: mGet | mPost, serve: func(s *Server, ctx *fasthttp.RequestCtx, p params) {
			if ctx.IsGet() {
				s.handlePull(ctx, p[0]) // a viewer token or a key: handlePull checks which
				return
			}
			if r := s.key(ctx, RoleServer); r != RoleNone && s.ids(ctx, p[0]) {
				s.handlePost(ctx, p[0], r)
			}
		}},
		{path: "/v1/rooms/{room}/notices", methods: mPost, serve: func(s *Server, ctx *fasthttp.RequestCtx, p params) {
			if s.keyed(ctx, RoleAdmin, p[0]) {
				s.handleNotice(ctx, p[0])
			}
		}},
		{path: "/v1/rooms/{room}/config", methods: mPut, serve: func(s *Server, ctx *fasthttp.RequestCtx, p params) {
			if s.keyed(ctx, RoleAdmin, p[0]) {
				s.handleConfig(ctx, p[0])
			}
		}},
		{path: "/v1/rooms/{room}/counters/{name}", methods: mPost | mPut, serve: func(s *Server, ctx *fasthttp.RequestCtx, p params) {
			s.handleCounter(ctx, p[0], p[1])
		}},
		{path: "/v1/rooms/{room}/viewers/{uid}", methods: mDelete, serve: func(s *Server, ctx *fasthttp.RequestCtx, p params) {
			if s.keyed(ctx, RoleServer, p[0], p[1]) {
				s.handleKick(ctx, p[0], p[1])
			}
		}},
		{path: "/v1/rooms/{room}/pins/{ts}", methods: mDelete, serve: func(s *Server, ctx *fasthttp.RequestCtx, p params) {
			if s.keyed(ctx, RoleAdmin, p[0]) {
				s.handleUnpin(ctx, p[0], p[1])
			}
		}},
	}
	for _, name := range slices.Sorted(maps.Keys(modLists)) {
		list := modLists[name]
		t = append(t,
			route{path: "/v1/rooms/{room}/" + name, methods: mGet, serve: func(s *Server, ctx *fasthttp.RequestCtx, p params) {
				if s.keyed(ctx, RoleServer, p[0]) {
					s.handleRoomList(ctx, p[0], list)
				}
			}},
			route{path: "/v1/rooms/{room}/" + name + "/{uid}", methods: mPut | mDelete, serve: func(s *Server, ctx *fasthttp.RequestCtx, p params) {
				if s.keyed(ctx, RoleServer, p[0], p[1]) {
					s.handleModerate(ctx, p[0], list, p[1], ctx.IsPut())
				}
			}})
	}
	// The embedded files (transport/web): the SDK, the admin page, the demo page.
	for _, path := range web.Paths() {
		r := route{path: path, methods: mGet | mHead, serve: func(s *Server, ctx *fasthttp.RequestCtx, _ params) { s.serveWeb(ctx) }}
		if adminPages[path] {
			r.off = adminOnly
		}
		t = append(t, r)
	}
	return t
}

// adminOnly is the off of what moves to the admin listener with Config.AdminSeparate.
func adminOnly(s *Server) error {
	if s.cfg.AdminSeparate {
		return errAdminOnly
	}
	return nil
}

func devOnly(s *Server) error {
	if !s.cfg.Dev {
		return rooms.Errorf(rooms.CodeNotFound, "no such endpoint (dev mode only)")
	}
	return nil
}
