package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // served only with --pprof
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/peterbourgon/ff/v3"

	"github.com/liveroom/liveroom/actors"
	"github.com/liveroom/liveroom/internal/buildinfo"
	"github.com/liveroom/liveroom/internal/memtrim"
	"github.com/liveroom/liveroom/metrics"
	"github.com/liveroom/liveroom/rooms"
	"github.com/liveroom/liveroom/transport"
)

// options are the command line; every flag also reads LIVEROOM_<FLAG> from the environment.
type options struct {
	addr, jwtSecret, apiKey, adminKey string
	redis, node, clusterBind          string
	clusterSeeds, etcd, advertise     string
	dev, edge                         bool
	logLevel                          string
	connPerIP, connPerUID             int
	pprof                             string
	gcPercent, pushLimit, maxRooms    int
	roundPerMember, storeWait         time.Duration
	retention, slowKick, drain        time.Duration
	pingInterval                      time.Duration
	httpRatePerIP, httpRatePerUID     float64
	httpConnsPerIP                    int
	baseline                          func(*actors.Config) // the load test's push-each baseline (a -tags pusheach build)
	ops                               opsOptions           // config.go
}

func parse(args []string) (options, error) {
	var o options
	fs := flagSet(&o)
	err := ff.Parse(fs, args, ff.WithEnvVarPrefix("LIVEROOM"),
		ff.WithConfigFileFlag("config"), ff.WithConfigFileParser(ff.PlainParser))
	return o, err
}

// flagSet registers every flag of liveroomd onto o (PROTOCOL.md section 7 lists them all; a
// test compares the two).
func flagSet(o *options) *flag.FlagSet {
	host, _ := os.Hostname()
	fs := flag.NewFlagSet("liveroomd", flag.ContinueOnError)
	fs.StringVar(&o.addr, "addr", ":8080", "HTTP + WebSocket listen address")
	fs.BoolVar(&o.dev, "dev", false, "dev mode: ?uid= logins, /v1/dev/token, the demo page at /, generated keys printed at start")
	fs.StringVar(&o.jwtSecret, "jwt-secret", "", "HS256 secret for viewer tokens (required unless --dev)")
	fs.StringVar(&o.apiKey, "api-key", "", "server key for the app's backend (required unless --dev)")
	fs.StringVar(&o.adminKey, "admin-key", "", "admin key (required unless --dev)")
	fs.StringVar(&o.redis, "redis", "", "Redis URL (redis://127.0.0.1:6379/0); empty = in-memory store")
	fs.StringVar(&o.node, "node", host, "this node's name")
	fs.StringVar(&o.clusterBind, "cluster-bind", "127.0.0.1:0", "actor-remote listen address")
	fs.StringVar(&o.clusterSeeds, "cluster-seeds", "", "other nodes' actor addresses (static cluster)")
	fs.StringVar(&o.etcd, "etcd", "", "etcd endpoints (host:port,...) for cluster membership, instead of --cluster-seeds")
	fs.BoolVar(&o.edge, "edge", false, "join the cluster as an edge: hold viewers' sessions and reach the rooms on the members, host no room and take no part in membership gossip (needs --etcd or --cluster-seeds)")
	fs.StringVar(&o.advertise, "advertise", "", "public ws://host:port/v1/ws URL returned by /v1/route (default: this server's own listen address, never the request's Host; set it behind a proxy or NAT)")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.IntVar(&o.connPerIP, "conn-per-ip", 20, "WebSocket connection attempts per IP per 10 s")
	fs.IntVar(&o.connPerUID, "conn-per-uid", 10, "WebSocket connection attempts per uid per 10 s")
	fs.StringVar(&o.pprof, "pprof", "", "serve net/http/pprof on this address (e.g. 127.0.0.1:6060); empty = off")
	fs.IntVar(&o.pushLimit, "push-limit", 100, "messages in a window pushed to a viewer that joined with push (older ones are counted as dropped; protected ones are always kept)")
	fs.DurationVar(&o.roundPerMember, "round-per-member", 50*time.Microsecond, "notify pacing of big rooms: a viewer is notified at most once per max(50ms, viewers on the node x this); the node's CPU budget for dispatch (see docs/decisions.md)")
	fs.IntVar(&o.gcPercent, "gc-percent", 50, "Go GC target percentage (GOGC) unless the GOGC environment variable is set; see docs/decisions.md")
	fs.DurationVar(&o.storeWait, "store-wait", 250*time.Millisecond, "how long a batch of messages waits for the store (--redis) before it is delivered without it; the room is then undurable until the store answers (counted in liveroom_undurable_total, shown by /readyz)")
	fs.IntVar(&o.maxRooms, "max-rooms", 100000, "rooms this node serves to its viewers at most; one more gets unavailable")
	fs.DurationVar(&o.retention, "room-retention", rooms.DefaultRetention, "a room's saved state is forgotten this long after its last save")
	fs.Float64Var(&o.httpRatePerIP, "http-rate-per-ip", 100, "HTTP requests without a key per second per client address (burst twice that); -1 = no limit")
	fs.Float64Var(&o.httpRatePerUID, "http-rate-per-uid", 20, "HTTP requests with a viewer token per second per uid (burst twice that); -1 = no limit")
	fs.IntVar(&o.httpConnsPerIP, "http-conns-per-ip", 256, "HTTP connections one client address holds at once (WebSockets not counted); -1 = no limit")
	fs.DurationVar(&o.drain, "drain", 10*time.Second, "on SIGTERM or POST /v1/node/drain: how long the node takes to move its viewers away (kicks spread evenly, with retry_ms) before its rooms move and it exits")
	fs.DurationVar(&o.slowKick, "slow-kick", 6*time.Second, "a viewer whose socket stays full this long (it does not read) is closed as unresponsive (4008)")
	fs.DurationVar(&o.pingInterval, "ping-interval", 30*time.Second, "the keepalive: each interval a WebSocket ping goes to the sessions silent since the last one, and a session silent for three is closed; a big node pays ~37 us a ping and its pong (docs/capacity.md), 1s at least")
	o.baseline = baselineFlags(fs)
	o.ops.register(fs)
	return fs
}

