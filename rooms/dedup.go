package rooms

import lru "github.com/hashicorp/golang-lru/v2"

// DedupSize is how many (uid, cmid) pairs a room remembers.
const DedupSize = 10000

// Dedup remembers the stamp of the last DedupSize (uid, cmid) pairs of a room.
type Dedup struct {
	cache *lru.Cache[string, Stamp]
}

// NewDedup returns an empty cache of DedupSize entries.
func NewDedup() *Dedup {
	c, _ := lru.New[string, Stamp](DedupSize) // only fails for a size <= 0
	return &Dedup{cache: c}
}

// key joins uid and cmid with a byte neither may contain unescaped in JSON ids.
func key(uid, cmid string) string { return uid + "\x00" + cmid }

// Get returns the stamp of an earlier message with this (uid, cmid). An empty cmid never
// matches.
func (d *Dedup) Get(uid, cmid string) (Stamp, bool) {
	if cmid == "" {
		return Stamp{}, false
	}
	return d.cache.Get(key(uid, cmid))
}

// Put remembers the stamp of an accepted message.
func (d *Dedup) Put(uid, cmid string, st Stamp) {
	if cmid != "" {
		d.cache.Add(key(uid, cmid), st)
	}
}
