package loadtest

import (
	"fmt"
	"net"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Config is one load test run. The driver passes it to its workers as JSON.
//
// A cluster run lists every node in URL (comma-separated): viewer i connects to node i % n and
// the senders spread their posts the same way (post k of a priority goes to node k % n), so
// every node both serves viewers and accepts messages for rooms it may not host. A viewer
// whose session ends or whose dial fails follows /v1/route from then on (follow.go). ServerPIDs
// then lists the nodes' pids in the same order; their CPU and RSS are summed in the result
// and reported per node. Rooms and nodes are both picked by i modulo their count: when the
// two counts share a factor, a room's viewers sit on only some of the nodes (as many rooms as
// nodes: each room on one node).
type Config struct {
	URL        string             `json:"url"`         // the nodes' base URLs, comma-separated; viewer i connects to node i % n
	Viewers    int                `json:"viewers"`     // sessions to open
	Rooms      int                `json:"rooms"`       // rooms (<prefix>-r<k>); which viewers join which: RoomSizes
	RoomSizes  string             `json:"room_sizes"`  // "even" (default: viewer i joins room i % Rooms), "zipf:S" or "COUNTxSIZE,..." (roomsizes.go)
	Duration   time.Duration      `json:"duration"`    // how long the senders run
	Rates      map[string]float64 `json:"rates"`       // msg/s per room per priority (low, normal, high, system)
	Slow       float64            `json:"slow"`        // fraction of viewers that are slow (viewer i when i % round(1/Slow) == 0)
	SlowMode   string             `json:"slow_mode"`   // late (pull 0.5-3 s after notify), never (never pull) or stop (stop reading after joined)
	SlowRooms  string             `json:"slow_rooms"`  // mixed (default: slow viewers in the rooms of the others) or own (rooms <prefix>-s<k> of their own)
	APIKey     string             `json:"api_key"`     // server key for the senders
	AdminKey   string             `json:"admin_key"`   // admin key for system notices
	JWTSecret  string             `json:"jwt_secret"`  // viewers get HS256 tokens; empty = dev ?uid= logins
	SrcIPs     int                `json:"src_ips"`     // source addresses 127.0.0.2 .. (each holds ~28k conns)
	PerWorker  int                `json:"per_worker"`  // viewers per worker process (the file limit is ~19.9k)
	PullLimit  int                `json:"pull_limit"`  // limit of each pull
	Connect    int                `json:"connect"`     // connection attempts per second, all workers
	Drain      time.Duration      `json:"drain"`       // after the senders stop, before the loss check
	ServerPIDs []int              `json:"server_pids"` // read the servers' CPU and RSS from /proc (one per node, in URL order)
	// KillPIDs are servers (of ServerPIDs) the driver kills with SIGKILL KillAt into the send
	// phase: a reconnect storm whose viewers follow /v1/route and resume (Result.KilledAt).
	KillPIDs []int         `json:"kill_pids,omitempty"`
	KillAt   time.Duration `json:"kill_at,omitempty"`
	Prefix   string        `json:"prefix"`    // room and uid prefix (unique per run)
	Push     bool          `json:"push"`      // join with "push":true: the server pushes windows
	ViewerIO string        `json:"viewer_io"` // how a worker runs its viewers: "epoll" (default; viewer_epoll.go) or "goroutine" (viewer_ws.go: every feature)

	// Notices: each carries a cmid and is retried until acknowledged (see senders), unless
	// NoticeRetryOff; each attempt lasts at most NoticeTimeout (default 3s).
	NoticeRetryOff bool          `json:"notice_retry_off"`
	NoticeTimeout  time.Duration `json:"notice_timeout"`

	Churn  float64       `json:"churn"`  // fraction of the viewers per minute that close their session and resume at once (send phase)
	Warmup time.Duration `json:"warmup"` // the first part of the send phase left out of the drifts (a soak's growth after warming up)

	// CheckStamps keeps every (room, epoch, seq) a worker's viewers receive with its ts and
	// counts those seen with two different ts (Result.StampConflicts): no seq stamped twice.
	CheckStamps bool          `json:"check_stamps"`
	Liveness    time.Duration `json:"liveness"` // a joined session silent this long pings; twice this long, it is closed and resumed (0: off)

	Likes        float64       `json:"likes"`         // taps of "likes" per second per viewer, adds without id (counters.go)
	LikeBatch    time.Duration `json:"like_batch"`    // each viewer's taps summed into one add this often (split at delta 100); 0: one add per tap
	CounterPosts float64       `json:"counter_posts"` // backend POSTs of gift_value per second per room

	// Set by the driver for each worker.
	First int `json:"first"` // first viewer index
	Count int `json:"count"` // viewers in this worker

	urls    []string  // URL split and trimmed (applyDefaults)
	hosts   []string  // each URL's host:port
	plan    *roomPlan // RoomSizes for Viewers and Rooms (applyDefaults; nil when planErr)
	planErr error     // reported by validate
}

func (c *Config) applyDefaults() {
	if c.URL == "" {
		c.URL = "http://127.0.0.1:8080"
	}
	c.urls, c.hosts = nil, nil
	for _, u := range strings.Split(c.URL, ",") {
		if u = strings.TrimSuffix(strings.TrimSpace(u), "/"); u != "" {
			c.urls = append(c.urls, u)
			host := u
			if p, err := url.Parse(u); err == nil {
				host = p.Host
			}
			c.hosts = append(c.hosts, host)
		}
	}
	if v, r, ok := explicitTotals(c.RoomSizes); ok { // the sizes give both unless set
		if c.Viewers <= 0 {
			c.Viewers = v
		}
		if c.Rooms <= 0 {
			c.Rooms = r
		}
	}
	if c.Viewers <= 0 {
		c.Viewers = 2000
	}
	if c.Rooms <= 0 {
		c.Rooms = 1
	}
	c.plan, c.planErr = newRoomPlan(c.RoomSizes, c.Viewers, c.Rooms)
	if c.Duration <= 0 {
		c.Duration = 30 * time.Second
	}
	if c.Rates == nil {
		c.Rates = map[string]float64{"normal": 200, "system": 1}
	}
	if c.SlowMode == "" {
		c.SlowMode = "late"
	}
	if c.SlowRooms == "" {
		c.SlowRooms = "mixed"
	}
	if c.PerWorker <= 0 {
		c.PerWorker = 15000
	}
	if c.SrcIPs <= 0 {
		// connect(2) looks for a free source port among the address's connections to the
		// same server: fewer per address keep that search short.
		c.SrcIPs = min(c.Viewers/2000+1, 250)
	}
	if c.PullLimit <= 0 {
		c.PullLimit = 100
	}
	if c.Connect <= 0 {
		c.Connect = 2000
	}
	if c.Drain <= 0 {
		c.Drain = 5 * time.Second
	}
	if c.NoticeTimeout <= 0 {
		c.NoticeTimeout = 3 * time.Second
	}
	if c.ViewerIO == "" {
		c.ViewerIO = DefaultViewerIO()
	}
	if c.Prefix == "" {
		c.Prefix = fmt.Sprintf("lt%d", time.Now().Unix()%100000)
	}
}

func (c *Config) validate() error {
	if len(c.urls) == 0 {
		return fmt.Errorf("--url must be http://host:port[,http://host:port...]")
	}
	if c.planErr != nil {
		return c.planErr
	}
	seen := map[string]bool{}
	for _, raw := range c.urls {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("--url: %q must be http://host:port", raw)
		}
		host, _, err := net.SplitHostPort(u.Host)
		if err != nil {
			return fmt.Errorf("--url: %w", err)
		}
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			return fmt.Errorf("--url must point at loopback addresses (127.0.0.0/8): load tests stay on this machine")
		}
		if seen[raw] {
			return fmt.Errorf("--url: %q listed twice", raw)
		}
		seen[raw] = true
	}
	if c.APIKey == "" || c.AdminKey == "" {
		return fmt.Errorf("--api-key and --admin-key are required")
	}
	for p := range c.Rates {
		if !strings.Contains("low normal high system", p) {
			return fmt.Errorf("--rate: unknown priority %q", p)
		}
	}
	if c.Slow < 0 || c.Slow > 1 || (c.SlowMode != "late" && c.SlowMode != "never" && c.SlowMode != "stop") {
		return fmt.Errorf("--slow must be 0..1 and --slow-mode late, never or stop")
	}
	if c.SlowRooms != "mixed" && c.SlowRooms != "own" {
		return fmt.Errorf("--slow-rooms must be mixed or own")
	}
	if c.Churn < 0 || c.Churn > 60 {
		return fmt.Errorf("--churn must be 0..60 (fraction of the viewers per minute)")
	}
	if c.Likes < 0 || c.Likes > 1000 || c.CounterPosts < 0 || c.CounterPosts > 10000 {
		return fmt.Errorf("--likes must be 0..1000 and --counter-posts 0..10000")
	}
	if c.LikeBatch < 0 || c.LikeBatch > 10*time.Second {
		return fmt.Errorf("--like-batch must be 0..10s")
	}
	if (c.Likes > 0 || c.CounterPosts > 0) && c.Drain > 0 && c.Drain < 2*time.Second {
		return fmt.Errorf("--likes and --counter-posts need --drain of 2s or more: the totals settle during it")
	}
	if err := c.validateViewerIO(); err != nil {
		return err
	}
	if c.SrcIPs > 250 {
		return fmt.Errorf("--src-ips at most 250")
	}
	for _, pid := range c.ServerPIDs {
		if pid <= 0 {
			return fmt.Errorf("--server-pid: %d is not a pid", pid)
		}
	}
	for _, pid := range c.KillPIDs {
		if !slices.Contains(c.ServerPIDs, pid) {
			return fmt.Errorf("--kill-pids: %d is not one of --server-pid", pid)
		}
	}
	if len(c.KillPIDs) > 0 && (c.KillAt <= 0 || c.KillAt >= c.Duration) {
		return fmt.Errorf("--kill-at must be within the send phase (0 < kill-at < duration)")
	}
	return nil
}

