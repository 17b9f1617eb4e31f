package rooms

import (
	"encoding/json"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"

	"github.com/liveroom/liveroom/ring"
)

// MaxKindLen is the longest kind a message may have (PROTOCOL.md section 1).
const MaxKindLen = 32

// Room is one room's domain state: config, upstream limits, moderation, cmid de-dup and
// stamping. It does not keep the messages (the grain's ring.Set does). Not safe for concurrent
// use (see the package doc).
type Room struct {
	id      string
	epoch   string
	cfg     Config
	buckets [ring.NumPriorities]Bucket
	perUID  *simplelru.LRU[string, *Bucket] // viewers' own buckets (Config.Rate.PerUID); made on first use
	mod     Moderation
	dedup   *Dedup
	stamp   Stamper
	stats   Stats
	pins    []*ring.Message // pinned notices, oldest first (pins.go)
}

// PerUIDBuckets bounds the viewers whose per-uid bucket a room remembers; a viewer whose bucket
// was forgotten (the least recently sending one) starts again with a full bucket.
const PerUIDBuckets = 10000

// NewRoom returns a room with a new history: a new epoch, seq from 1. An invalid cfg is
// replaced by DefaultConfig. The buckets start full at the first message.
func NewRoom(id string, cfg Config) *Room {
	if cfg.Validate() != nil {
		cfg = DefaultConfig()
	}
	r := &Room{id: id, epoch: NewEpoch(), dedup: NewDedup(), cfg: cfg}
	for p, rate := range cfg.Rates() {
		r.buckets[p] = Bucket{rate: rate}
	}
	return r
}

// ID is the room id.
func (r *Room) ID() string { return r.id }

// Epoch names the room's current history.
func (r *Room) Epoch() string { return r.epoch }

// Config returns the current config.
func (r *Room) Config() Config { return r.cfg }

// SetConfig replaces the config (already validated, e.g. by ConfigPatch.Apply) and updates
// the buckets' rates at now.
func (r *Room) SetConfig(cfg Config, now time.Time) {
	for p, rate := range cfg.Rates() {
		r.buckets[p].SetRate(rate, now)
	}
	if r.perUID != nil && cfg.Rate.PerUID != r.cfg.Rate.PerUID {
		r.perUID.Purge() // the next sends start with full buckets at the new rate
	}
	r.cfg = cfg
}

// Moderate applies a moderation change (a *Error for a bad op or a full list).
func (r *Room) Moderate(op ModOp, now time.Time) error { return r.mod.Set(op, now) }

// Banned reports whether uid is banned at now.
func (r *Room) Banned(uid string, now time.Time) bool { return r.mod.Has(Bans, uid, now) }

// Entries returns the live entries of one moderation list at now, sorted by uid.
func (r *Room) Entries(list List, now time.Time) []ModEntry {
	var out []ModEntry
	for _, e := range r.mod.Entries(now) {
		if e.List == list {
			out = append(out, e)
		}
	}
	return out
}

// MergeModeration adds the entries (read late from the store) that the room does not have;
// the room's own entries win. Expired entries are left out.
func (r *Room) MergeModeration(entries []ModEntry, now time.Time) {
	for _, e := range entries {
		if (!e.Until.IsZero() && !now.Before(e.Until)) || r.mod.Has(e.List, e.UID, now) {
			continue
		}
		var ttl time.Duration
		if !e.Until.IsZero() {
			ttl = e.Until.Sub(now)
		}
		_ = r.mod.Set(ModOp{List: e.List, UID: e.UID, Set: true, TTL: ttl}, now) // a full list keeps what it has
	}
}

// Empty reports whether the room holds nothing worth keeping at now: no message in its
// history, the default config, no moderation entry. Such a room is forgotten when it
// passivates instead of being saved.
func (r *Room) Empty(now time.Time) bool {
	return r.LastSeq() == 0 && r.cfg == DefaultConfig() && len(r.mod.Entries(now)) == 0 && len(r.Pinned(now)) == 0
}

// Sweep drops the expired moderation entries (they are dropped lazily otherwise).
func (r *Room) Sweep(now time.Time) { r.mod.Sweep(now) }

// Stats returns a copy of the counters.
func (r *Room) Stats() Stats { return r.stats }

// StatsRef gives the owner the counters to add evictions, notifies and pulls.
func (r *Room) StatsRef() *Stats { return &r.stats }

// Last returns the last stamped ts and seq.
func (r *Room) Last() (int64, uint64) { return r.stamp.Last() }

// LastTS returns the last stamped ts (0 before the first message of a new room).
func (r *Room) LastTS() int64 { ts, _ := r.stamp.Last(); return ts }

// LastSeq returns the last stamped seq (0 before the first message of a new history).
func (r *Room) LastSeq() uint64 { _, seq := r.stamp.Last(); return seq }

