package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/liveroom/liveroom/transport"
)

// opsOptions are the flags of operating the binary and of what sits in front of it
// (PROTOCOL.md sections 8.9 and 8.10).
type opsOptions struct {
	version        bool
	logFormat      string
	adminAddr      string
	corsOrigins    string
	trustedProxies string
	proxyProtocol  bool
	tlsCert        string
	tlsKey         string
	configFile     string // read by ff (WithConfigFileFlag); kept so that --help lists it
}

func (o *opsOptions) register(fs *flag.FlagSet) {
	fs.BoolVar(&o.version, "version", false, "print the version and VCS revision, then exit")
	fs.StringVar(&o.configFile, "config", "", "read flags from this file, one `name value` per line (# comments); the environment and the command line win")
	fs.StringVar(&o.logFormat, "log-format", "text", "log lines as text (logfmt) or json")
	fs.StringVar(&o.adminAddr, "admin-addr", "", "serve /metrics, /admin and /debug/pprof/ on this address instead of the public one (e.g. 127.0.0.1:9090); empty = on --addr, without pprof")
	fs.StringVar(&o.corsOrigins, "cors-origins", "", "origins (https://app.example,...) answered with CORS on the HTTP API and allowed to open WebSockets; * = any; default * with --dev, else none (no CORS, any Origin may upgrade)")
	fs.StringVar(&o.trustedProxies, "trusted-proxies", "", "CIDRs (10.0.0.0/8,...) of proxies whose X-Forwarded-For names the client for the per-IP limits (its right-most untrusted address)")
	fs.BoolVar(&o.proxyProtocol, "proxy-protocol", false, "connections start with a PROXY protocol v1 or v2 header that names the client (required from --trusted-proxies, or from every peer when that is empty; others are refused)")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "PEM certificate (chain) file: serve HTTPS and wss:// (with --tls-key)")
	fs.StringVar(&o.tlsKey, "tls-key", "", "PEM private key file of --tls-cert")
}

// newLogger is the process's logger: text (logfmt) or JSON lines on w at level.
func newLogger(w io.Writer, format string, level slog.Level) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: level}
	switch format {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

// apply maps the flags of sections 8.9 and 8.10 onto the transport config.
func (o *opsOptions) apply(c *transport.Config, dev bool) error {
	c.CORSOrigins = splitList(o.corsOrigins)
	if len(c.CORSOrigins) == 0 && dev {
		c.CORSOrigins = []string{"*"}
	}
	c.TrustedProxies = splitList(o.trustedProxies)
	c.ProxyProtocol = o.proxyProtocol
	c.AdminSeparate = o.adminAddr != ""
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if o.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			return fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		c.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	return nil
}