// smallStacks re-executes the process (same pid) with GODEBUG=adaptivestackstart=0 unless
// GODEBUG already sets it: new goroutines then start at the minimum stack (2 KB) rather than
// at the running average of stack depths (Go 1.19+). Measured when every idle viewer was a
// parked reader goroutine (19k idle viewers: 4.5 KB of stack per session with the adaptive
// start, 2.1 KB without); idle sessions now hold no goroutine (internal/socket), and
// the setting keeps the short-lived ones (upgrades, frames beyond the worker pool) small. It
// is read only at process start, hence the exec; it returns only if the exec fails (the
// server then runs with the adaptive start).
func smallStacks() {
	godebug := os.Getenv("GODEBUG")
	if strings.Contains(godebug, "adaptivestackstart=") {
		return
	}
	exe, err := os.Executable()
	if err != nil {
		return
	}
	if godebug != "" {
		godebug += ","
	}
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "GODEBUG=") })
	env = append(env, "GODEBUG="+godebug+"adaptivestackstart=0")
	_ = syscall.Exec(exe, os.Args, env)
}

func main() {
	smallStacks()
	o, err := parse(os.Args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "liveroomd:", err)
		os.Exit(2)
	}
	if o.ops.version {
		fmt.Println(buildinfo.Read())
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "liveroomd:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log, err := newLogger(os.Stderr, o.ops.logFormat, level)
	if err != nil {
		return err
	}
	if os.Getenv("GOGC") == "" {
		// liveroomd's GC policy: the target percentage, and a quiet heap's headroom returned
		// to the system (internal/memtrim). GOGC in the environment takes both over.
		debug.SetGCPercent(o.gcPercent)
		go memtrim.Run(ctx, memtrim.Config{Trimmed: func(before, after uint64) {
			log.Debug("quiet heap trimmed", "held_mb", before>>20, "after_mb", after>>20)
		}})
	}
	seeds, etcd := splitList(o.clusterSeeds), splitList(o.etcd)
	if len(seeds) > 0 && len(etcd) > 0 {
		return errors.New("--cluster-seeds and --etcd: choose one membership")
	}
	if o.edge && len(seeds) == 0 && len(etcd) == 0 {
		return errors.New("--edge needs the cluster's membership: --etcd or --cluster-seeds")
	}
	if o.pingInterval < time.Second {
		return fmt.Errorf("--ping-interval %v: at least 1s", o.pingInterval)
	}
	storeOpts := rooms.StoreOptions{Retention: o.retention}
	var store rooms.Store = rooms.NewMemoryStore(storeOpts)
	if o.redis != "" {
		c, cancel := context.WithTimeout(ctx, 10*time.Second)
		rs, err := rooms.NewRedisStore(c, o.redis, storeOpts)
		cancel()
		if err != nil {
			return fmt.Errorf("--redis: %w", err)
		}
		defer rs.Close()
		store = rs
	}
	bindHost, bindPort, err := splitHostPort(o.clusterBind)
	if err != nil {
		return fmt.Errorf("--cluster-bind: %w", err)
	}
	if o.dev {
		genIfEmpty(&o.apiKey, "api-key")
		genIfEmpty(&o.adminKey, "admin-key")
		genIfEmpty(&o.jwtSecret, "jwt-secret")
	}
	if o.pprof != "" {
		go func() {
			// DefaultServeMux carries net/http/pprof's handlers.
			if err := http.ListenAndServe(o.pprof, nil); err != nil {
				log.Warn("pprof listener", "err", err)
			}
		}()
	}
	m := metrics.New()
	ac := actors.Config{Node: o.node, BindHost: bindHost, BindPort: bindPort, Metrics: m, Logger: log,
		Store: store, DurableStamps: o.redis != "", StoreWait: o.storeWait, MaxRooms: o.maxRooms, RoundPerMember: o.roundPerMember, PushLimit: o.pushLimit, Seeds: seeds, Etcd: etcd, Edge: o.edge, Advertise: o.advertise}
	o.baseline(&ac)
	node, err := actors.NewNode(ac)
	if err != nil {
		return err
	}
	tcfg := transport.Config{
		Addr: o.addr, Dev: o.dev, JWTSecret: o.jwtSecret, APIKey: o.apiKey, AdminKey: o.adminKey,
		Node: o.node, Advertise: o.advertise, ConnPerIP: o.connPerIP, ConnPerUID: o.connPerUID,
		HTTPRatePerIP: o.httpRatePerIP, HTTPRatePerUID: o.httpRatePerUID, HTTPConnsPerIP: o.httpConnsPerIP, SlowKick: o.slowKick,
		PingInterval: o.pingInterval,
	}
	if err := o.ops.apply(&tcfg, o.dev); err != nil {
		_ = node.Shutdown(context.Background())
		return err
	}
	srv, err := transport.New(tcfg, node, m, log)
	if err != nil {
		_ = node.Shutdown(context.Background())
		return err
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		_ = node.Shutdown(context.Background())
		return err
	}
	served := make(chan error, 2)
	if o.ops.adminAddr != "" {
		aln, err := net.Listen("tcp", o.ops.adminAddr)
		if err != nil {
			_ = ln.Close()
			_ = node.Shutdown(context.Background())
			return fmt.Errorf("--admin-addr: %w", err)
		}
		log.Info("admin endpoints listening", "addr", aln.Addr().String())
		go func() { served <- srv.ServeAdmin(aln) }()
	}
	log.Info("liveroomd listening", "addr", ln.Addr().String(), "node", o.node, "dev", o.dev, "tls", tcfg.TLS != nil,
		"version", buildinfo.Read().Version, "revision", buildinfo.Read().Revision)
	if o.dev {
		printDevHelp(ln.Addr().String(), o)
	}
	go func() { served <- srv.Serve(ln) }()
	select {
	case err = <-served:
	case <-ctx.Done():
		log.Info("shutting down: draining", "drain", o.drain.String())
	case <-srv.DrainRequested():
		log.Info("drain requested: draining, then exiting", "drain", o.drain.String())
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), o.drain+15*time.Second)
	defer cancel()
	if err == nil {
		// Readiness 503, off the route directory, upgrades refused, sessions kicked evenly
		// over --drain; then the rooms are saved and move (node.Shutdown) before the exit.
		srv.Drain(shutCtx, o.drain)
	}
	if e := srv.Shutdown(shutCtx); e != nil {
		log.Warn("transport shutdown", "err", e)
	}
	if e := node.Shutdown(shutCtx); e != nil {
		log.Warn("node shutdown", "err", e)
	}
	log.Info("stopped")
	return err
}

