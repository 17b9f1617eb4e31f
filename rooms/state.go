package rooms

import (
	"encoding/json"
	"time"

	"github.com/liveroom/liveroom/ring"
)

// State is a room's durable state, what a Store keeps.
type State struct {
	Epoch      string          `json:"epoch"`
	LastTS     int64           `json:"last_ts"`
	LastSeq    uint64          `json:"last_seq"`
	Config     Config          `json:"config"`
	Moderation []ModEntry      `json:"moderation,omitempty"`
	Protected  []StoredMessage `json:"protected,omitempty"`
	Pins       []StoredMessage `json:"pins,omitempty"` // the pinned notices, oldest first (they may be gone from the rings)
	Index      Index           `json:"-"`              // saved: the run to append; loaded: the stored index
	// Counters are the room's counter totals as LoadRoom read them (kept apart from the rest
	// of the state: SaveCounters writes them, SaveRoom does not). LoadRoom returns them even
	// for a room without a saved state (one that only counted likes).
	Counters Counters `json:"-"`
}

// StoredMessage is the durable (JSON) form of a protected ring.Message.
type StoredMessage struct {
	TS       int64           `json:"ts"`
	Seq      uint64          `json:"seq"`
	Pri      ring.Priority   `json:"pri"` // ring.Priority's number: 0 low .. 3 system
	Kind     string          `json:"kind"`
	UID      string          `json:"uid,omitempty"`
	CMID     string          `json:"cmid,omitempty"`
	Body     json.RawMessage `json:"body,omitempty"`
	Name     string          `json:"name,omitempty"`
	Meta     json.RawMessage `json:"meta,omitempty"`
	PinUntil int64           `json:"pin_until,omitempty"`
}

// StoreMessage converts a ring message to its durable form.
func StoreMessage(m *ring.Message) StoredMessage {
	return StoredMessage{TS: m.TS, Seq: m.Seq, Pri: m.Pri, Kind: m.Kind, UID: m.UID, CMID: m.CMID, Body: m.Body,
		Name: m.Name(), Meta: m.Meta(), PinUntil: m.PinUntil()}
}

// Message converts back to an encoded ring message.
func (s StoredMessage) Message() *ring.Message {
	m := &ring.Message{TS: s.TS, Seq: s.Seq, Pri: s.Pri, Kind: s.Kind, UID: s.UID, CMID: s.CMID, Body: s.Body,
		Extra: ring.NewExtra(s.Name, s.Meta, s.PinUntil)}
	m.Encode()
	return m
}

// State returns the room's durable state at now with the given protected messages (the
// grain's retained system and high messages). Expired moderation entries are left out.
func (r *Room) State(protected []*ring.Message, now time.Time) State {
	ts, seq := r.stamp.Last()
	st := State{Epoch: r.epoch, LastTS: ts, LastSeq: seq, Config: r.cfg, Moderation: r.mod.Entries(now)}
	if len(protected) > 0 {
		st.Protected = make([]StoredMessage, 0, len(protected))
		for _, m := range protected {
			st.Protected = append(st.Protected, StoreMessage(m))
		}
	}
	for _, m := range r.Pinned(now) {
		st.Pins = append(st.Pins, StoreMessage(m))
	}
	return st
}

// RestoreRoom continues a room from its stored state: same epoch, and ts/seq continue right
// after st.LastTS/st.LastSeq (exactly: the grain's ring.Set is restored to the same last
// stamp and accepts only the next seq). A state without an epoch gets a new one; an invalid
// config is replaced by DefaultConfig; moderation entries expired at now, of unknown lists,
// or over the bound are dropped.
func RestoreRoom(id string, st State, now time.Time) *Room {
	r := NewRoom(id, st.Config)
	if st.Epoch != "" {
		r.epoch = st.Epoch
	}
	_ = r.mod.LoadEntries(st.Moderation) // only entries a Room could never have written are left out
	r.mod.Sweep(now)
	r.stamp.Restore(st.LastTS, st.LastSeq)
	// The protected messages' cmids stay known: a notice retried across a failover is not
	// stamped twice.
	for _, m := range st.Protected {
		r.dedup.Put(m.UID, m.CMID, Stamp{TS: m.TS, Seq: m.Seq})
	}
	for _, m := range st.Pins {
		if m.PinUntil > now.UnixMicro() && len(r.pins) < MaxPins {
			r.pins = append(r.pins, m.Message())
		}
	}
	return r
}
