package wire

import "strconv"

// Message is one room message as the wire carries it (PROTOCOL.md section 1).
type Message struct {
	TS   int64
	Seq  uint64
	Pri  string // the priority's name: "low", "normal", "high" or "system"
	Kind string
	UID  string
	CMID string // left out when empty
	Name string // the speaker's display name (PROTOCOL.md 8.5); left out when empty
	Meta []byte // the speaker's meta, a compact JSON object; left out when empty
	Body []byte // valid compact JSON; empty is written as null
	// PinUntil: unix microseconds until which the message is pinned (PROTOCOL.md 8.3); left
	// out when 0.
	PinUntil int64
}

// AppendMessage appends m's wire form,
// `{"ts":T,"seq":S,"pri":P,"kind":K,"uid":U,"name":N,"meta":M,"cmid":C,"pin_until":P,"body":B}`
// with name, meta, cmid and pin_until left out when empty.
// It is built once per message and shared by every window that carries the message.
func AppendMessage(b []byte, m *Message) []byte {
	b = append(b, `{"ts":`...)
	b = strconv.AppendInt(b, m.TS, 10)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, m.Seq, 10)
	b = append(b, `,"pri":`...)
	b = AppendString(b, m.Pri)
	b = append(b, `,"kind":`...)
	b = AppendString(b, m.Kind)
	b = append(b, `,"uid":`...)
	b = AppendString(b, m.UID)
	if m.Name != "" {
		b = append(b, `,"name":`...)
		b = AppendString(b, m.Name)
	}
	if len(m.Meta) > 0 {
		b = append(b, `,"meta":`...)
		b = append(b, m.Meta...)
	}
	if m.CMID != "" {
		b = append(b, `,"cmid":`...)
		b = AppendString(b, m.CMID)
	}
	if m.PinUntil != 0 {
		b = append(b, `,"pin_until":`...)
		b = strconv.AppendInt(b, m.PinUntil, 10)
	}
	b = append(b, `,"body":`...)
	if len(m.Body) == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, m.Body...)
	}
	return append(b, '}')
}
