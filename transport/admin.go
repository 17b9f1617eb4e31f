package transport

import (
	"maps"
	"net"
	"net/http"
	"net/http/pprof"
	"slices"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/liveroom/liveroom/rooms"
)

// The admin listener (PROTOCOL.md section 8.10, --admin-addr): /metrics, the admin page and
// net/http/pprof on an address of their own (a private interface, a port the balancer does not
// forward). With Config.AdminSeparate the public listener answers 404 for /metrics and the
// admin page. The admin listener serves the rest of the API too: the admin page calls it on its
// own origin. Keys are checked there as everywhere; pprof and /metrics take none (the address
// is the protection, as with --pprof).

// adminPages are the admin page's files (transport/web), which leave the public listener with
// AdminSeparate.
var adminPages = map[string]bool{"/admin": true, "/admin.js": true, "/admin.css": true}

var errAdminOnly = rooms.Errorf(rooms.CodeNotFound, "no such endpoint (served on the admin address)")

var adminRouter = newRouter(adminRoutes())

// adminRoutes is the admin listener's own table; every other path is the public table's
// (with its CORS, rate limit and audit: the admin page calls the API there).
func adminRoutes() []route {
	web := func(s *Server, ctx *fasthttp.RequestCtx, _ params) { s.serveWeb(ctx) }
	t := []route{{path: "/metrics", methods: mGet, serve: func(s *Server, ctx *fasthttp.RequestCtx, _ params) { s.metricH(ctx) }}}
	for _, p := range slices.Sorted(maps.Keys(adminPages)) {
		t = append(t, route{path: p, methods: mGet | mHead, serve: web})
	}
	prof := func(h http.HandlerFunc) func(*Server, *fasthttp.RequestCtx, params) {
		serve := fasthttpadaptor.NewFastHTTPHandler(h)
		return func(_ *Server, ctx *fasthttp.RequestCtx, _ params) { serve(ctx) }
	}
	// The named profiles (heap, goroutine, ...) are pprof.Index's: it serves /debug/pprof/{name}.
	return append(t,
		route{path: "/debug/pprof/", methods: mGet, serve: prof(pprof.Index)},
		route{path: "/debug/pprof/cmdline", methods: mGet, serve: prof(pprof.Cmdline)},
		route{path: "/debug/pprof/profile", methods: mGet, serve: prof(pprof.Profile)},
		route{path: "/debug/pprof/symbol", methods: mGet | mPost, serve: prof(pprof.Symbol)},
		route{path: "/debug/pprof/trace", methods: mGet, serve: prof(pprof.Trace)},
		route{path: "/debug/pprof/{profile}", methods: mGet, serve: prof(pprof.Index)},
	)
}

// ServeAdmin serves the admin endpoints on ln until Shutdown; nil after a Shutdown.
func (s *Server) ServeAdmin(ln net.Listener) error {
	srv := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			if !s.dispatch(ctx, adminRouter, string(ctx.Path())) {
				s.route(ctx)
			}
			s.replied(true, ctx)
		},
		ErrorHandler:          requestError,
		Name:                  "liveroom-admin",
		NoDefaultServerHeader: true,
		ReadTimeout:           15 * time.Second,
		WriteTimeout:          2 * time.Minute, // a CPU profile or a trace runs for ?seconds= (30 s by default)
		IdleTimeout:           60 * time.Second,
		Logger:                fasthttpLogger{s.log},
	}
	s.mu.Lock()
	if s.shutDown {
		s.mu.Unlock()
		_ = ln.Close()
		return nil
	}
	s.admin = srv
	s.mu.Unlock()
	err := srv.Serve(ln)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutDown {
		return nil
	}
	return err
}
