package transport

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"os"
	"time"
)

// Config configures a Server. A zero field takes the default written beside it; New applies
// the defaults (flags and env map onto this struct in cmd/liveroomd only).
type Config struct {
	Addr string // listen address (cmd listens; Addr reports it); default ":8080"
	// Dev turns on dev mode: ?uid= logins, /v1/dev/token, the demo page at /. Missing keys are
	// then generated at random and logged once at info level. Default false.
	Dev       bool
	JWTSecret string // HS256 secret of viewer tokens; required unless Dev
	APIKey    string // the server key (Authorization: Bearer); required unless Dev
	AdminKey  string // the admin key; required unless Dev; must differ from APIKey
	Node      string // this node's name; default the host name ("n1" if it has none)
	// Advertise is the public WebSocket URL /v1/route returns for this node; default built from
	// the address the server listens on ("ws://ADDR/v1/ws"; on every interface, the local address
	// the client reached), never from the request's Host header. Set it behind a proxy or NAT.
	Advertise string

	MaxBody          int           // bytes of an encoded message body; default 4096 (over: too_large)
	MaxFrame         int           // bytes of a client WebSocket frame; default 8192 (over: close 1009)
	MaxRooms         int           // rooms one session may join; default 8
	PullLimit        int           // the largest pull; larger limits are clamped; default 200
	DefaultPullLimit int           // pull size when none is given; default 100 (at most PullLimit)
	MaxWait          time.Duration // longest HTTP long-poll (`wait`); longer waits are clamped; default 30s

	ConnPerIP  int           // connection attempts per IP per ConnWindow; default 20
	ConnPerUID int           // connection attempts per uid per ConnWindow; default 10
	ConnWindow time.Duration // the window of ConnPerIP and ConnPerUID; default 10s
	// BlockFor is how long an IP or uid over its limit is refused; every attempt while blocked
	// extends it. Default 10s.
	BlockFor time.Duration

	// HTTP limits (docs/decisions.md): requests without a key per client IP per second (burst
	// twice that; default 100), a viewer token's requests per uid per second (burst twice;
	// default 20), long-polls held at once per IP (default 64) and per uid (default 4), HTTP
	// connections held at once per IP (default 256; an upgraded WebSocket leaves the count).
	// A negative value turns the limit off. Requests with the server or admin key are exempt.
	HTTPRatePerIP   float64
	HTTPRatePerUID  float64
	LongPollsPerIP  int
	LongPollsPerUID int
	HTTPConnsPerIP  int

	// SlowKick: a session whose socket stays full this long (the viewer does not read) is closed
	// as unresponsive (4008); default 6s (notify_retry x kick_after). SendBuffer is each
	// session's socket send buffer (SO_SNDBUF; the kernel doubles it), which bounds the kernel
	// memory a viewer that does not read can hold; default 64 KiB.
	SlowKick   time.Duration
	SendBuffer int

	WriteTimeout    time.Duration // deadline of one WebSocket write; default 10s
	PingInterval    time.Duration // a sweep each interval pings the sessions silent since the previous one (an idle one: every 2 intervals); silent for 3 intervals = closed; default 30s
	ReadBufferSize  int           // WebSocket upgrader read buffer; default 128 (unused where frames are read from the socket: internal/socket)
	WriteBufferSize int           // WebSocket upgrader write buffer (pooled); default 256

	// What sits in front of the server (PROTOCOL.md section 8.9; cors.go, proxy.go).
	// CORSOrigins: origins answered with CORS on the HTTP API and allowed to upgrade ("*" = any);
	// empty = no CORS and no Origin check. Default empty (cmd sets "*" for --dev).
	CORSOrigins []string
	// TrustedProxies: CIDRs (or single addresses) of proxies; for a connection from one of them
	// the client address of the per-IP limits is the right-most X-Forwarded-For address that is
	// not trusted (with ProxyProtocol, the PROXY header's source). Default none.
	TrustedProxies []string
	// ProxyProtocol: every connection starts with a PROXY protocol v1 or v2 header, required
	// from TrustedProxies (from any peer when that is empty); others are refused. Default false.
	ProxyProtocol bool
	// TLS, when set, serves HTTPS and wss:// on Serve's listener; /v1/route then answers wss://.
	TLS *tls.Config
	// AdminSeparate: /metrics and the admin page are served by ServeAdmin only (with pprof),
	// not on the public listener. Default false (on the public listener, without pprof).
	AdminSeparate bool
}

// applyDefaults sets every zero (or negative) field to its default.
func (c *Config) applyDefaults() {
	setI := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	setD := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if c.Addr == "" {
		c.Addr = ":8080"
	}
	if c.Node == "" {
		c.Node = hostName()
	}
	setI(&c.MaxBody, 4096)
	setI(&c.MaxFrame, 8192)
	setI(&c.MaxRooms, 8)
	setI(&c.PullLimit, 200)
	setI(&c.DefaultPullLimit, 100)
	setD(&c.MaxWait, 30*time.Second)
	setI(&c.ConnPerIP, 20)
	setI(&c.ConnPerUID, 10)
	setD(&c.ConnWindow, 10*time.Second)
	setD(&c.BlockFor, 10*time.Second)
	setF := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	setL := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	setF(&c.HTTPRatePerIP, 100)
	setF(&c.HTTPRatePerUID, 20)
	setL(&c.LongPollsPerIP, 64)
	setL(&c.LongPollsPerUID, 4)
	setL(&c.HTTPConnsPerIP, 256)
	setD(&c.SlowKick, 6*time.Second)
	setI(&c.SendBuffer, 64<<10)
	setD(&c.WriteTimeout, 10*time.Second)
	setD(&c.PingInterval, 30*time.Second)
	setI(&c.ReadBufferSize, 128)
	setI(&c.WriteBufferSize, 256)
	c.DefaultPullLimit = min(c.DefaultPullLimit, c.PullLimit)
}

func hostName() string {
	if h, err := os.Hostname(); err == nil && ValidID(h) {
		return h
	}
	return "n1"
}

// generateDevKeys fills the missing keys of a Dev config with random ones and returns their
// names and values (name, value, name, value...) for one log line; nil outside Dev.
func (c *Config) generateDevKeys() []any {
	if !c.Dev {
		return nil
	}
	var made []any
	for _, k := range []struct {
		name string
		v    *string
	}{{"jwt_secret", &c.JWTSecret}, {"api_key", &c.APIKey}, {"admin_key", &c.AdminKey}} {
		if *k.v == "" {
			*k.v = "dev-" + randomHex(12)
			made = append(made, k.name, *k.v)
		}
	}
	return made
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

// validate reports a config New refuses: missing keys (outside Dev) or equal keys.
func (c *Config) validate() error {
	if c.JWTSecret == "" || c.APIKey == "" || c.AdminKey == "" {
		return errors.New("--jwt-secret, --api-key and --admin-key are required (or run with --dev)")
	}
	if c.APIKey == c.AdminKey {
		return errors.New("--api-key and --admin-key must differ")
	}
	return nil
}
