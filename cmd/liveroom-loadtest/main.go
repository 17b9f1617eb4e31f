// Command liveroom-loadtest is liveroom's load generator: it opens N viewer sessions (in
// several worker processes when N needs it), drives senders over the HTTP API, and prints and
// writes the result (JSON, self-contained HTML). It exits non-zero when a --fail-if budget is
// exceeded. Traffic goes only to loopback --url addresses; every run is bounded by --duration
// and --drain (plus the connect phase). Go tests drive the same run with loadtest.RunWith.
// A cluster run lists every node: --url http://127.0.0.1:18101,http://127.0.0.1:18102 and
// --server-pid with their pids in the same order (scripts/cluster-loadtest.sh does both).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/peterbourgon/ff/v3"

	"github.com/liveroom/liveroom/loadtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if len(os.Args) > 1 && os.Args[1] == "--worker" {
		var cfg loadtest.Config
		if err := json.Unmarshal([]byte(os.Getenv(loadtest.WorkerEnv)), &cfg); err != nil {
			fmt.Fprintln(os.Stderr, "worker: bad config:", err)
			os.Exit(2)
		}
		// LT_CPUPROFILE=prefix: each worker writes its CPU profile to prefix.<first viewer>.pprof.
		if prefix := os.Getenv("LT_CPUPROFILE"); prefix != "" {
			f, err := os.Create(fmt.Sprintf("%s.%d.pprof", prefix, cfg.First))
			if err == nil && pprof.StartCPUProfile(f) == nil {
				defer f.Close()
				defer pprof.StopCPUProfile()
			}
		}
		if err := loadtest.RunWorker(ctx, cfg, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "worker:", err)
			os.Exit(1)
		}
		return
	}
	os.Exit(run(ctx, os.Args[1:]))
}

