package actors

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/automanaged"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/etcd"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/test"
	"github.com/asynkron/protoactor-go/cluster/identitylookup/disthash"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/cespare/xxhash/v2"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/liveroom/liveroom/metrics"
	"github.com/liveroom/liveroom/rooms"
)

// Node is one liveroom process in the actor cluster: the actor system, the cluster member, the
// local replicas and user actors. It implements transport.Engine and the session side
// (Connect, Join, Leave, Disconnect). Safe for concurrent use.
type Node struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics.Metrics
	system  *actor.ActorSystem
	cluster *cluster.Cluster
	sched   *scheduler // visits replicas and grains when their work is due (sched.go)

	mu       sync.Mutex
	replicas map[string]*Replica
	grains   map[string]*actor.PID // room grains active on this node
	users    map[string]*userEntry
	closed   bool

	dirOps  chan dirOp    // uid directory changes, applied in order by directory()
	dirQuit chan struct{} // closed by Shutdown
	dirDone chan struct{} // closed when directory() has returned

	// The uid directory (user.go): on when the node is one of several.
	clustered   bool
	addr        string // this member's actor address
	incarnation string // this process's start, unix nanos: tells restarts at one address apart
	serial      atomic.Uint64
	storeLogAt  atomic.Int64
	slowLogAt   atomic.Int64
	linkLogAt   atomic.Int64
	stopBeat    chan struct{}
	beatDone    chan struct{}
	leaveOnce   sync.Once // Drain and Shutdown stop the heartbeat once

	routeMu    sync.Mutex
	routeNodes map[string]rooms.NodeAddr // the live nodes as the heartbeat last read them
	routeAt    time.Time

	routePausedUntil atomic.Int64             // unix nanos: Route answers from its last reading until then
	dirPausedUntil   atomic.Int64             // unix nanos: the uid directory does not ask the store before (user.go)
	undurableRooms   atomic.Int64             // grains delivering without the store (Ready reports them)
	cacheBytes       atomic.Int64             // encoded windows cached by all replicas
	opens            map[string]*rooms.Bucket // per uid: rooms new to this node it may open (guarded by mu)
	bans             banCache                 // the global bans (bans.go)
	opensSwept       time.Time
}

// endpointQueue is the initial size of protoactor's remote send queues (they grow by doubling).
const endpointQueue = 1024

