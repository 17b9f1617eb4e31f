package actors

import (
	"log/slog"
	"time"

	"github.com/liveroom/liveroom/metrics"
	"github.com/liveroom/liveroom/rooms"
)

// Config configures a Node. The zero value of every field means its default.
type Config struct {
	Node        string // this node's name; default "n1"
	ClusterName string // default "liveroom"
	BindHost    string // actor-remote listen host; default "127.0.0.1"
	BindPort    int    // actor-remote listen port; default 0 (any free port)
	// Seeds are the other nodes' actor addresses (host:port) of a static cluster; empty = a
	// one-member cluster. Membership is protoactor's automanaged provider, which serves and
	// polls an HTTP health endpoint on each node's actor port + 1 (so BindPort must be set).
	Seeds []string
	// Etcd lists etcd endpoints (host:port) for membership through protoactor's etcd provider:
	// each member keeps a key under /liveroom/<cluster>/ alive on a 3 s lease, so a dead node
	// leaves the member list about 3 s after it stops renewing. Exclusive with Seeds.
	Etcd []string
	// Edge makes the node a cluster client instead of a member (needs Seeds or Etcd): it holds
	// sessions and replicas, reaches the rooms' grains on the members over protoactor remote,
	// hosts no grain and takes no part in the members' gossip. The comet/logic split: many
	// edges hold the viewers of a big cluster while a few members hold its rooms, so
	// membership and gossip cost what the members are, not what the viewers need (see
	// docs/decisions.md, "Edges").
	Edge bool
	// Advertise is this node's public WebSocket URL, announced in the store's node directory
	// so that /v1/route can send a uid to any live node; empty = not announced.
	Advertise string
	Store     rooms.Store      // default an in-memory store
	Metrics   *metrics.Metrics // default metrics.New()
	Logger    *slog.Logger     // default slog.Default()

	FlushInterval time.Duration // how often a room grain sends its batched deltas; default 5ms
	// FlushPerNode spaces the deltas of a room that many nodes subscribe to: a grain flushes at
	// most once per max(FlushInterval, subscribed nodes x this). A delta costs its grain's
	// member about 87 us per node it goes to (docs/capacity.md, c_delta): 200 ticks a second
	// to 52 nodes took most of a core. Default 500us: up to 10 nodes flush every 5 ms, 52
	// every 26 ms (38 ticks a second), while their viewers' rounds are seconds apart.
	FlushPerNode     time.Duration
	DispatchInterval time.Duration // how often a replica runs a notify round; default 50ms
	// RoundPerMember paces members of big rooms: a member is notified at most once per
	// max(DispatchInterval, members x RoundPerMember). Each notify costs about three frames
	// (notify, pull, msgs; ~12 us of server CPU each on loopback), so this bounds the dispatch
	// CPU of a room whatever its size. Default 50us (10k viewers: a notify per 500 ms).
	RoundPerMember time.Duration
	NotifyRetry    time.Duration // re-notify a session whose pull mark is older; default 2s
	KickAfter      int           // unanswered notifies before the unresponsive kick; default 3
	RenewInterval  time.Duration // a busy grain's renew check; the directory heartbeat; link retries' cap; default 2s
	// LinkKeepAlive: a replica whose viewer count is reported renews its subscription this
	// often, and a grain forgets a subscriber not heard of for three of them. A link is also
	// renewed at once when the viewer count changes, the cluster's members change, the
	// connection to another node ends, or the grain stops; so this only bounds how long a
	// subscriber lost without any of these lingers. Default 5m (19,000 idle rooms: 63 renewals
	// a second; at 2 s, 9,500).
	LinkKeepAlive  time.Duration
	RoomIdle       time.Duration // a grain with no subscribers passivates after; default 2m
	ReplicaIdle    time.Duration // a replica with no members and no pulls stops after; default 30s
	RequestTimeout time.Duration // grain request timeout; default 5s
	// AttemptTimeout bounds one attempt of a request that may be repeated (all but a message
	// without cmid): after a node dies, the next attempt reaches the room's new grain. Default 1s.
	AttemptTimeout time.Duration
	SessionsPerUID int           // per-uid session cap on this node; default 5
	SaveInterval   time.Duration // a grain saves dirty state at most this often; default 1s

	// DurableStamps: accepted messages are acknowledged and delivered only after the flush has
	// saved the room's last stamp (and any protected message) to the Store, so a room that
	// moves after a crash continues its seq. Set it with a shared store (Redis).
	DurableStamps bool
	// StoreWait bounds how long a flushed batch waits for the store (DurableStamps): past it the
	// batch is delivered and acknowledged without it and the room is undurable (counted in
	// liveroom_undurable_total, shown by readiness) until a save covers everything delivered.
	// Chat waits at most this once per outage, never per message. Default 250ms.
	StoreWait time.Duration
	// LoadTimeout bounds a grain's read of its state at activation. A store that does not answer
	// in time gives the room a new epoch; the read is retried in the background, and once it
	// succeeds the stored config and moderation are kept. Default 1s.
	LoadTimeout time.Duration

	// MaxRooms caps the rooms (replicas) this node keeps for its viewers: a join or viewer pull
	// of a room new to the node beyond it gets `unavailable`. Default 100000.
	MaxRooms int
	// RoomOpenRate and RoomOpenBurst bound how fast one viewer (uid) may open rooms new to this
	// node (token bucket per uid): beyond, `rate_limited`. Defaults 1 per second, burst 16.
	RoomOpenRate  float64
	RoomOpenBurst int

	PushLimit int // the limit of the windows pushed to members that joined with push; default 100

	// The load test's push-each baseline (PushEach), in a `-tags pusheach` build only
	// (pusheach_pusheach.go); an empty struct otherwise.
	//lint:ignore U1000 read in the -tags pusheach build only
	baselineConfig
}

func (c *Config) applyDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.Node == "" {
		c.Node = "n1"
	}
	if c.ClusterName == "" {
		c.ClusterName = "liveroom"
	}
	if c.BindHost == "" {
		c.BindHost = "127.0.0.1"
	}
	if c.Store == nil {
		c.Store = rooms.NewMemoryStore()
	}
	if c.Metrics == nil {
		c.Metrics = metrics.New()
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	def(&c.FlushInterval, 5*time.Millisecond)
	def(&c.FlushPerNode, 500*time.Microsecond)
	def(&c.DispatchInterval, 50*time.Millisecond)
	def(&c.RoundPerMember, 50*time.Microsecond)
	def(&c.NotifyRetry, 2*time.Second)
	def(&c.RenewInterval, 2*time.Second)
	def(&c.LinkKeepAlive, 5*time.Minute)
	def(&c.RoomIdle, 2*time.Minute)
	def(&c.ReplicaIdle, 30*time.Second)
	def(&c.RequestTimeout, 5*time.Second)
	def(&c.AttemptTimeout, time.Second)
	def(&c.SaveInterval, time.Second)
	def(&c.StoreWait, 250*time.Millisecond)
	def(&c.LoadTimeout, time.Second)
	if c.MaxRooms <= 0 {
		c.MaxRooms = 100000
	}
	if c.RoomOpenRate <= 0 {
		c.RoomOpenRate = 1
	}
	if c.RoomOpenBurst <= 0 {
		c.RoomOpenBurst = 16
	}
	if c.PushLimit <= 0 {
		c.PushLimit = 100
	}
	if c.KickAfter <= 0 {
		c.KickAfter = 3
	}
	if c.SessionsPerUID <= 0 {
		c.SessionsPerUID = 5
	}
}
