package rooms

import "github.com/hashicorp/golang-lru/v2/simplelru"

// DedupSize is how many (uid, cmid) pairs a room remembers.
const DedupSize = 10000

// dedupKey is a (uid, cmid) pair. A struct key cannot be ambiguous whatever bytes the ids hold
// (a joined string would be if a separator could appear in them), and building it allocates
// nothing.
type dedupKey struct{ uid, cmid string }

// Dedup remembers the stamps of the last DedupSize (uid, cmid) pairs of a room, least recently
// used out first. Like the Room that owns it, it is not safe for concurrent use (hence the
// lock-free simplelru rather than lru.Cache).
type Dedup struct {
	cache *simplelru.LRU[dedupKey, Stamp] // made by the first Put: a room without cmids has none
}

// NewDedup returns an empty cache of DedupSize entries.
func NewDedup() *Dedup { return &Dedup{} }

// Get returns the stamp of an earlier message with this (uid, cmid). An empty cmid never
// matches.
func (d *Dedup) Get(uid, cmid string) (Stamp, bool) {
	if cmid == "" || d.cache == nil {
		return Stamp{}, false
	}
	return d.cache.Get(dedupKey{uid, cmid})
}

// Put remembers the stamp of an accepted message; an empty cmid is not remembered.
func (d *Dedup) Put(uid, cmid string, st Stamp) {
	if cmid != "" {
		if d.cache == nil {
			d.cache, _ = simplelru.NewLRU[dedupKey, Stamp](DedupSize, nil) // only fails for a size <= 0
		}
		d.cache.Add(dedupKey{uid, cmid}, st)
	}
}

// Len returns how many pairs are remembered.
func (d *Dedup) Len() int {
	if d.cache == nil {
		return 0
	}
	return d.cache.Len()
}