// NewNode starts the actor system and joins the cluster (a one-member cluster with the
// in-memory provider: the embedded default).
func NewNode(cfg Config) (*Node, error) {
	cfg.applyDefaults()
	cfg.Store = newTimedStore(cfg.Store, cfg.Metrics.StoreSeconds)
	n := &Node{
		cfg: cfg, log: cfg.Logger, metrics: cfg.Metrics,
		replicas: make(map[string]*Replica), grains: make(map[string]*actor.PID), users: make(map[string]*userEntry),
		opens: make(map[string]*rooms.Bucket),
	}
	// protoactor logs chatty info lines; ours keeps its warnings and errors.
	paLog := slog.New(levelFloor{h: cfg.Logger.Handler(), min: slog.LevelWarn}).With("component", "protoactor")
	n.clustered = len(cfg.Seeds) > 0 || len(cfg.Etcd) > 0
	if cfg.Edge && !n.clustered {
		return nil, fmt.Errorf("an edge node needs the cluster's membership (etcd or seeds) to reach the members")
	}
	n.incarnation = strconv.FormatInt(time.Now().UnixNano(), 36)
	n.system = actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return paLog }))
	kind := cluster.NewKind(roomKind, actor.PropsFromProducer(func() actor.Actor { return newRoomGrain(n) }))
	provider, err := membership(&cfg)
	if err != nil {
		return nil, err
	}
	ccfg := cluster.Configure(cfg.ClusterName, provider, disthash.New(),
		remote.Configure(cfg.BindHost, cfg.BindPort,
			// protoactor preallocates a million-slot ring (16 MB) per remote endpoint and for
			// the endpoint manager; the rings grow when full, so start them small: with 50
			// peers the defaults held ~800 MB of an idle node (docs/decisions.md).
			remote.WithEndpointWriterQueueSize(endpointQueue), remote.WithEndpointManagerQueueSize(endpointQueue)),
		cluster.WithKinds(kind), cluster.WithRequestTimeout(cfg.RequestTimeout))
	n.cluster = cluster.New(n.system, ccfg)
	n.sched = newScheduler()
	n.system.EventStream.Subscribe(func(evt any) {
		switch t := evt.(type) {
		case *cluster.ClusterTopology:
			n.metrics.Members.Set(float64(len(t.Members)))
			n.metrics.MembersLeft.Add(float64(len(t.Left)))
			if len(t.Left) > 0 {
				n.tellGrainsMembersLeft(t.Left)
			}
			if len(t.Left) > 0 || len(t.Joined) > 0 {
				n.relinkAll() // a room's grain may have moved
			}
		case *remote.EndpointTerminatedEvent:
			// Deltas on their way to or from that node may be lost: every replica renews, and
			// a renewal's answer tells a replica whether it missed one. The grains forget that
			// node's subscriptions unless renewed since: an edge is in no member list, so this
			// is how a dead edge's viewers leave online and its deltas stop (a live one relinks).
			n.tellGrainsGone(map[string]bool{t.Address: true})
			n.relinkAll()
		}
	})
	if err := joinCluster(n.cluster, cfg.Edge); err != nil {
		n.sched.stop()
		n.system.Shutdown()
		return nil, err
	}
	n.addr = n.system.Address()
	if _, err := n.system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return &usersRouter{node: n} }), usersName); err != nil {
		n.cluster.Shutdown(false)
		n.sched.stop()
		return nil, fmt.Errorf("users router: %w", err)
	}
	n.stopBeat, n.beatDone = make(chan struct{}), make(chan struct{})
	n.beat() // Route knows the nodes from the start
	go n.heartbeat()
	n.dirOps, n.dirQuit, n.dirDone = make(chan dirOp, 1024), make(chan struct{}), make(chan struct{})
	if n.clustered {
		go n.directory()
	} else {
		close(n.dirDone)
	}
	return n, nil
}

// heartbeat announces the node in the store's directory every RenewInterval (if it has an
// advertised URL or is in a cluster: the directory is also how nodes find every node's users
// router, edges included) and reads the live nodes for Route, until Shutdown. Route answers from what
// it read last: a store that hangs delays the directory by its timeouts, never a request.
func (n *Node) heartbeat() {
	defer close(n.beatDone)
	t := time.NewTicker(n.cfg.RenewInterval)
	defer t.Stop()
	for {
		select {
		case <-n.stopBeat:
			return
		case <-t.C:
		}
		n.beat()
	}
}

// beat is one heartbeat and one read of the live nodes.
func (n *Node) beat() {
	now := time.Now()
	if n.cfg.Advertise != "" || n.clustered {
		c, cancel := context.WithTimeout(context.Background(), time.Second)
		if err := n.cfg.Store.Heartbeat(c, n.cfg.Node, n.nodeAddr(), now); err != nil {
			n.storeFailed("node heartbeat", err)
		}
		cancel()
	}
	c, cancel := context.WithTimeout(context.Background(), time.Second)
	nodes, err := n.cfg.Store.Nodes(c, now.Add(-3*n.cfg.RenewInterval))
	cancel()
	if err != nil {
		n.storeFailed("node directory", err)
		return
	}
	n.routeMu.Lock()
	n.routeNodes, n.routeAt = nodes, now
	n.routeMu.Unlock()
	n.metrics.Nodes.Set(float64(len(nodes)))
	n.syncBans()
}