// genIfEmpty fills an unset dev-mode secret with a random one.
func genIfEmpty(v *string, name string) {
	if *v != "" {
		return
	}
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	*v = "dev-" + name + "-" + hex.EncodeToString(b)
}

// splitList splits a comma-separated flag value, dropping blanks.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func splitHostPort(s string) (string, int, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, err
	}
	var p int
	if _, err := fmt.Sscanf(port, "%d", &p); err != nil || p < 0 || p > 65535 {
		return "", 0, fmt.Errorf("bad port %q", port)
	}
	return host, p, nil
}

// printDevHelp tells a new user how to connect to a --dev server.
func printDevHelp(addr string, o options) {
	host := addr
	if strings.HasPrefix(host, "[::]") || strings.HasPrefix(host, "0.0.0.0") || strings.HasPrefix(host, ":") {
		_, port, _ := net.SplitHostPort(addr)
		host = "127.0.0.1:" + port
	}
	fmt.Fprintf(os.Stderr, `
liveroom is running in dev mode.
  demo page:        http://%[1]s/?room=demo
  admin page:       http://%[1]s/admin
  a viewer token:   curl 'http://%[1]s/v1/dev/token?uid=alice'
  WebSocket (dev):  ws://%[1]s/v1/ws?uid=alice
  post a message:   curl -H 'Authorization: Bearer %[2]s' -d '{"uid":"alice","kind":"chat","body":{"text":"hi"}}' http://%[1]s/v1/rooms/demo/messages
  post a notice:    curl -H 'Authorization: Bearer %[3]s' -d '{"body":{"text":"welcome"}}' http://%[1]s/v1/rooms/demo/notices
  (keys generated for this run; pass --api-key / --admin-key / --jwt-secret to choose your own)

`, host, o.apiKey, o.adminKey)
}
