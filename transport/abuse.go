package transport

import (
	"hash/maphash"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// limiter counts connection attempts per key (an IP or a uid) in fixed windows. Over the limit
// the key is blocked for blockFor, and every attempt while blocked extends the block
// (PROTOCOL.md section 6). Memory is bounded: each shard is an LRU of keys.
type limiter struct {
	limit    int
	window   time.Duration
	blockFor time.Duration
	seed     maphash.Seed
	shards   [16]limiterShard
}

type limiterShard struct {
	mu   sync.Mutex
	keys *lru.Cache[string, *attempts]
}

type attempts struct {
	windowStart  time.Time
	count        int
	blockedUntil time.Time
}

// limiterKeysPerShard bounds the keys remembered: 16 shards x 16k = 256k keys.
const limiterKeysPerShard = 16384

func newLimiter(limit int, window, blockFor time.Duration) *limiter {
	l := &limiter{limit: limit, window: window, blockFor: blockFor, seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].keys, _ = lru.New[string, *attempts](limiterKeysPerShard)
	}
	return l
}

// allow records an attempt by key at now and reports whether it may go on.
func (l *limiter) allow(key string, now time.Time) bool {
	sh := &l.shards[maphash.String(l.seed, key)%uint64(len(l.shards))]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	a, ok := sh.keys.Get(key)
	if !ok {
		a = &attempts{windowStart: now}
		sh.keys.Add(key, a)
	}
	if now.Before(a.blockedUntil) {
		a.blockedUntil = now.Add(l.blockFor) // retrying while blocked extends the block
		return false
	}
	if now.Sub(a.windowStart) >= l.window {
		a.windowStart, a.count = now, 0
	}
	a.count++
	if a.count > l.limit {
		a.blockedUntil = now.Add(l.blockFor)
		return false
	}
	return true
}

// Abuse holds the connection-attempt limits per IP and per uid.
type Abuse struct {
	ip, uid *limiter
}

func newAbuse(cfg *Config) *Abuse {
	return &Abuse{ip: newLimiter(cfg.ConnPerIP, cfg.ConnWindow, cfg.BlockFor), uid: newLimiter(cfg.ConnPerUID, cfg.ConnWindow, cfg.BlockFor)}
}

// AllowIP records a connection attempt from ip.
func (a *Abuse) AllowIP(ip string, now time.Time) bool { return a.ip.allow(ip, now) }

// AllowUID records a connection attempt by uid.
func (a *Abuse) AllowUID(uid string, now time.Time) bool { return a.uid.allow(uid, now) }