// Route picks the node for a uid by rendezvous hashing over the live nodes of the directory, so
// a user's devices tend to land together. node is "" when the directory knows no node (one
// node without --advertise): the caller answers with itself. The directory is read with a
// 500 ms bound; when that fails, Route answers from the last reading (the heartbeat reads it
// every RenewInterval) without asking the store again for a second, and says unavailable once
// that reading is older than 3 renewals rather than send viewers to nodes that may be gone.
func (n *Node) Route(ctx context.Context, uid string) (node, ws string, err error) {
	now := time.Now()
	var nodes map[string]rooms.NodeAddr
	if now.UnixNano() >= n.routePausedUntil.Load() {
		c, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		fresh, err := n.cfg.Store.Nodes(c, now.Add(-3*n.cfg.RenewInterval))
		cancel()
		if err == nil {
			n.routeMu.Lock()
			n.routeNodes, n.routeAt = fresh, now
			n.routeMu.Unlock()
			nodes = fresh
		} else {
			n.routePausedUntil.Store(now.Add(time.Second).UnixNano())
			n.storeFailed("node directory", err)
		}
	}
	if nodes == nil {
		n.routeMu.Lock()
		cached, at := n.routeNodes, n.routeAt
		n.routeMu.Unlock()
		if at.IsZero() || now.Sub(at) > 3*n.cfg.RenewInterval {
			return "", "", rooms.Errorf(rooms.CodeUnavailable, "the node directory cannot be read")
		}
		nodes = cached
	}
	var best uint64
	for name, at := range nodes {
		if at.WS == "" { // takes no viewers (a member of a cluster of edges without --advertise)
			continue
		}
		if h := xxhash.Sum64String(uid + "\x00" + name); node == "" || h > best {
			node, ws, best = name, at.WS, h
		}
	}
	return node, ws, nil
}

// nodeAddr is this node's entry in the node directory.
func (n *Node) nodeAddr() rooms.NodeAddr {
	return rooms.NodeAddr{WS: n.cfg.Advertise, Actor: n.addr}
}

// joinCluster joins the cluster as a member, or as a client (edge); protoactor panics when
// its provider fails to start (etcd unreachable, a port taken), which is a start-up error here.
func joinCluster(c *cluster.Cluster, edge bool) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("joining the cluster: %v", r)
		}
	}()
	if edge {
		c.StartClient()
	} else {
		c.StartMember()
	}
	return nil
}

// membership picks the cluster provider: in-memory for one node, etcd when endpoints are
// given, automanaged (static seeds) otherwise.
func membership(cfg *Config) (cluster.ClusterProvider, error) {
	if len(cfg.Etcd) > 0 {
		if len(cfg.Seeds) > 0 {
			return nil, fmt.Errorf("choose one membership: static seeds or etcd, not both")
		}
		return etcdMembership(cfg.Etcd, cfg.RequestTimeout)
	}
	if len(cfg.Seeds) == 0 {
		return test.NewTestProvider(test.NewInMemAgent()), nil
	}
	if cfg.BindPort == 0 {
		return nil, fmt.Errorf("a static cluster needs a fixed actor port (--cluster-bind host:port)")
	}
	hosts := []string{net.JoinHostPort(cfg.BindHost, strconv.Itoa(cfg.BindPort+1))}
	for _, s := range cfg.Seeds {
		host, port, err := net.SplitHostPort(s)
		if err != nil {
			return nil, fmt.Errorf("seed %q: %w", s, err)
		}
		p, err := strconv.Atoi(port)
		if err != nil {
			return nil, fmt.Errorf("seed %q: bad port", s)
		}
		hosts = append(hosts, net.JoinHostPort(host, strconv.Itoa(p+1)))
	}
	return automanaged.NewWithConfig(time.Second, cfg.BindPort+1, hosts...), nil
}