// room is the room of post i: room i % Rooms.
func (c *Config) room(i int) string { return fmt.Sprintf("%s-r%d", c.Prefix, i%c.Rooms) }

// slowEvery is n when viewer i is slow for i % n == 0 (0: none).
func (c *Config) slowEvery() int {
	if c.Slow <= 0 {
		return 0
	}
	return max(1, int(1/c.Slow+0.5))
}

func (c *Config) isSlow(i int) bool { n := c.slowEvery(); return n > 0 && i%n == 0 }

// stalledViewers counts the viewers that stop reading (--slow-mode stop).
func (c *Config) stalledViewers() int {
	if n := c.slowEvery(); n > 0 && c.SlowMode == "stop" {
		return (c.Viewers + n - 1) / n
	}
	return 0
}

// ownSlowRooms tells whether the slow viewers have rooms of their own.
func (c *Config) ownSlowRooms() bool { return c.SlowRooms == "own" && c.slowEvery() > 0 }

// viewerRoom is the room viewer i joins: room k of the plan (i % Rooms with even sizes), or
// with own slow rooms <prefix>-s<k> for a slow viewer.
func (c *Config) viewerRoom(i int) string {
	k := c.plan.of[i]
	if c.ownSlowRooms() && c.isSlow(i) {
		return fmt.Sprintf("%s-s%d", c.Prefix, k)
	}
	return fmt.Sprintf("%s-r%d", c.Prefix, k)
}

