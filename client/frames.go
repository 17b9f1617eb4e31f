package client

import (
	"encoding/json"
	"strconv"

	"github.com/liveroom/liveroom/wire"
)

// Priorities (PROTOCOL.md section 1), highest first.
const (
	PriSystem = "system"
	PriHigh   = "high"
	PriNormal = "normal"
	PriLow    = "low"
)

// Hello is the server's first frame on a new session.
type Hello struct {
	UID      string `json:"uid"`
	Node     string `json:"node"`
	ServerTS int64  `json:"server_ts"`
	Limits   Limits `json:"limits"`
}

// Limits are the per-session limits announced in hello.
type Limits struct {
	MaxBody   int `json:"max_body"`
	MaxRooms  int `json:"max_rooms"`
	PullLimit int `json:"pull_limit"`
}

// Joined is the reply to join.
type Joined struct {
	Room   string `json:"room"`
	Epoch  string `json:"epoch"`
	TS     int64  `json:"ts"`  // the room's latest ts
	Seq    uint64 `json:"seq"` // the room's latest seq
	Online int64  `json:"online"`
	// Pinned are the room's pinned notices in force, oldest first (PROTOCOL.md 8.3).
	Pinned []Message `json:"pinned,omitempty"`
}

// Msgs is the reply to a pull: the window (since, Next] of a room (PROTOCOL.md section 4).
type Msgs struct {
	Room    string    `json:"room"`
	Epoch   string    `json:"epoch"`
	Msgs    []Message `json:"msgs"`
	Dropped uint64    `json:"dropped"`
	Next    int64     `json:"next"`
	NextSeq uint64    `json:"next_seq"` // the seq of the message at Next (0: the room has none)
	More    bool      `json:"more"`
}

// Message is one item of a room.
type Message struct {
	TS   int64           `json:"ts"`
	Seq  uint64          `json:"seq"`
	Pri  string          `json:"pri"`
	Kind string          `json:"kind"`
	UID  string          `json:"uid"`
	CMID string          `json:"cmid,omitempty"`
	Body json.RawMessage `json:"body"`
	// Name and Meta say who is speaking, stamped by the server (PROTOCOL.md 8.5); PinUntil
	// (unix microseconds) is set on a pinned notice (8.3).
	Name     string          `json:"name,omitempty"`
	Meta     json.RawMessage `json:"meta,omitempty"`
	PinUntil int64           `json:"pin_until,omitempty"`
}

// Outgoing is a message a viewer sends. Pri may be empty (the server's default, normal).
// Body must be valid JSON when set; an empty Body is left out of the frame.
type Outgoing struct {
	Kind string
	Pri  string
	Body json.RawMessage
	CMID string
}

// Sent is the reply to send (and to an HTTP post): where the message was stamped.
type Sent struct {
	TS  int64  `json:"ts"`
	Seq uint64 `json:"seq"`
	Dup bool   `json:"dup,omitempty"`
}

// frame is every server frame's fields in one flat struct: the reader decodes each frame into
// one and hands it to the request waiting for its id, or to a callback.
type frame struct {
	Op   string `json:"op"`
	ID   uint64 `json:"id"`
	Room string `json:"room"`

	// hello, pong
	UID      string `json:"uid"`
	Node     string `json:"node"`
	ServerTS int64  `json:"server_ts"`
	Limits   Limits `json:"limits"`

	// joined, sent, notify
	Epoch  string    `json:"epoch"`
	TS     int64     `json:"ts"`
	Seq    uint64    `json:"seq"`
	Online int64     `json:"online"`
	Dup    bool      `json:"dup"`
	Pinned []Message `json:"pinned"`

	// msgs
	Msgs    []Message `json:"msgs"`
	Dropped uint64    `json:"dropped"`
	Next    int64     `json:"next"`
	NextSeq uint64    `json:"next_seq"`
	More    bool      `json:"more"`

	// kick, error
	Reason  string `json:"reason"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Client frames are written by hand: each is a few fields in a fixed order, and Body goes out
// as the raw JSON it already is.

func appendOpID(b []byte, op string, id uint64) []byte {
	b = append(b, `{"op":"`...)
	b = append(b, op...)
	b = append(b, `","id":`...)
	return strconv.AppendUint(b, id, 10)
}

func appendStrField(b []byte, key, val string) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return wire.AppendString(b, val)
}

func appendIntField(b []byte, key string, v int64) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return strconv.AppendInt(b, v, 10)
}

func encodeJoin(b []byte, id uint64, room string, since *int64) []byte {
	b = appendOpID(b, "join", id)
	b = appendStrField(b, "room", room)
	if since != nil {
		b = appendIntField(b, "since", *since)
	}
	return append(b, '}')
}

func encodeLeave(b []byte, id uint64, room string) []byte {
	b = appendOpID(b, "leave", id)
	b = appendStrField(b, "room", room)
	return append(b, '}')
}

func encodePull(b []byte, id uint64, room string, since int64, limit int) []byte {
	b = appendOpID(b, "pull", id)
	b = appendStrField(b, "room", room)
	b = appendIntField(b, "since", since)
	if limit > 0 {
		b = appendIntField(b, "limit", int64(limit))
	}
	return append(b, '}')
}

func encodeSend(b []byte, id uint64, room string, m *Outgoing) []byte {
	b = appendOpID(b, "send", id)
	b = appendStrField(b, "room", room)
	b = appendStrField(b, "kind", m.Kind)
	if m.Pri != "" {
		b = appendStrField(b, "pri", m.Pri)
	}
	if len(m.Body) > 0 {
		b = append(b, `,"body":`...)
		b = append(b, m.Body...)
	}
	if m.CMID != "" {
		b = appendStrField(b, "cmid", m.CMID)
	}
	return append(b, '}')
}

func encodePing(b []byte, id uint64) []byte {
	return append(appendOpID(b, "ping", id), '}')
}