// etcdMembership checks that etcd answers (protoactor's provider would otherwise wait on it
// without a deadline) and returns the etcd provider with members under /liveroom.
func etcdMembership(endpoints []string, timeout time.Duration) (cluster.ClusterProvider, error) {
	cfg := clientv3.Config{Endpoints: endpoints, DialTimeout: timeout, Logger: zap.NewNop()}
	probe, err := clientv3.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("etcd %v: %w", endpoints, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	_, err = probe.Get(ctx, "/liveroom", clientv3.WithCountOnly())
	cancel()
	_ = probe.Close()
	if err != nil {
		return nil, fmt.Errorf("etcd %v does not answer: %w", endpoints, err)
	}
	p, err := etcd.NewWithConfig("/liveroom", cfg)
	if err != nil {
		return nil, fmt.Errorf("etcd %v: %w", endpoints, err)
	}
	return p, nil
}

// Shutdown stops the room grains (they save their state) and leaves the cluster.
func (n *Node) Shutdown(ctx context.Context) error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	n.leaveOnce.Do(func() { close(n.stopBeat) })
	replicas := make([]*actor.PID, 0, len(n.replicas))
	for _, r := range n.replicas {
		if r.pid != nil {
			replicas = append(replicas, r.pid)
		}
	}
	n.mu.Unlock()
	wait := func(pids []*actor.PID) {
		futures := make([]*actor.Future, len(pids))
		for i, pid := range pids {
			futures[i] = n.system.Root.PoisonFuture(pid)
		}
		for _, f := range futures {
			if ctx.Err() != nil {
				return
			}
			_ = f.Wait()
		}
	}
	<-n.beatDone
	close(n.dirQuit) // the sessions are closed: their detaches are queued
	select {
	case <-n.dirDone:
	case <-ctx.Done():
	}
	wait(replicas)
	// The rooms are saved before the node leaves the cluster, so that their next activation
	// elsewhere continues their history (seq and ts) instead of stamping seqs these grains
	// delivered. A request that arrives meanwhile still activates its room here (this node is
	// still a member): it loads what was just saved, and the next pass saves it again.
	for pass := 0; pass < 3 && ctx.Err() == nil; pass++ {
		n.mu.Lock()
		grains := make([]*actor.PID, 0, len(n.grains))
		for _, pid := range n.grains {
			grains = append(grains, pid)
		}
		n.mu.Unlock()
		if len(grains) == 0 {
			break
		}
		wait(grains)
	}
	n.cluster.Shutdown(true)
	n.sched.stop()
	return nil
}

// Drain takes the node out of the route directory at once (PROTOCOL.md section 8.8): the
// heartbeat stops, and a last beat dated at the Unix epoch is older than any reader's
// horizon, so Route on every node stops answering this one without waiting for the entry to
// age out. The node keeps serving its rooms until Shutdown.
func (n *Node) Drain() {
	n.leaveOnce.Do(func() { close(n.stopBeat) })
	<-n.beatDone
	if n.cfg.Advertise == "" && !n.clustered {
		return
	}
	c, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := n.cfg.Store.Heartbeat(c, n.cfg.Node, n.nodeAddr(), time.Unix(0, 0)); err != nil {
		n.storeFailed("leaving the node directory", err)
	}
}

// Name is this node's name.
func (n *Node) Name() string { return n.cfg.Node }

// Metrics returns the node's metrics (the transport exposes them).
func (n *Node) Metrics() *metrics.Metrics { return n.metrics }

func (n *Node) grainStarted(room string, pid *actor.PID) {
	n.mu.Lock()
	n.grains[room] = pid
	n.metrics.Rooms.Set(float64(len(n.grains)))
	n.mu.Unlock()
}

func (n *Node) grainStopped(room string, pid *actor.PID) {
	n.mu.Lock()
	if cur, ok := n.grains[room]; ok && cur.Equal(pid) {
		delete(n.grains, room)
	}
	n.metrics.Rooms.Set(float64(len(n.grains)))
	n.mu.Unlock()
}

