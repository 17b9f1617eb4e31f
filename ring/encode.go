package ring

import "strconv"

// AppendWindowJSON appends `"msgs":[...],"dropped":D,"next":N,"more":B` (no braces: callers
// add their own prefix and the closing brace). Each message's encoding is the one built once
// when it was appended.
func AppendWindowJSON(b []byte, w *Window) []byte {
	b = append(b, `"msgs":[`...)
	for i, m := range w.Msgs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, m.Encode()...)
	}
	b = append(b, `],"dropped":`...)
	b = strconv.AppendUint(b, w.Dropped, 10)
	b = append(b, `,"next":`...)
	b = strconv.AppendInt(b, w.Next, 10)
	if w.More {
		return append(b, `,"more":true`...)
	}
	return append(b, `,"more":false`...)
}
