package transport

import (
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
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

// adminOnly reports whether the public listener refuses path: it is served by ServeAdmin.
func (s *Server) adminOnly(path string) bool {
	return s.cfg.AdminSeparate && (path == "/metrics" || adminPages[path])
}

var errAdminOnly = rooms.Errorf(rooms.CodeNotFound, "no such endpoint (served on the admin address)")

// ServeAdmin serves the admin endpoints on ln until Shutdown; nil after a Shutdown.
func (s *Server) ServeAdmin(ln net.Listener) error {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	prof := fasthttpadaptor.NewFastHTTPHandler(mux)
	srv := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			path := string(ctx.Path())
			switch {
			case path == "/metrics":
				if s.method(ctx, mGet) {
					s.metricH(ctx)
				}
			case strings.HasPrefix(path, "/debug/pprof/"):
				prof(ctx)
			case adminPages[path]:
				if s.method(ctx, mGet|mHead) {
					s.serveWeb(ctx)
				}
			default:
				s.route(ctx)
			}
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
