package client

import (
	"hash/maphash"
	"sync"
)

// interner gives back one shared string for equal bytes, so the readers of all connections
// do not allocate a room id, an epoch, a kick reason or an error code per frame: the ~19k
// sessions of a load tester see the same few rooms. It is sharded, each shard a map under a
// RWMutex (lookups index the map with string(b), which does not allocate), and bounded:
// once a shard is full, new strings are returned without being kept. Safe for concurrent use;
// a nil *interner interns nothing.
//
// Shared rather than per connection: a per-reader map cost ~350 B per idle connection.
type interner struct {
	seed     maphash.Seed
	perShard int
	shards   [internShards]internShard
}

type internShard struct {
	mu sync.RWMutex
	m  map[string]string
}

const (
	internShards = 16
	internMaxLen = 128 // the longest room id
)

// sharedStrings is the process-wide interner used by every Conn.
var sharedStrings = newInterner(4096)

func newInterner(perShard int) *interner {
	return &interner{seed: maphash.MakeSeed(), perShard: perShard}
}

func (in *interner) str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if in == nil || len(b) > internMaxLen {
		return string(b)
	}
	sh := &in.shards[maphash.Bytes(in.seed, b)%internShards]
	sh.mu.RLock()
	s, ok := sh.m[string(b)]
	sh.mu.RUnlock()
	if ok {
		return s
	}
	s = string(b)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if old, ok := sh.m[s]; ok {
		return old
	}
	if len(sh.m) < in.perShard {
		if sh.m == nil {
			sh.m = make(map[string]string)
		}
		sh.m[s] = s
	}
	return s
}

// size is the number of strings held.
func (in *interner) size() int {
	n := 0
	for i := range in.shards {
		sh := &in.shards[i]
		sh.mu.RLock()
		n += len(sh.m)
		sh.mu.RUnlock()
	}
	return n
}
