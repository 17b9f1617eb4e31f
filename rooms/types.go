package rooms

import (
	"encoding/json"
	"time"

	"github.com/liveroom/liveroom/ring"
)

// Source says who offers a message; it decides which priorities are allowed.
type Source uint8

const (
	FromViewer Source = iota // a viewer's WebSocket send: normal/low only (high if whitelisted)
	FromServer               // the server key: normal, low, high
	FromAdmin                // the admin key: everything, system included
)

// SendRequest is one message offered to a room, before stamping.
type SendRequest struct {
	UID    string
	Kind   string
	Pri    ring.Priority
	Body   json.RawMessage // already validated as JSON and within max_body
	CMID   string
	Source Source
	Name   string          // the speaker's display name (PROTOCOL.md 8.5), already validated
	Meta   json.RawMessage // the speaker's meta, a compact JSON object, already validated
	PinS   int             // a system notice pinned for this many seconds (PROTOCOL.md 8.3); 0: not pinned
}

// Stamp is the room's answer to an accepted (or duplicate) message.
type Stamp struct {
	TS  int64  `json:"ts"`
	Seq uint64 `json:"seq"`
	Dup bool   `json:"dup,omitempty"`
}

// List names a moderation list.
type List uint8

const (
	Bans List = iota
	Mutes
	Whitelist
)

// String returns the list's name as in the HTTP paths (bans, mutes, whitelist).
func (l List) String() string {
	switch l {
	case Bans:
		return "bans"
	case Mutes:
		return "mutes"
	case Whitelist:
		return "whitelist"
	}
	return "unknown"
}

// ModOp is one moderation change: put (Set = true, TTL 0 = forever) or delete a uid.
type ModOp struct {
	List List
	UID  string
	Set  bool
	TTL  time.Duration
}

// Stats are a room's counters since its activation (`GET /v1/rooms/{room}`).
type Stats struct {
	Accepted    uint64 `json:"accepted"`
	RateLimited uint64 `json:"rate_limited"`
	Evicted     uint64 `json:"evicted"`
	Notifies    uint64 `json:"notifies"`
	Pulls       uint64 `json:"pulls"`
	// Counter adds (PROTOCOL.md section 8.4), counted as adds, not as their deltas: accepted
	// by the room, refused by the per-session limit, and lost (summed on a node that could not
	// hand them to the room; adds lost with a crashed node are not known to anyone).
	AddsAccepted    uint64 `json:"adds_accepted"`
	AddsRateLimited uint64 `json:"adds_rate_limited"`
	AddsLost        uint64 `json:"adds_lost"`
}

// Info is the answer of `GET /v1/rooms/{room}`.
type Info struct {
	Room   string `json:"room"`
	Node   string `json:"node,omitempty"` // the node hosting the room's grain
	Epoch  string `json:"epoch"`
	Online int64  `json:"online"`
	TS     int64  `json:"ts"`
	Seq    uint64 `json:"seq"`
	Config Config `json:"config"`
	// Counters are the room's totals; always present ({} when none).
	Counters Counters `json:"counters"`
	Stats    Stats    `json:"stats"`
	// Undurable: the store did not answer in time and the room delivers without it (its last
	// stamps may be lost with its node); see docs/decisions.md.
	Undurable bool `json:"undurable,omitempty"`
}