func run(ctx context.Context, args []string) int {
	var cfg loadtest.Config
	var rates, out, html, plots, failIf, mode, pids, killPIDs, from string
	var noticeRetry bool
	fs := flag.NewFlagSet("liveroom-loadtest", flag.ContinueOnError)
	fs.StringVar(&cfg.URL, "url", "http://127.0.0.1:8080",
		"the server's base URL (loopback only); a cluster: the nodes' URLs, comma-separated (viewer i and post i go to node i % n; "+
			"a viewer whose session ends or whose dial fails asks /v1/route of the nodes and resumes on the node named)")
	fs.IntVar(&cfg.Viewers, "viewers", 2000, "viewer sessions")
	fs.IntVar(&cfg.Rooms, "rooms", 1, "rooms (viewer i joins room i % rooms; see --room-sizes)")
	fs.StringVar(&cfg.RoomSizes, "room-sizes", "even", "how many viewers each room gets: even (viewer i joins room i % rooms), "+
		"zipf:S (room k gets a share of --viewers proportional to 1/(k+1)^S, at least one each) or COUNTxSIZE,... (e.g. 2x1000,100x50,4000x2; "+
		"gives --viewers and --rooms); posts stay --rate per room; the report adds latency, deliveries and lost notices per room-size class")
	fs.DurationVar(&cfg.Duration, "duration", 30*time.Second, "how long the senders run")
	fs.StringVar(&rates, "rate", "normal=200,system=1", "msg/s per room per priority: low=,normal=,high=,system=")
	fs.Float64Var(&cfg.Slow, "slow", 0, "fraction of slow viewers (0..1): viewer i is slow when i % round(1/slow) == 0")
	fs.StringVar(&cfg.SlowMode, "slow-mode", "late", "late: pull 0.5-3 s after a notify; never: never pull (kicked, then resume); "+
		"stop: stop reading after joined (TCP buffers fill; outside the loss check; at the end read until EOF or 2 s: slow_kicked, slow_open)")
	fs.StringVar(&cfg.SlowRooms, "slow-rooms", "mixed", "mixed: slow viewers in the rooms of the others; own: rooms of their own (<prefix>-s<k>, posted to at the same rates)")
	fs.StringVar(&cfg.APIKey, "api-key", "", "the server key (senders)")
	fs.StringVar(&cfg.AdminKey, "admin-key", "", "the admin key (system notices)")
	fs.StringVar(&cfg.JWTSecret, "jwt-secret", "", "sign viewer tokens with this HS256 secret; empty = --dev ?uid= logins")
	fs.IntVar(&cfg.SrcIPs, "src-ips", 0, "source addresses 127.0.0.2.. to spread viewers over (default: viewers/2000+1, at most 250)")
	fs.IntVar(&cfg.PerWorker, "per-worker", 15000, "viewers per worker process (a process holds at most ~19.9k files here)")
	fs.IntVar(&cfg.PullLimit, "pull-limit", 100, "limit of each pull")
	fs.IntVar(&cfg.Connect, "connect-rate", 2000, "connection attempts per second")
	fs.DurationVar(&cfg.Drain, "drain", 5*time.Second, "wait after the senders stop before the loss check")
	fs.StringVar(&killPIDs, "kill-pids", "", "servers (of --server-pid) to kill -9 at --kill-at into the send phase: their viewers follow /v1/route to the others and resume")
	fs.DurationVar(&cfg.KillAt, "kill-at", 0, "when --kill-pids are killed, from the start of the send phase")
	fs.StringVar(&pids, "server-pid", "", "the server's pid, or the nodes' pids comma-separated in --url order: report CPU and RSS from /proc (summed and per pid)")
	fs.StringVar(&out, "out", "", "write the JSON result here")
	fs.StringVar(&html, "html", "", "write the HTML report here")
	fs.StringVar(&from, "report-from", "", "run nothing: read this JSON result (of --out), check --fail-if and write its --html and --plots")
	fs.StringVar(&plots, "plots", "", "write each plot of the report as a PNG file: PREFIX-<plot>.png (latency, deliveries, pulls, cpu, rss, goroutines, members)")
	fs.StringVar(&failIf, "fail-if", "", `exit 1 unless these hold, e.g. "p99<1s,lost=0,acct=0" (metrics: p50 p90 p99 max lost acct kicks dpc bpv rss_pv exited members members_left ack_p99 ack_gap resume_max slow_open rss_drift goroutines_drift)`)
	fs.StringVar(&mode, "mode", "", "label of the server's mode in the report (default notify-pull, or push-window with --push)")
	fs.BoolVar(&cfg.Push, "push", false, `viewers join with "push":true (the server pushes each round's window)`)
	fs.StringVar(&cfg.ViewerIO, "viewer-io", loadtest.DefaultViewerIO(), "how a worker runs its viewers: epoll (small structs whose sockets wait in one epoll set per worker, under 3 KB each; "+
		"no --churn, --slow or --liveness) or goroutine (a goroutine and a websocket.Conn each, ~22 KB; every feature)")
	fs.Float64Var(&cfg.Churn, "churn", 0, "fraction of the viewers per minute (e.g. 0.01) that, spread over each minute of the send phase, close their session and reconnect at once with join since (they stay in the loss check)")
	fs.DurationVar(&cfg.Liveness, "liveness", 0, "a joined session silent this long sends a ping; silent twice as long, it is closed and resumes elsewhere (a node frozen by SIGSTOP); 0: off")
	fs.BoolVar(&cfg.CheckStamps, "check-stamps", false, "keep every (room, epoch, seq) the viewers receive and count those seen with two ts: stamp_conflicts (no seq stamped twice; for fault runs)")
	fs.DurationVar(&cfg.Warmup, "warmup", 0, "the first part of the send phase left out of rss_drift and goroutines_drift (a soak)")
	fs.BoolVar(&noticeRetry, "notice-retry", true, "each system notice carries a cmid and is retried (next node each time) until a 200 or the drain's last 2 s; only acknowledged notices enter the loss check (false: one attempt, no cmid)")
	fs.DurationVar(&cfg.NoticeTimeout, "notice-timeout", 3*time.Second, "how long one notice attempt may take before it is retried")
	fs.Float64Var(&cfg.Likes, "likes", 0, `each viewer taps its room's "likes" counter this many times per second during the send phase (the "add" op without id; the server refuses over 20 adds/s per session, burst 20); the run fails unless, per room, every viewer's last total is the server's and the server's grew by the taps accepted (not refused)`)
	fs.DurationVar(&cfg.LikeBatch, "like-batch", 0, `with --likes: each viewer sums its taps and sends them as one add every this long (delta up to 100, split above), as an app conflates them (the JS client's addEvery); 0: one add of delta 1 per tap`)
	fs.Float64Var(&cfg.CounterPosts, "counter-posts", 0, "the backend POSTs gift_value adds (delta 1..10) this many times per second per room; the run fails unless each room's gift_value grew by the deltas acknowledged")
	if err := ff.Parse(fs, args, ff.WithEnvVarPrefix("LIVEROOM_LOADTEST")); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	cfg.NoticeRetryOff = !noticeRetry
	explicitSizes(fs, &cfg)
	var err error
	if cfg.Rates, err = parseRates(rates); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if cfg.ServerPIDs, err = parsePIDs(pids); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if cfg.KillPIDs, err = parsePIDs(killPIDs); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var res *loadtest.Result
	if from != "" {
		res, err = readResult(from)
	} else {
		res, err = loadtest.Run(ctx, cfg, os.Stderr)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "liveroom-loadtest:", err)
		return 1
	}
	res.Mode = mode
	if res.Mode == "" {
		res.Mode = "notify-pull"
		if cfg.Push {
			res.Mode = "push-window"
		}
	}
	if failIf != "" {
		if err := res.Check(failIf); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
	}
	if res.Counters != nil {
		for _, f := range res.Counters.Failures {
			res.Failed = append(res.Failed, "counters: "+f)
		}
	}
	res.Summary(os.Stdout)
	if out != "" {
		if err := writeFile(out, res.WriteJSON); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	if html != "" {
		if err := writeFile(html, res.WriteHTML); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	if plots != "" {
		if err := res.WritePlots(filepath.Dir(plots), filepath.Base(plots)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	if len(res.Failed) > 0 {
		return 1
	}
	return 0
}

// explicitSizes leaves --viewers and --rooms to explicit --room-sizes (COUNTxSIZE,...) unless
// they were given: the run then checks that they agree.
func explicitSizes(fs *flag.FlagSet, cfg *loadtest.Config) {
	if !strings.Contains(cfg.RoomSizes, "x") { // even, zipf:S
		return
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["viewers"] {
		cfg.Viewers = 0
	}
	if !set["rooms"] {
		cfg.Rooms = 0
	}
}

func parseRates(s string) (map[string]float64, error) {
	out := map[string]float64{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return nil, fmt.Errorf("--rate: %q is not pri=rate", kv)
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 {
			return nil, fmt.Errorf("--rate: bad rate %q", v)
		}
		out[k] = f
	}
	return out, nil
}

// parsePIDs parses "123" or "123,456,789" ("" = none).
func parsePIDs(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		pid, err := strconv.Atoi(f)
		if err != nil || pid <= 0 {
			return nil, fmt.Errorf("--server-pid: %q is not a pid", f)
		}
		out = append(out, pid)
	}
	return out, nil
}

func writeFile(path string, write func(w io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// readResult reads a JSON result written by --out.
func readResult(path string) (*loadtest.Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r loadtest.Result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	r.ComputeDrifts()
	return &r, nil
}
