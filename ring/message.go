package ring

import (
	"encoding/json"
	"strconv"
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

// Encode builds m.Encoded (the wire form of PROTOCOL.md section 1) if it is not built yet.
// cmid is left out when empty. Call it before the message is shared between goroutines.
func (m *Message) Encode() []byte {
	if m.Encoded != nil {
		return m.Encoded
	}
	b := make([]byte, 0, 64+len(m.Kind)+len(m.UID)+len(m.CMID)+len(m.Body))
	b = append(b, `{"ts":`...)
	b = strconv.AppendInt(b, m.TS, 10)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, m.Seq, 10)
	b = append(b, `,"pri":"`...)
	b = append(b, m.Pri.String()...)
	b = append(b, `","kind":`...)
	b = appendJSONString(b, m.Kind)
	b = append(b, `,"uid":`...)
	b = appendJSONString(b, m.UID)
	if m.CMID != "" {
		b = append(b, `,"cmid":`...)
		b = appendJSONString(b, m.CMID)
	}
	b = append(b, `,"body":`...)
	if len(m.Body) == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, m.Body...)
	}
	b = append(b, '}')
	m.Encoded = b
	return b
}

// appendJSONString appends s as a JSON string. Ids are ASCII by contract, so the fast path is a
// plain copy; anything needing escapes goes through encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' || c == '\\' || c >= 0x80 || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