// Accept decides on one offered message (PROTOCOL.md section 2), checking in this order:
// kind and priority are valid, the uid is not banned, not muted, the source may send the
// priority, the cmid is new, the effective priority's bucket has a token. It returns the
// stamped, encoded message; or, for a repeated cmid, nil and the original stamp with Dup set
// (no token taken, not counted as accepted); or a *Error (bad_request, banned, muted,
// forbidden, rate_limited).
func (r *Room) Accept(req SendRequest, now time.Time) (*ring.Message, Stamp, error) {
	if len(req.Kind) < 1 || len(req.Kind) > MaxKindLen {
		return nil, Stamp{}, Errorf(CodeBadRequest, "kind must be 1-32 characters")
	}
	if int(req.Pri) >= ring.NumPriorities {
		return nil, Stamp{}, Errorf(CodeBadRequest, "unknown priority")
	}
	// The body is spliced into the shared wire form as is: never let invalid JSON through.
	if len(req.Body) > 0 && !json.Valid(req.Body) {
		return nil, Stamp{}, Errorf(CodeBadRequest, "body is not JSON")
	}
	if req.UID != "" {
		if r.mod.Has(Bans, req.UID, now) {
			return nil, Stamp{}, Errorf(CodeBanned, "banned from this room")
		}
		if r.mod.Has(Mutes, req.UID, now) {
			return nil, Stamp{}, Errorf(CodeMuted, "muted in this room")
		}
	}
	pri, err := r.effectivePri(req, now)
	if err != nil {
		return nil, Stamp{}, err
	}
	if req.PinS != 0 && (pri != ring.System || req.PinS < 1 || req.PinS > MaxPinS) {
		return nil, Stamp{}, Errorf(CodeBadRequest, "pin_s is for notices, 1 to 86400 seconds")
	}
	if st, ok := r.dedup.Get(req.UID, req.CMID); ok {
		st.Dup = true
		return nil, st, nil
	}
	if req.Source == FromViewer && !pri.Protected() && !r.uidBucket(req.UID).Allow(now) {
		r.stats.RateLimited++
		return nil, Stamp{}, Errorf(CodeRateLimited, "you are sending faster than this room allows per viewer")
	}
	if !r.buckets[pri].Allow(now) {
		r.stats.RateLimited++
		return nil, Stamp{}, Errorf(CodeRateLimited, "the room's "+pri.String()+" limit is reached")
	}
	ts, seq := r.stamp.Next(now)
	var pinUntil int64
	if req.PinS > 0 {
		pinUntil = ts + int64(req.PinS)*int64(time.Second/time.Microsecond)
	}
	m := &ring.Message{TS: ts, Seq: seq, Pri: pri, Kind: req.Kind, UID: req.UID, CMID: req.CMID, Body: req.Body,
		Extra: ring.NewExtra(req.Name, req.Meta, pinUntil)}
	m.Encode()
	if pinUntil > 0 {
		r.pin(m, now)
	}
	st := Stamp{TS: ts, Seq: seq}
	r.dedup.Put(req.UID, req.CMID, st)
	r.stats.Accepted++
	return m, st, nil
}

// uidBucket returns uid's own bucket for the normal and low lanes.
func (r *Room) uidBucket(uid string) *Bucket {
	if r.perUID == nil {
		r.perUID, _ = simplelru.NewLRU[string, *Bucket](PerUIDBuckets, nil) // only fails for a size <= 0
	}
	b, ok := r.perUID.Get(uid)
	if !ok {
		b = &Bucket{rate: r.cfg.Rate.PerUID}
		r.perUID.Add(uid, b)
	}
	return b
}

// NewEpoch starts a new history in place (the room's stamps diverged from what was delivered
// before: docs/decisions.md): a new epoch, seq from 1 again, ts still increasing.
func (r *Room) NewEpoch() {
	r.epoch = NewEpoch()
	ts, _ := r.stamp.Last()
	r.stamp.Restore(ts, 0)
}

// Restamp gives an accepted message that was not delivered yet the next stamp (after NewEpoch)
// and returns it as a new encoded message; its cmid now answers with the new stamp.
func (r *Room) Restamp(m *ring.Message, now time.Time) *ring.Message {
	ts, seq := r.stamp.Next(now)
	n := &ring.Message{TS: ts, Seq: seq, Pri: m.Pri, Kind: m.Kind, UID: m.UID, CMID: m.CMID, Body: m.Body, Extra: m.Extra}
	n.Encode()
	r.repin(m, n)
	r.dedup.Put(m.UID, m.CMID, Stamp{TS: ts, Seq: seq})
	return n
}

// effectivePri applies who may send what: system from the admin key only; high from the
// server or admin key, or from a whitelisted viewer; a whitelisted uid's other messages are
// stamped high whatever they asked.
func (r *Room) effectivePri(req SendRequest, now time.Time) (ring.Priority, error) {
	if req.Pri == ring.System {
		if req.Source != FromAdmin {
			return 0, Errorf(CodeForbidden, "system notices need the admin key")
		}
		return ring.System, nil
	}
	if req.UID != "" && r.mod.Has(Whitelist, req.UID, now) {
		return ring.High, nil
	}
	if req.Pri == ring.High && req.Source != FromServer && req.Source != FromAdmin {
		return 0, Errorf(CodeForbidden, "high priority is for whitelisted users and the server")
	}
	return req.Pri, nil
}
