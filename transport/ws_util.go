package transport

import "strconv"

func appendInt(b []byte, v int64) []byte { return strconv.AppendInt(b, v, 10) }

// quoteShort quotes s for an error message, cut to 32 bytes.
func quoteShort(s string) string {
	if len(s) > 32 {
		s = s[:32] + "..."
	}
	return strconv.Quote(s)
}
