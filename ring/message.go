package ring

import (
	"encoding/json"

	"github.com/liveroom/liveroom/wire"
)

// Priority orders messages in a room. Higher values are more important.
type Priority uint8

// The four priorities of PROTOCOL.md section 1, lowest first.
const (
	Low Priority = iota
	Normal
	High
	System
)

// NumPriorities is the number of priorities; Priority values index arrays of this size.
const NumPriorities = 4

var priNames = [NumPriorities]string{"low", "normal", "high", "system"}

// String returns the wire name ("low", "normal", "high", "system").
func (p Priority) String() string {
	if int(p) < NumPriorities {
		return priNames[p]
	}
	return "unknown"
}

// Protected reports whether messages of p are never skipped by a pull (system and high).
func (p Priority) Protected() bool { return p >= High }

// ParsePriority parses a wire name; ok is false for anything else.
func ParsePriority(s string) (p Priority, ok bool) {
	for i, n := range priNames {
		if n == s {
			return Priority(i), true
		}
	}
	return 0, false
}

// Message is one accepted item of a room. It is immutable once appended to a ring:
// readers on other goroutines share the pointer.
type Message struct {
	TS   int64  // microseconds since the Unix epoch, unique and increasing per room
	Seq  uint64 // gapless per-room counter, from 1
	Pri  Priority
	Kind string
	UID  string
	CMID string
	Body json.RawMessage // valid JSON, compact
	// Extra holds what few messages have (the speaker's name and meta, a pin); nil for the
	// rest, so that a plain chat message stays in the 128-byte allocation size class.
	Extra *Extra

	// Encoded is the wire JSON of the message, built once by Encode and shared by
	// every window that includes it.
	Encoded []byte
}

// Extra is a message's optional part (PROTOCOL.md sections 8.3 and 8.5), immutable as the
// message is.
type Extra struct {
	Name     string          // the speaker's display name, stamped by the server
	Meta     json.RawMessage // the speaker's meta: a compact JSON object
	PinUntil int64           // unix microseconds until which the message is pinned; 0: not pinned
}

// NewExtra returns the Extra of name, meta and pinUntil, nil when all are empty.
func NewExtra(name string, meta json.RawMessage, pinUntil int64) *Extra {
	if name == "" && len(meta) == 0 && pinUntil == 0 {
		return nil
	}
	return &Extra{Name: name, Meta: meta, PinUntil: pinUntil}
}

// Name is the speaker's display name ("" if none).
func (m *Message) Name() string {
	if m.Extra == nil {
		return ""
	}
	return m.Extra.Name
}

// Meta is the speaker's meta (nil if none).
func (m *Message) Meta() json.RawMessage {
	if m.Extra == nil {
		return nil
	}
	return m.Extra.Meta
}

// PinUntil is the end of the message's pin in unix microseconds (0: not pinned).
func (m *Message) PinUntil() int64 {
	if m.Extra == nil {
		return 0
	}
	return m.Extra.PinUntil
}

// Encode builds m.Encoded (the wire form of PROTOCOL.md section 1, wire.AppendMessage) if it
// is not built yet. Call it before the message is shared between goroutines.
func (m *Message) Encode() []byte {
	if m.Encoded != nil {
		return m.Encoded
	}
	w := wire.Message{TS: m.TS, Seq: m.Seq, Pri: m.Pri.String(), Kind: m.Kind, UID: m.UID, CMID: m.CMID, Body: m.Body}
	size := 64 + len(m.Kind) + len(m.UID) + len(m.CMID) + len(m.Body)
	if x := m.Extra; x != nil {
		w.Name, w.Meta, w.PinUntil = x.Name, x.Meta, x.PinUntil
		size += 48 + len(x.Name) + len(x.Meta)
	}
	m.Encoded = wire.AppendMessage(make([]byte, 0, size), &w)
	return m.Encoded
}
