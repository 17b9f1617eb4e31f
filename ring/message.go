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

	// Encoded is the wire JSON of the message, built once by Encode and shared by
	// every window that includes it.
	Encoded []byte
}

// Encode builds m.Encoded (the wire form of PROTOCOL.md section 1, wire.AppendMessage) if it
// is not built yet. Call it before the message is shared between goroutines.
func (m *Message) Encode() []byte {
	if m.Encoded != nil {
		return m.Encoded
	}
	b := make([]byte, 0, 64+len(m.Kind)+len(m.UID)+len(m.CMID)+len(m.Body))
	m.Encoded = wire.AppendMessage(b, &wire.Message{TS: m.TS, Seq: m.Seq, Pri: m.Pri.String(), Kind: m.Kind, UID: m.UID,
		CMID: m.CMID, Body: m.Body})
	return m.Encoded
}
