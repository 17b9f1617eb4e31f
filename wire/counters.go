package wire

import "strconv"

// The counters of PROTOCOL.md section 8.4 as the server writes them: the `counters` frame, the
// `added` answer, the "counters" member that joined carries, and the backend's `{"value":N}`.

// Counter is one counter's total. A set of them is written in the order given: callers sort
// by name, so that equal totals encode to equal bytes (a replica compares what a member last
// got by a hash of the frame).
type Counter struct {
	Name  string // ^[a-z0-9_]{1,32}$: checked before it gets here
	Value int64
}

// AppendCountersObject appends `{"likes":1,"gift_value":2}`.
func AppendCountersObject(b []byte, cs []Counter) []byte {
	b = append(b, '{')
	for i, c := range cs {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendString(b, c.Name)
		b = append(b, ':')
		b = strconv.AppendInt(b, c.Value, 10)
	}
	return append(b, '}')
}

// AppendCounters appends `{"op":"counters","room":R,"counters":{...},"online":O}`.
func AppendCounters(b []byte, room string, cs []Counter, online int64) []byte {
	b = append(b, `{"op":"counters","room":`...)
	b = AppendString(b, room)
	b = append(b, `,"counters":`...)
	b = AppendCountersObject(b, cs)
	b = append(b, `,"online":`...)
	b = strconv.AppendInt(b, online, 10)
	return append(b, '}')
}

// AppendAdded appends `{"op":"added","room":R,"id":I}`.
func AppendAdded(b []byte, room string, id *int64) []byte {
	b = append(b, `{"op":"added","room":`...)
	b = AppendString(b, room)
	b = appendID(b, id)
	return append(b, '}')
}

// WithCounters adds `"counters":{...}` as the last member of frame, a complete JSON object
// (joined): the frame's closing brace moves after it.
func WithCounters(frame []byte, cs []Counter) []byte {
	if n := len(frame); n > 0 && frame[n-1] == '}' {
		frame = frame[:n-1]
	}
	frame = append(frame, `,"counters":`...)
	frame = AppendCountersObject(frame, cs)
	return append(frame, '}')
}

// AppendValueBody appends the backend's counter answer `{"value":N}`.
func AppendValueBody(b []byte, v int64) []byte {
	b = append(b, `{"value":`...)
	b = strconv.AppendInt(b, v, 10)
	return append(b, '}')
}
