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
	Body []byte // valid compact JSON; empty is written as null
}

// AppendMessage appends m's wire form,
// `{"ts":T,"seq":S,"pri":P,"kind":K,"uid":U,"cmid":C,"body":B}` with cmid left out when empty.
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
	if m.CMID != "" {
		b = append(b, `,"cmid":`...)
		b = AppendString(b, m.CMID)
	}
	b = append(b, `,"body":`...)
	if len(m.Body) == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, m.Body...)
	}
	return append(b, '}')
}
