package transport

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/liveroom/liveroom/metrics"
	"github.com/liveroom/liveroom/rooms"
)

// Server is liveroom's HTTP + WebSocket server: one fasthttp.Server whose router sends
// `GET /v1/ws` to the WebSocket hub and everything else to the HTTP API.
type Server struct {
	cfg     Config
	eng     Engine
	auth    *Auth
	abuse   *Abuse
	metrics *metrics.Metrics
	log     *slog.Logger
	srv     *fasthttp.Server
	ws      *wsHub
	metricH fasthttp.RequestHandler
	corsP   corsPolicy       // cors.go
	trusted trustedNets      // proxy.go
	admin   *fasthttp.Server // ServeAdmin's (admin.go); nil until it runs

	// HTTP limits (limits.go).
	ipRate, uidRate   *rateLimits
	pollsIP, pollsUID *counts
	connsIP           *counts

	// base is cancelled by Shutdown: HTTP long-polls end at once instead of holding it up.
	base context.Context
	stop context.CancelFunc

	// Draining (drain.go).
	draining   atomic.Bool
	drainOnce  sync.Once
	drained    chan struct{} // closed when Drain has kicked every session
	askOnce    sync.Once
	drainAsked chan struct{} // closed by POST /v1/node/drain

	// onReply sees every request a listener answered, after its handler (admin: the admin
	// listener). Made by testHookReply; nil outside the package's tests.
	onReply func(admin bool, ctx *fasthttp.RequestCtx)

	mu       sync.Mutex
	ln       net.Listener // set by Serve
	shutDown bool         // Shutdown was called: Serve returns at once
}

// testHookReply is set by the package's tests before any server is built; New calls it (on
// the goroutine of the test that builds the server) for the server's onReply. The tests check
// every reply against the API document (openapi_check_test.go).
var testHookReply func() func(admin bool, ctx *fasthttp.RequestCtx)

// New builds a server over eng. It applies cfg's defaults and refuses a config without keys
// (unless cfg.Dev: missing keys are then generated and logged once at info level). m and log
// may be nil (fresh metrics, slog.Default()).
func New(cfg Config, eng Engine, m *metrics.Metrics, log *slog.Logger) (*Server, error) {
	if eng == nil {
		return nil, errors.New("transport: nil Engine")
	}
	if m == nil {
		m = metrics.New()
	}
	if log == nil {
		log = slog.Default()
	}
	cfg.applyDefaults()
	if made := cfg.generateDevKeys(); made != nil {
		log.Info("dev mode: generated the keys that were not given", made...)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	var err error
	s := &Server{cfg: cfg, eng: eng, auth: newAuth(&cfg), abuse: newAbuse(&cfg), metrics: m, log: log, metricH: m.Handler(),
		ipRate: newRateLimits(cfg.HTTPRatePerIP, 2*cfg.HTTPRatePerIP), uidRate: newRateLimits(cfg.HTTPRatePerUID, 2*cfg.HTTPRatePerUID),
		pollsIP: newCounts(cfg.LongPollsPerIP), pollsUID: newCounts(cfg.LongPollsPerUID), connsIP: newCounts(cfg.HTTPConnsPerIP)}
	if testHookReply != nil {
		s.onReply = testHookReply()
	}
	if s.trusted, err = parseTrusted(cfg.TrustedProxies); err != nil {
		return nil, err
	}
	s.corsP = newCORSPolicy(cfg.CORSOrigins)
	s.base, s.stop = context.WithCancel(context.Background())
	s.drained, s.drainAsked = make(chan struct{}), make(chan struct{})
	s.ws = newWSHub(s)
	s.srv = &fasthttp.Server{
		Handler:               s.handle,
		ErrorHandler:          requestError,
		Name:                  "liveroom",
		NoDefaultServerHeader: true,
		ReadBufferSize:        8192, // request line + headers; must fit a JWT in ?token= or Authorization
		MaxRequestBodySize:    64 << 10,
		// Reading a request must not take long; a long-poll is time spent writing the answer.
		ReadTimeout:  15 * time.Second,
		WriteTimeout: cfg.MaxWait + 10*time.Second,
		IdleTimeout:  60 * time.Second,
		// Measured on this box: with these two an idle WebSocket costs ~6.6 KB instead of ~14 KB.
		ReduceMemoryUsage: true,
		KeepHijackedConns: true,
		Logger:            fasthttpLogger{log},
	}
	return s, nil
}

// Handler is the public listener's request handler (tests drive it directly).
func (s *Server) Handler() fasthttp.RequestHandler { return s.handle }

func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	s.route(ctx)
	s.replied(false, ctx)
}

// replied hands an answered request to onReply.
func (s *Server) replied(admin bool, ctx *fasthttp.RequestCtx) {
	if s.onReply != nil {
		s.onReply(admin, ctx)
	}
}

// Serve accepts connections on ln until Shutdown; it returns nil after a Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.shutDown {
		s.mu.Unlock()
		return nil
	}
	s.ln = ln
	s.mu.Unlock()
	err := s.srv.Serve(s.wrapListener(ln))
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutDown {
		return nil // the listener closed by Shutdown
	}
	return err
}

// Addr returns the address being served (the listener's, once Serve was called), else the
// configured Addr.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return s.ln.Addr().String()
	}
	return s.cfg.Addr
}

// Config returns the server's config with its defaults applied (generated dev keys included).
func (s *Server) Config() Config { return s.cfg }

// Auth returns the server's token and key checker.
func (s *Server) Auth() *Auth { return s.auth }

// Shutdown kicks every WebSocket session first (reason shutdown, close 1001), ends HTTP
// long-polls, then stops the HTTP server, waiting for requests in flight until ctx is done.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shutDown = true
	ln, admin := s.ln, s.admin
	s.mu.Unlock()
	s.ws.shutdown(ctx)
	s.stop()
	err := s.srv.ShutdownWithContext(ctx)
	if admin != nil {
		_ = admin.ShutdownWithContext(ctx)
	}
	if ln != nil {
		// fasthttp closes the listeners it serves; one whose Serve had not reached fasthttp
		// yet when Shutdown began is closed here, so that Serve returns.
		_ = ln.Close()
	}
	return err
}

// Sessions returns the number of open WebSocket sessions.
func (s *Server) Sessions() int { return s.ws.count() }

// IssueToken signs a viewer token for uid, valid for ttl, with the server's secret.
func (s *Server) IssueToken(uid string, ttl time.Duration) (string, error) {
	return s.auth.IssueToken(uid, ttl, nil)
}

// requestError answers a request fasthttp could not read, in the API's error format.
func requestError(ctx *fasthttp.RequestCtx, err error) {
	var small *fasthttp.ErrSmallBuffer
	var netErr net.Error
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		writeError(ctx, rooms.Errorf(rooms.CodeTooLarge, "request body too large"))
	case errors.As(err, &small):
		writeError(ctx, badRequest("request headers too large"))
		ctx.SetStatusCode(fasthttp.StatusRequestHeaderFieldsTooLarge)
	case errors.As(err, &netErr) && netErr.Timeout():
		writeError(ctx, badRequest("request timeout"))
		ctx.SetStatusCode(fasthttp.StatusRequestTimeout)
	default:
		writeError(ctx, badRequest("malformed HTTP request"))
	}
}

// fasthttpLogger sends fasthttp's own messages (connection-level errors) to slog at debug
// level: they are about clients, not the server, and would flood an info log.
type fasthttpLogger struct{ log *slog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.log.Debug("fasthttp", "format", format, "args", args)
}
