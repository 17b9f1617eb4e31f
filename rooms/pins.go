package rooms

import (
	"strconv"
	"time"

	"github.com/liveroom/liveroom/ring"
)

// Pinned notices (PROTOCOL.md section 8.3). A room keeps the notices pinned by
// `POST /v1/rooms/{room}/notices` with pin_s, oldest first, at most MaxPins: a new pin over
// that unpins the oldest one. A pin ends at its pin_until (dropped lazily: nothing is written
// for an expiry, every reader filters by the clock) or by Unpin, which stamps a system notice
// of kind "unpin". The pinned messages are kept here, not only in the system ring, so that a
// flood of later notices cannot evict a pin that is still in force; the store keeps them in
// State.Pins.

// MaxPins is how many pinned notices a room keeps at once.
const MaxPins = 8

// MaxPinS is the longest pin, in seconds (a day).
const MaxPinS = 86400

// UnpinKind is the kind of the notice that ends a pin; its body is {"ts":T}.
const UnpinKind = "unpin"

// pin adds a pinned message, unpinning the oldest when the room holds MaxPins.
func (r *Room) pin(m *ring.Message, now time.Time) {
	r.dropExpiredPins(now)
	if len(r.pins) == MaxPins {
		copy(r.pins, r.pins[1:])
		r.pins = r.pins[:MaxPins-1]
	}
	r.pins = append(r.pins, m)
}

func (r *Room) dropExpiredPins(now time.Time) {
	us := now.UnixMicro()
	kept := r.pins[:0]
	for _, m := range r.pins {
		if m.PinUntil() > us {
			kept = append(kept, m)
		}
	}
	clear(r.pins[len(kept):])
	r.pins = kept
}

// Pinned returns the pinned messages in force at now, oldest first (a copy of the list; the
// messages are shared).
func (r *Room) Pinned(now time.Time) []*ring.Message {
	r.dropExpiredPins(now)
	if len(r.pins) == 0 {
		return nil
	}
	return append([]*ring.Message(nil), r.pins...)
}

// Unpin ends the pin of the message at ts: it stamps the notice {"kind":"unpin","body":{"ts":T}}
// (system, from the admin) and returns it as Accept does. A message that is not pinned (never
// was, expired, already unpinned) is not_found; a repeated Unpin of the same ts is answered
// with the first one's stamp and Dup (the notice's cmid is "unpin:T"), so that a request
// retried after a failover does not answer not_found for a pin it ended.
func (r *Room) Unpin(ts int64, now time.Time) (*ring.Message, Stamp, error) {
	cmid := "unpin:" + strconv.FormatInt(ts, 10)
	if st, ok := r.dedup.Get("", cmid); ok {
		st.Dup = true
		return nil, st, nil
	}
	r.dropExpiredPins(now)
	i := -1
	for j, m := range r.pins {
		if m.TS == ts {
			i = j
		}
	}
	if i < 0 {
		return nil, Stamp{}, Errorf(CodeNotFound, "no message pinned at ts "+strconv.FormatInt(ts, 10))
	}
	m, st, err := r.Accept(SendRequest{Kind: UnpinKind, Pri: ring.System, Source: FromAdmin, CMID: cmid,
		Body: []byte(`{"ts":` + strconv.FormatInt(ts, 10) + `}`)}, now)
	if err != nil {
		return nil, st, err
	}
	r.pins = append(r.pins[:i], r.pins[i+1:]...)
	return m, st, nil
}

// repin points the pin of old (restamped after a new epoch) at its new message.
func (r *Room) repin(old, m *ring.Message) {
	for i, p := range r.pins {
		if p == old {
			r.pins[i] = m
		}
	}
}
