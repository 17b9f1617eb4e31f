package transport

import (
	"errors"
	"hash/maphash"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/liveroom/liveroom/rooms"
)

// The HTTP side's abuse limits (PROTOCOL.md section 6 names the WebSocket ones; docs/decisions.md
// says what HTTP does): requests without a key are rate-limited per client IP, a viewer's
// requests per uid, long-polls are capped in number per IP and per uid, and an IP holds a
// bounded number of HTTP connections at once (a WebSocket leaves that count once upgraded; its
// own limits are the connection-attempt ones in abuse.go). The app's backend, with its key, is
// limited by none of them.

// rateLimits keeps one token bucket per key (an IP or a uid), sharded, each shard swept of the
// buckets that are full again once a minute. Safe for concurrent use.
type rateLimits struct {
	rate, burst float64
	seed        maphash.Seed
	shards      [16]rateShard
}

type rateShard struct {
	mu      sync.Mutex
	buckets map[string]*rooms.Bucket
	swept   time.Time
}

// maxRateKeys bounds the keys one shard remembers; past it the shard is cleared (every key
// starts again with a full bucket: a flood of distinct keys cannot grow the map).
const maxRateKeys = 16384

func newRateLimits(rate, burst float64) *rateLimits {
	l := &rateLimits{rate: rate, burst: max(burst, 1), seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].buckets = make(map[string]*rooms.Bucket)
	}
	return l
}

// allow takes a token of key's bucket at now; a rate <= 0 means no limit.
func (l *rateLimits) allow(key string, now time.Time) bool {
	if l.rate <= 0 {
		return true
	}
	sh := &l.shards[maphash.String(l.seed, key)%uint64(len(l.shards))]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if now.Sub(sh.swept) > time.Minute || len(sh.buckets) >= maxRateKeys {
		full := time.Duration(l.burst/l.rate*float64(time.Second)) + time.Second
		for k, b := range sh.buckets {
			if b.Idle(now) > full || len(sh.buckets) >= maxRateKeys {
				delete(sh.buckets, k)
			}
		}
		sh.swept = now
	}
	b := sh.buckets[key]
	if b == nil {
		nb := rooms.NewBurstBucket(l.rate, l.burst, now)
		b = &nb
		sh.buckets[key] = b
	}
	return b.Allow(now)
}

// counts bounds how many things (long-polls, connections) a key holds at once. Safe for
// concurrent use; a key at zero takes no memory.
type counts struct {
	max  int
	mu   sync.Mutex
	held map[string]int
}

func newCounts(max int) *counts { return &counts{max: max, held: make(map[string]int)} }

// take adds one for key unless it holds max already; a max <= 0 means no limit.
func (c *counts) take(key string) bool {
	if c.max <= 0 {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held[key] >= c.max {
		return false
	}
	c.held[key]++
	return true
}

// give returns one taken for key.
func (c *counts) give(key string) {
	if c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held[key] <= 1 {
		delete(c.held, key)
	} else {
		c.held[key]--
	}
}

// limitListener caps the HTTP connections one client IP holds at once: a connection over the
// cap is closed as soon as it is accepted. An upgraded WebSocket leaves the count (release).
type limitListener struct {
	net.Listener
	conns  *counts
	exempt func(peer net.Addr) bool // a trusted proxy's connections are not counted (proxy.go)
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.exempt != nil && l.exempt(c.RemoteAddr()) {
			return &limitedConn{Conn: c, conns: l.conns, exempt: true}, nil
		}
		ip := remoteIP(c)
		if l.conns.take(ip) {
			return &limitedConn{Conn: c, conns: l.conns, ip: ip}, nil
		}
		_ = c.Close()
	}
}

// limitedConn is a connection counted against its IP until it closes or is released.
type limitedConn struct {
	net.Conn
	conns  *counts
	ip     string
	exempt bool // not counted
	once   sync.Once
}

// release takes the connection out of its IP's count (it became a WebSocket session).
func (c *limitedConn) release() {
	if !c.exempt {
		c.once.Do(func() { c.conns.give(c.ip) })
	}
}

func (c *limitedConn) Close() error {
	c.release()
	return c.Conn.Close()
}

// SyscallConn gives the session its socket (socket.RawConnOf), as the unwrapped connection would.
func (c *limitedConn) SyscallConn() (syscall.RawConn, error) {
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return nil, errors.New("no socket under this connection")
	}
	return sc.SyscallConn()
}

func remoteIP(c net.Conn) string {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.IP.String()
	}
	host, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		return c.RemoteAddr().String()
	}
	return host
}
