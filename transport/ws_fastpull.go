package transport

import "strconv"

// parseFlat decodes the common shape of hot client frames without encoding/json: a flat object
// whose values are plain strings (no escapes) or integers, e.g.
// {"op":"pull","room":"R","since":123,"limit":100,"id":7} or
// {"op":"add","room":"R","counter":"likes","delta":1}. It returns ok=false for anything
// else (other keys, nesting, escapes, floats, duplicates), and the caller falls back to the
// full decoder, so both paths accept exactly the same frames. It is shallow and allocation-
// light on purpose: it runs for every pull and every tap of a like button (see answer).
func parseFlat(b []byte) (f inFrame, ok bool) {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return f, false
	}
	i = skipWS(b, i+1)
	seen := 0
	for i < len(b) && b[i] != '}' {
		key, j, ok := flatBytes(b, i)
		if !ok {
			return f, false
		}
		i = skipWS(b, j)
		if i >= len(b) || b[i] != ':' {
			return f, false
		}
		i = skipWS(b, i+1)
		var bit int
		switch string(key) { // a switch on string(bytes) does not allocate
		case "op", "room", "counter":
			v, j, ok := flatBytes(b, i)
			if !ok {
				return f, false
			}
			switch string(key) {
			case "op":
				bit, f.Op = 1, opName(v)
			case "room":
				s := string(v)
				bit, f.Room = 2, &s
			case "counter":
				s := counterName(v)
				bit, f.Counter = 32, &s
			}
			i = j
		case "since", "limit", "id", "delta":
			n, j, ok := flatInt(b, i)
			if !ok {
				return f, false
			}
			switch string(key) {
			case "since":
				bit, f.Since = 4, &n
			case "limit":
				bit = 8
				if n != int64(int(n)) {
					return f, false
				}
				l := int(n)
				f.Limit = &l
			case "id":
				bit, f.ID = 16, &n
			case "delta":
				bit, f.Delta = 64, &n
			}
			i = j
		default:
			return f, false
		}
		if seen&bit != 0 {
			return f, false
		}
		seen |= bit
		i = skipWS(b, i)
		switch {
		case i < len(b) && b[i] == ',':
			i = skipWS(b, i+1)
			if i >= len(b) || b[i] == '}' {
				return f, false // trailing comma
			}
		case i < len(b) && b[i] == '}':
		default:
			return f, false
		}
	}
	if i >= len(b) || skipWS(b, i+1) != len(b) {
		return f, false
	}
	return f, seen&1 != 0
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// flatBytes reads a JSON string without escapes or control characters: its bytes, in b.
func flatBytes(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, i, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, i, false
		}
	}
	return nil, i, false
}

// opName and counterName return the hot values as constants and allocate only for others.
// With the keys compared in place, a pull frame costs 10 allocations instead of 17
// (BenchmarkSessionPullFrame); string allocation was 4 % of the server's CPU in a 10k-viewer
// run with likes (docs/decisions.md "Measured cost of an add").
func opName(v []byte) string {
	switch string(v) {
	case "pull":
		return "pull"
	case "ping":
		return "ping"
	case "add":
		return "add"
	}
	return string(v)
}

func counterName(v []byte) string {
	if string(v) == "likes" {
		return "likes"
	}
	return string(v)
}

// flatInt reads a JSON integer (no fraction or exponent) that fits an int64.
func flatInt(b []byte, i int) (int64, int, bool) {
	j := i
	if j < len(b) && b[j] == '-' {
		j++
	}
	start := j
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	if j == start || (b[start] == '0' && j-start > 1) || (j < len(b) && (b[j] == '.' || b[j] == 'e' || b[j] == 'E')) {
		return 0, i, false
	}
	n, err := strconv.ParseInt(string(b[i:j]), 10, 64)
	return n, j, err == nil
}