// request sends msg to the room's grain and waits for the answer, bounded by ctx and the
// configured request timeout. Options are passed on every call (protoactor's defaults are
// process-wide).
func (n *Node) request(ctx context.Context, room string, msg any) (any, error) {
	deadline := time.Now().Add(n.cfg.RequestTimeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	// A request that may be repeated safely is tried in attempts of AttemptTimeout, then twice
	// that, then what is left: one sent to the grain of a node that just died is lost, and a
	// later attempt finds the grain re-activated on a survivor once the member list has dropped
	// the dead node, instead of waiting out the whole timeout. The growing attempts bound the
	// duplicates a slow (overloaded, not dead) grain gets to two. A message without a cmid, or
	// a backend's counter add, is not repeated.
	attempt := n.cfg.RequestTimeout
	retry := repeatable(msg)
	if retry {
		attempt = n.cfg.AttemptTimeout
	}
	for {
		timeout := min(time.Until(deadline), attempt)
		attempt *= 2
		if timeout <= 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("room %s: %w", room, context.DeadlineExceeded)
		}
		began := time.Now()
		res, err := n.cluster.Request(room, roomKind, msg, cluster.WithTimeout(timeout), cluster.WithRetryCount(3))
		n.metrics.GrainRequest.Observe(time.Since(began).Seconds())
		if err == nil {
			return res, nil
		}
		if ctx.Err() != nil || time.Until(deadline) <= 0 || !retry {
			return nil, fmt.Errorf("room %s: %w", room, err)
		}
		if time.Since(began) < 50*time.Millisecond { // no placement yet: do not spin
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
}

// tellGrainsMembersLeft tells this node's grains which members left: their replicas there
// will not renew (grain_visits.go).
func (n *Node) tellGrainsMembersLeft(left []*cluster.Member) {
	addrs := make(map[string]bool, len(left))
	for _, m := range left {
		addrs[m.Address()] = true
	}
	n.tellGrainsGone(addrs)
}

// tellGrainsGone tells this node's grains that the nodes at addrs are gone (now).
func (n *Node) tellGrainsGone(addrs map[string]bool) {
	msg := &membersGone{addrs: addrs, at: time.Now()}
	n.mu.Lock()
	pids := make([]*actor.PID, 0, len(n.grains))
	for _, pid := range n.grains {
		pids = append(pids, pid)
	}
	n.mu.Unlock()
	for _, pid := range pids {
		n.system.Root.Send(pid, msg)
	}
}

// shuttingDown reports whether Shutdown has begun.
func (n *Node) shuttingDown() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.closed
}

// relinkAll tells every replica to renew its subscription now.
func (n *Node) relinkAll() {
	n.mu.Lock()
	pids := make([]*actor.PID, 0, len(n.replicas))
	for _, r := range n.replicas {
		if r.pid != nil {
			pids = append(pids, r.pid)
		}
	}
	n.mu.Unlock()
	for _, pid := range pids {
		n.system.Root.Send(pid, linkNowMsg)
	}
}

// acquireReplica returns the room's replica on this node, starting it if needed, with one
// reference taken; release it with releaseReplica. uid is the viewer on whose behalf a room new
// to the node is opened ("" for the app's backend and admins): viewers open rooms at a bounded
// rate each, and the node holds at most MaxRooms (PROTOCOL.md is silent; docs/decisions.md).
func (n *Node) acquireReplica(ctx context.Context, room, uid string) (*Replica, error) {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil, errShuttingDown
	}
	r := n.replicas[room]
	if r == nil {
		if err := n.mayOpen(uid); err != nil {
			n.mu.Unlock()
			return nil, err
		}
		r = newReplica(n, room)
		n.replicas[room] = r
		n.replicasChanged()
		r.refs++
		n.mu.Unlock()
		props := actor.PropsFromProducer(func() actor.Actor { return &replicaActor{r: r} })
		if _, err := n.system.Root.SpawnNamed(props, "replica/"+room+"/"+strconv.FormatInt(time.Now().UnixNano(), 36)); err != nil {
			r.readyErr = err
			close(r.ready)
		}
	} else {
		r.refs++
		n.mu.Unlock()
	}
	select {
	case <-r.ready:
	case <-ctx.Done():
		n.releaseReplica(r)
		return nil, ctx.Err()
	}
	if r.readyErr != nil {
		n.mu.Lock()
		if n.replicas[room] == r {
			delete(n.replicas, room)
			n.replicasChanged()
		}
		n.mu.Unlock()
		return nil, fmt.Errorf("room %s: %w", room, r.readyErr)
	}
	return r, nil
}

func (n *Node) releaseReplica(r *Replica) {
	r.lastUse.Store(time.Now().UnixNano())
	n.mu.Lock()
	r.refs--
	n.mu.Unlock()
}

// localReplica returns the room's replica if this node has one (no reference taken).
func (n *Node) localReplica(room string) *Replica {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.replicas[room]
}

