package rooms

import (
	"encoding/json"
	"time"

	"github.com/liveroom/liveroom/ring"
)

// Room is one room's domain state: config, upstream limits, moderation, cmid de-dup and
// stamping. It does not keep the messages (the grain's ring.Set does). Not safe for concurrent
// use (see the package doc).
type Room struct {
	id      string
	epoch   string
	cfg     Config
	buckets [ring.NumPriorities]Bucket
	mod     Moderation
	dedup   *Dedup
	stamp   Stamper
	stats   Stats
}

// NewRoom returns a room with a new history: a new epoch, seq from 1.
func NewRoom(id string, cfg Config) *Room {
	r := &Room{id: id, epoch: NewEpoch(), dedup: NewDedup()}
	r.SetConfig(cfg, time.Now())
	return r
}

// RestoreRoom continues a room from its stored state: same epoch, seq and ts continue.
func RestoreRoom(id string, st State, now time.Time) *Room {
	r := &Room{id: id, epoch: st.Epoch, dedup: NewDedup()}
	if r.epoch == "" {
		r.epoch = NewEpoch()
	}
	cfg := st.Config
	if cfg.Validate() != nil {
		cfg = DefaultConfig()
	}
	r.SetConfig(cfg, now)
	r.mod.Load(st.Moderation)
	r.stamp.Restore(st.LastTS, st.LastSeq)
	return r
}

// ID is the room id.
func (r *Room) ID() string { return r.id }

// Epoch names the room's current history.
func (r *Room) Epoch() string { return r.epoch }

// Config returns the current config.
func (r *Room) Config() Config { return r.cfg }

// SetConfig replaces the config (already validated) and updates the buckets' rates.
func (r *Room) SetConfig(cfg Config, now time.Time) {
	rates := cfg.Rates()
	for p, rate := range rates {
		if r.buckets[p].last.IsZero() {
			r.buckets[p] = NewBucket(rate, now)
		} else {
			r.buckets[p].SetRate(rate, now)
		}
	}
	r.cfg = cfg
}

// Moderate applies a moderation change.
func (r *Room) Moderate(op ModOp, now time.Time) error { return r.mod.Set(op, now) }

// Banned reports whether uid is banned at now.
func (r *Room) Banned(uid string, now time.Time) bool { return r.mod.Has(Bans, uid, now) }

// StatsRef gives the owner the counters to add evictions, notifies and pulls.
func (r *Room) StatsRef() *Stats { return &r.stats }

// Last returns the last stamped ts and seq.
func (r *Room) Last() (int64, uint64) { return r.stamp.Last() }

// Accept decides on one offered message (PROTOCOL.md section 2). It returns the stamped,
// encoded message; or, for a repeated cmid, nil and the original stamp with Dup set; or a
// *Error (bad_request, banned, muted, forbidden, rate_limited).
func (r *Room) Accept(req SendRequest, now time.Time) (*ring.Message, Stamp, error) {
	if len(req.Kind) < 1 || len(req.Kind) > 32 {
		return nil, Stamp{}, Errorf(CodeBadRequest, "kind must be 1-32 characters")
	}
	if int(req.Pri) >= ring.NumPriorities {
		return nil, Stamp{}, Errorf(CodeBadRequest, "unknown priority")
	}
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
	if st, ok := r.dedup.Get(req.UID, req.CMID); ok {
		st.Dup = true
		return nil, st, nil
	}
	if !r.buckets[pri].Allow(now) {
		r.stats.RateLimited++
		return nil, Stamp{}, Errorf(CodeRateLimited, "the room's "+pri.String()+" limit is reached")
	}
	ts, seq := r.stamp.Next(now)
	m := &ring.Message{TS: ts, Seq: seq, Pri: pri, Kind: req.Kind, UID: req.UID, CMID: req.CMID, Body: req.Body}
	m.Encode()
	st := Stamp{TS: ts, Seq: seq}
	r.dedup.Put(req.UID, req.CMID, st)
	r.stats.Accepted++
	return m, st, nil
}

// effectivePri applies who may send what, and the whitelist (stamped high).
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
	if req.Pri == ring.High && req.Source == FromViewer {
		return 0, Errorf(CodeForbidden, "high priority is for whitelisted users and the server")
	}
	return req.Pri, nil
}

// StoredMessage is the durable form of a protected message.
type StoredMessage struct {
	TS   int64           `json:"ts"`
	Seq  uint64          `json:"seq"`
	Pri  ring.Priority   `json:"pri"`
	Kind string          `json:"kind"`
	UID  string          `json:"uid,omitempty"`
	CMID string          `json:"cmid,omitempty"`
	Body json.RawMessage `json:"body,omitempty"`
}

// StoreMessage converts a ring message to its durable form.
func StoreMessage(m *ring.Message) StoredMessage {
	return StoredMessage{TS: m.TS, Seq: m.Seq, Pri: m.Pri, Kind: m.Kind, UID: m.UID, CMID: m.CMID, Body: m.Body}
}

// Message converts back to an encoded ring message.
func (s StoredMessage) Message() *ring.Message {
	m := &ring.Message{TS: s.TS, Seq: s.Seq, Pri: s.Pri, Kind: s.Kind, UID: s.UID, CMID: s.CMID, Body: s.Body}
	m.Encode()
	return m
}

// State is a room's durable state.
type State struct {
	Epoch      string          `json:"epoch"`
	LastTS     int64           `json:"last_ts"`
	LastSeq    uint64          `json:"last_seq"`
	Config     Config          `json:"config"`
	Moderation []ModEntry      `json:"moderation,omitempty"`
	Protected  []StoredMessage `json:"protected,omitempty"`
}

// State returns the room's durable state with the given protected messages (the grain's
// retained system and high messages).
func (r *Room) State(protected []*ring.Message, now time.Time) State {
	ts, seq := r.stamp.Last()
	st := State{Epoch: r.epoch, LastTS: ts, LastSeq: seq, Config: r.cfg, Moderation: r.mod.Entries(now)}
	for _, m := range protected {
		st.Protected = append(st.Protected, StoreMessage(m))
	}
	return st
}
