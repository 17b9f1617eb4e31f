package client

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ClusterOptions configures NewCluster. Zero values take the documented defaults.
type ClusterOptions struct {
	// RouteTimeout bounds each GET /v1/route (default 2s).
	RouteTimeout time.Duration
	// DownFor is how long a node whose /v1/route failed (no answer, or 5xx) is asked only after
	// the others (default 5s). This is shared by every viewer of the Cluster.
	DownFor time.Duration
	// Avoid is how long a viewer keeps off a WebSocket URL it has just used, when it resolves
	// again (default 10s: longer than a dead node stays in the cluster's directory, three
	// missed heartbeats of 2s). This is per viewer.
	Avoid time.Duration
}

// Cluster resolves viewers' WebSocket URLs over several liveroomd nodes of one cluster,
// through GET /v1/route?uid= (PROTOCOL.md sections 5 and 7). One Cluster is shared by all the
// viewers of a process (it holds one HTTP client per node); Resolver makes each viewer's
// ViewerOptions.Resolve.
type Cluster struct {
	nodes []clusterNode
	avoid time.Duration
	down  time.Duration
	clock func() time.Time // time.Now; tests set their own
}

type clusterNode struct {
	api       *API
	ws        string       // the node's own WebSocket URL, derived from its base URL
	downUntil atomic.Int64 // unix ns until which the node is asked last; 0: up
}

// NewCluster returns a Cluster over nodes, the base URLs of some of its nodes
// (http://host:port or https://host:port, as for NewAPI).
func NewCluster(nodes []string, o ClusterOptions) (*Cluster, error) {
	if len(nodes) == 0 {
		return nil, errors.New("liveroom cluster: no nodes")
	}
	if o.RouteTimeout <= 0 {
		o.RouteTimeout = 2 * time.Second
	}
	if o.DownFor <= 0 {
		o.DownFor = 5 * time.Second
	}
	if o.Avoid <= 0 {
		o.Avoid = 10 * time.Second
	}
	c := &Cluster{nodes: make([]clusterNode, len(nodes)), avoid: o.Avoid, down: o.DownFor,
		clock: time.Now}
	for i, base := range nodes {
		ws, err := wsURLOf(base)
		if err != nil {
			return nil, err
		}
		c.nodes[i].api = NewAPI(base, "")
		c.nodes[i].api.Timeout = o.RouteTimeout
		c.nodes[i].ws = ws
	}
	return c, nil
}

// wsURLOf turns a node's base URL into its WebSocket URL: http://h:p/x -> ws://h:p/x/v1/ws.
func wsURLOf(base string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("liveroom cluster: bad node URL: %w", err)
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("liveroom cluster: node URL %q: scheme must be http or https", base)
	}
	if u.Host == "" {
		return "", fmt.Errorf("liveroom cluster: node URL %q has no host", base)
	}
	u.Path = strings.TrimRight(u.Path, "/") + "/v1/ws"
	u.RawPath, u.RawQuery, u.Fragment, u.User = "", "", "", nil
	return u.String(), nil
}

// Resolver returns a ViewerOptions.Resolve for the viewer of uid. It returns the WebSocket URL
// of the node /v1/route picks for uid; authentication stays with the viewer's DialOptions
// (Token or DevUID), which Dial adds to that URL as ?token= or ?uid=.
//
//   - It asks one node at a time, starting with the last one that answered this viewer (at
//     first, one picked by uid, which spreads the viewers), and moves on to the next when a
//     node does not answer or answers 5xx. Nodes that failed so recently (DownFor) are asked
//     last. When no node answers, it returns an error: the viewer counts a dial error and
//     backs off as after any failed attempt.
//   - The viewer calls Resolve before every connection attempt, so a call after the first
//     means the URL it returned last failed to dial or its session ended. That URL is avoided
//     for Avoid: when the route still points at it (a node killed a moment ago stays in the
//     cluster's directory until its heartbeats expire), the viewer goes to the node that just
//     answered the route instead (or the next one not avoided), so it never loops on a dead
//     node. When every candidate is avoided, the route's answer is returned. The price: after
//     any reconnect a viewer may spend one session away from its routed node; a route is a
//     preference (a user's sessions together), not a requirement.
//
// A resolver belongs to one viewer; the returned func is safe for concurrent use all the same.
// Each call costs one HTTP request.
func (c *Cluster) Resolver(uid string) func(ctx context.Context) (string, error) {
	return c.newResolver(uid).resolve
}

