package transport

import (
	"bytes"
	"encoding/json"
	"strconv"
)

func appendInt(b []byte, v int64) []byte { return strconv.AppendInt(b, v, 10) }

// compactJSON returns raw without insignificant white space (raw is valid JSON: it came
// through json.Unmarshal).
func compactJSON(raw json.RawMessage) json.RawMessage {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return raw
	}
	return buf.Bytes()
}

// quoteShort quotes s for an error message, cut to 32 bytes.
func quoteShort(s string) string {
	if len(s) > 32 {
		s = s[:32] + "..."
	}
	return strconv.Quote(s)
}