// retireReplica removes an idle replica from the registry; false if it is in use again.
func (n *Node) retireReplica(r *Replica) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if r.refs > 0 || r.retired {
		return false
	}
	r.retired = true
	if n.replicas[r.room] == r {
		delete(n.replicas, r.room)
		n.replicasChanged()
	}
	return true
}

// replicasChanged sets the replicas gauge (liveroom_replicas) to the registry's size, as
// grainStarted and grainStopped do for the grains; the caller holds n.mu.
func (n *Node) replicasChanged() { n.metrics.Replicas.Set(float64(len(n.replicas))) }

// retireMember marks m gone and drops its reference; only the first caller gets true.
func (n *Node) retireMember(m *Member) bool {
	if !m.gone.CompareAndSwap(false, true) {
		return false
	}
	m.r.local.Add(-1)
	n.releaseReplica(m.r)
	return true
}

var errShuttingDown = fmt.Errorf("node is shutting down")

// mayOpen decides whether a room new to this node may be opened for uid; the caller holds n.mu.
func (n *Node) mayOpen(uid string) error {
	if len(n.replicas) >= n.cfg.MaxRooms {
		n.metrics.ConnRejected.WithLabelValues("max_rooms").Inc()
		return rooms.Errorf(rooms.CodeUnavailable, "this node holds its maximum of rooms; try again later")
	}
	if uid == "" {
		return nil
	}
	now := time.Now()
	if now.Sub(n.opensSwept) > time.Minute { // forget the viewers whose bucket is full again
		full := time.Duration(float64(n.cfg.RoomOpenBurst)/n.cfg.RoomOpenRate*float64(time.Second)) + time.Minute
		for k, b := range n.opens {
			if b.Idle(now) > full {
				delete(n.opens, k)
			}
		}
		n.opensSwept = now
	}
	b := n.opens[uid]
	if b == nil {
		nb := rooms.NewBurstBucket(n.cfg.RoomOpenRate, float64(n.cfg.RoomOpenBurst), now)
		b = &nb
		n.opens[uid] = b
	}
	if !b.Allow(now) {
		n.metrics.ConnRejected.WithLabelValues("room_open_rate").Inc()
		return rooms.Errorf(rooms.CodeRateLimited, "too many new rooms opened by this user; try again later")
	}
	return nil
}

// storeSlow logs that rooms deliver without the store, at most once per 10 s per node.
func (n *Node) storeSlow(msg string) {
	if logEvery(&n.slowLogAt, 10*time.Second) {
		n.log.Warn(msg+" (logged once per 10 s)", "undurable_rooms", n.undurableRooms.Load())
	}
}

// linkFailed logs a replica's failed subscribe, at most once per 10 s per node.
func (n *Node) linkFailed(room string, err error) {
	if logEvery(&n.linkLogAt, 10*time.Second) {
		n.log.Warn("room subscription not renewed; retrying (logged once per 10 s)", "room", room, "err", err)
	}
}

// logEvery reports whether at least every has passed since the time in last, and moves it.
func logEvery(last *atomic.Int64, every time.Duration) bool {
	now := time.Now().UnixNano()
	prev := last.Load()
	return now-prev > int64(every) && last.CompareAndSwap(prev, now)
}

func errUnexpected(v any) error { return fmt.Errorf("unexpected answer %T", v) }

// levelFloor is a slog handler that drops records below min.
type levelFloor struct {
	h   slog.Handler
	min slog.Level
}

func (l levelFloor) Enabled(ctx context.Context, lv slog.Level) bool {
	return lv >= l.min && l.h.Enabled(ctx, lv)
}
func (l levelFloor) Handle(ctx context.Context, r slog.Record) error { return l.h.Handle(ctx, r) }
func (l levelFloor) WithAttrs(a []slog.Attr) slog.Handler {
	return levelFloor{h: l.h.WithAttrs(a), min: l.min}
}
func (l levelFloor) WithGroup(g string) slog.Handler {
	return levelFloor{h: l.h.WithGroup(g), min: l.min}
}