func (c *Cluster) newResolver(uid string) *resolver {
	r := &resolver{c: c, path: "/v1/route?uid=" + url.QueryEscape(uid)}
	h := uint32(2166136261) // FNV-1a
	for i := 0; i < len(uid); i++ {
		h = (h ^ uint32(uid[i])) * 16777619
	}
	r.next = int(h % uint32(len(c.nodes)))
	return r
}

type resolver struct {
	c    *Cluster
	path string // /v1/route?uid=...

	mu    sync.Mutex
	next  int          // the node asked first
	last  string       // the URL returned by the previous call
	avoid []avoidedURL // URLs to keep off; expired entries are reused
}

type avoidedURL struct {
	url   string
	until int64 // unix ns
}

func (r *resolver) resolve(ctx context.Context) (string, error) {
	now := r.c.clock().UnixNano()
	r.mu.Lock()
	if r.last != "" {
		r.avoidLocked(r.last, now)
	}
	start := r.next
	r.mu.Unlock()

	var firstErr error
	n := len(r.c.nodes)
	// Pass 0 asks the nodes not marked down, pass 1 the others.
	for pass := 0; pass < 2; pass++ {
		for k := range n {
			i := (start + k) % n
			nd := &r.c.nodes[i]
			if (nd.downUntil.Load() > now) != (pass == 1) {
				continue
			}
			var rt Route
			err := nd.api.Do(ctx, "GET", r.path, nil, &rt)
			if err == nil && rt.WS == "" {
				err = errors.New("liveroom cluster: /v1/route answered no ws URL")
			}
			if err != nil {
				if ctx.Err() != nil {
					return "", ctx.Err()
				}
				var ae *APIError
				if errors.As(err, &ae) && ae.Status < 500 {
					return "", err // the request itself is refused (a bad uid): no node will do
				}
				nd.downUntil.Store(r.c.clock().Add(r.c.down).UnixNano())
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			if nd.downUntil.Load() != 0 {
				nd.downUntil.Store(0)
			}
			return r.pick(rt.WS, i, now), nil
		}
	}
	return "", fmt.Errorf("liveroom cluster: no node answered /v1/route (%d asked): %w", n, firstErr)
}

// pick returns routed unless this viewer avoids it; then the node that answered (i), or the
// next node neither down nor avoided.
func (r *resolver) pick(routed string, i int, now int64) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.next = i
	u := routed
	if r.avoidedLocked(routed, now) {
		n := len(r.c.nodes)
		for k := range n {
			nd := &r.c.nodes[(i+k)%n]
			// The node that answered (k == 0) is up whatever its mark says.
			if k > 0 && nd.downUntil.Load() > now {
				continue
			}
			if !r.avoidedLocked(nd.ws, now) {
				u = nd.ws
				break
			}
		}
	}
	r.last = u
	return u
}

func (r *resolver) avoidedLocked(u string, now int64) bool {
	for _, a := range r.avoid {
		if a.url == u && a.until > now {
			return true
		}
	}
	return false
}

// avoidLocked keeps off u for Avoid from now, in u's entry, an expired one or a new one.
func (r *resolver) avoidLocked(u string, now int64) {
	until := now + int64(r.c.avoid)
	free := -1
	for j := range r.avoid {
		a := &r.avoid[j]
		if a.url == u {
			a.until = until
			return
		}
		if free < 0 && a.until <= now {
			free = j
		}
	}
	if free >= 0 {
		r.avoid[free] = avoidedURL{u, until}
		return
	}
	r.avoid = append(r.avoid, avoidedURL{u, until})
}
