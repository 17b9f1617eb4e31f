package loadtest

import (
	"bytes"
	"context"
	"math/rand/v2"
	"time"

	"github.com/valyala/fasthttp"
)

// How a viewer finds its next node once a session ended or a dial failed (a cluster run):
// it asks GET /v1/route?uid= of the configured nodes in turn, its own node first, and dials
// the answer when it is one of them. A node whose session just ended without a close (a dead
// node), whose dial failed or that is shutting down is avoided for avoidFor: when the route
// still points at it (a killed node stays in the cluster's directory for a few seconds), the
// viewer goes to the node that answered instead. No answer, or an answer that is not a
// configured node: the next node in the list.

const (
	routeTimeout = time.Second      // one GET /v1/route
	avoidFor     = 10 * time.Second // longer than a dead node stays in the directory (3 heartbeats of 2 s)
)

// ending is how a session ended.
type ending int

const (
	endDial     ending = iota // the dial or the handshake failed, or the session ended before joined
	endLost                   // the connection ended without a close frame (a dead node)
	endClosed                 // the server closed it (a kick, a close frame)
	endShutdown               // the server is going away (close 1001, kick shutdown)
	endChurn                  // the load tester closed it on purpose (--churn)
	endStall                  // a stalled viewer's session, read to its end when the run ended (stall.go)
)

// router asks the nodes' /v1/route for a worker's viewers.
type router struct {
	cfg    *Config
	client *fasthttp.Client
}

func newRouter(cfg *Config) *router {
	return &router{cfg: cfg, client: &fasthttp.Client{MaxConnsPerHost: 64, MaxConnWaitTimeout: routeTimeout,
		ReadTimeout: routeTimeout, WriteTimeout: routeTimeout}}
}

// ask returns the index of the configured node that node k's /v1/route names for uid: -1 when
// k did not answer, -2 when it named a node that is not configured.
func (r *router) ask(k int, uid string) int {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(r.cfg.node(k) + "/v1/route?uid=" + uid)
	if err := r.client.DoTimeout(req, resp, routeTimeout); err != nil || resp.StatusCode() != 200 {
		return -1
	}
	return r.cfg.nodeOfWS(strField(resp.Body(), keyWS))
}

var keyWS = []byte(`"ws":"`)

// nodeOfWS returns the index of the configured node whose host:port a ws:// (or wss://) URL
// names, -2 when none does.
func (c *Config) nodeOfWS(ws []byte) int {
	for _, scheme := range [][]byte{[]byte("ws://"), []byte("wss://")} {
		if rest, ok := bytes.CutPrefix(ws, scheme); ok {
			if i := bytes.IndexByte(rest, '/'); i >= 0 {
				rest = rest[:i]
			}
			for k, h := range c.hosts {
				if string(rest) == h {
					return k
				}
			}
		}
	}
	return -2
}

// nextNode picks the node of the viewer's next attempt after a session that ended as how.
func (v *viewer) nextNode(how ending) int {
	n := len(v.w.cfg.urls)
	if n == 1 || how == endChurn {
		return v.node
	}
	now := time.Now().UnixNano()
	if how == endDial || how == endLost || how == endShutdown {
		v.avoid, v.avoidUntil = v.node, now+int64(avoidFor)
	}
	for k := range n {
		asked := (v.node + k) % n
		switch got := v.w.router.ask(asked, v.uid()); {
		case got == -1: // no answer: ask the next node
			continue
		case got < 0: // not one of ours
			return (v.node + 1) % n
		case got == v.avoid && now < v.avoidUntil:
			return asked // the route still names the node just lost; the one that answered is up
		default:
			return got
		}
	}
	return (v.node + 1) % n
}

// pause is how long a viewer waits before its next attempt: a kick's retry_ms picks a random
// delay in [0, retry_ms] (PROTOCOL.md 8.8), churn none, else exponential backoff with full
// jitter (100 ms doubling to 5 s, back to 100 ms after a session that joined).
func (v *viewer) pause(how ending, joined bool) time.Duration {
	if how == endChurn {
		return 0
	}
	if v.retryMS > 0 {
		d := time.Duration(rand.Int64N(v.retryMS*int64(time.Millisecond) + 1))
		v.retryMS = 0
		return d
	}
	if joined {
		v.backoff = 100 * time.Millisecond
	}
	d := time.Duration(rand.Int64N(int64(v.backoff)))
	v.backoff = min(v.backoff*2, 5*time.Second)
	return d
}

// sleep waits d or until ctx ends; false: ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