// postRooms is how many rooms the senders post to (each at the configured rates); post i goes
// to postRoom(i): the rooms, then the slow viewers' own rooms.
func (c *Config) postRooms() int {
	if c.ownSlowRooms() {
		return 2 * c.Rooms
	}
	return c.Rooms
}

func (c *Config) postRoom(i int) string {
	if k := i % c.postRooms(); k >= c.Rooms {
		return fmt.Sprintf("%s-s%d", c.Prefix, k-c.Rooms)
	}
	return c.room(i)
}

func (c *Config) uid(i int) string { return fmt.Sprintf("%s-v%d", c.Prefix, i) }

// node returns the base URL of node i % n: viewer i connects to it, sender post i goes to it.
func (c *Config) node(i int) string { return c.urls[i%len(c.urls)] }

// nodeViewers returns how many of the viewers connect to node k.
func (c *Config) nodeViewers(k int) int {
	n := len(c.urls)
	v := c.Viewers / n
	if k < c.Viewers%n {
		v++
	}
	return v
}

// wsURL returns the WebSocket URL of node k % n for uid, with a token or a dev login.
func (c *Config) wsURL(k int, uid string) string {
	q := "uid=" + uid
	if c.JWTSecret != "" {
		tok, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": uid, "exp": time.Now().Add(24 * time.Hour).Unix()}).
			SignedString([]byte(c.JWTSecret))
		q = "token=" + tok
	}
	return "ws://" + c.hosts[k%len(c.hosts)] + "/v1/ws?" + q
}

// localAddr spreads viewers over 127.0.0.2, 127.0.0.3, ...: one source address holds about
// 28k connections to one server port.
func (c *Config) localAddr(i int) *net.TCPAddr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%c.SrcIPs))}
}

// Viewer IO modes (Config.ViewerIO).
const (
	ViewerIOGoroutine = "goroutine" // a goroutine and a websocket.Conn per viewer (viewer_ws.go)
	ViewerIOEpoll     = "epoll"     // small structs whose sockets wait in one epoll set per worker (viewer_epoll.go)
)

// DefaultViewerIO is epoll on Linux, goroutine elsewhere (no epoll).
func DefaultViewerIO() string {
	if runtime.GOOS == "linux" {
		return ViewerIOEpoll
	}
	return ViewerIOGoroutine
}

// validateViewerIO refuses what the epoll IO does not do, rather than running without it.
func (c *Config) validateViewerIO() error {
	switch c.ViewerIO {
	case ViewerIOGoroutine:
		return nil
	case ViewerIOEpoll:
		if runtime.GOOS != "linux" {
			return fmt.Errorf("--viewer-io epoll needs Linux: use --viewer-io goroutine")
		}
	default:
		return fmt.Errorf("--viewer-io must be goroutine or epoll, not %q", c.ViewerIO)
	}
	var off []string
	if c.Churn > 0 {
		off = append(off, "--churn")
	}
	if c.Slow > 0 {
		off = append(off, "--slow")
	}
	if c.Liveness > 0 {
		off = append(off, "--liveness")
	}
	if len(off) > 0 {
		return fmt.Errorf("--viewer-io epoll does not support %s: use --viewer-io goroutine", strings.Join(off, ", "))
	}
	return nil
}
