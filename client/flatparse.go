package client

import (
	"encoding/json"
	"math"
	"unicode/utf8"
)

// decodeFrame decodes one server frame into f (which it resets first). Flat frames (every
// value a plain string, integer, bool or null: notify, kick, pong, joined, left, sent, error)
// take the shallow parser, which allocates nothing for the room, epoch, reason and code
// strings the interner already holds;
// anything else (msgs, hello, escapes, floats, odd keys) goes to encoding/json. The shallow
// parser gives exactly what encoding/json gives, or declines: FuzzFlatParser checks that.
func decodeFrame(b []byte, f *frame, in *interner) error {
	*f = frame{}
	if parseFlat(b, f, in) {
		return nil
	}
	*f = frame{}
	return json.Unmarshal(b, f)
}

// op names as constants, so decoding "op" never allocates.
func opName(b []byte, in *interner) string {
	switch string(b) {
	case "notify":
		return "notify"
	case "msgs":
		return "msgs"
	case "pong":
		return "pong"
	case "joined":
		return "joined"
	case "left":
		return "left"
	case "sent":
		return "sent"
	case "kick":
		return "kick"
	case "error":
		return "error"
	case "hello":
		return "hello"
	}
	return in.str(b)
}

type fieldKind uint8

const (
	kUnknown fieldKind = iota
	kString
	kInt
	kUint
	kBool
	kNested // limits, msgs: only null is flat
)

// flatField names a field of frame by its JSON key (lower case).
func flatField(key []byte) (fieldKind, int) {
	switch len(key) {
	case 2:
		switch {
		case eqFold(key, "op"):
			return kString, 0
		case eqFold(key, "id"):
			return kUint, 1
		case eqFold(key, "ts"):
			return kInt, 2
		}
	case 3:
		switch {
		case eqFold(key, "uid"):
			return kString, 3
		case eqFold(key, "seq"):
			return kUint, 4
		case eqFold(key, "dup"):
			return kBool, 5
		}
	case 4:
		switch {
		case eqFold(key, "room"):
			return kString, 6
		case eqFold(key, "node"):
			return kString, 7
		case eqFold(key, "next"):
			return kInt, 8
		case eqFold(key, "more"):
			return kBool, 9
		case eqFold(key, "code"):
			return kString, 10
		case eqFold(key, "msgs"):
			return kNested, 0
		}
	case 5:
		if eqFold(key, "epoch") {
			return kString, 11
		}
	case 6:
		switch {
		case eqFold(key, "online"):
			return kInt, 12
		case eqFold(key, "reason"):
			return kString, 13
		case eqFold(key, "limits"):
			return kNested, 0
		}
	case 7:
		switch {
		case eqFold(key, "dropped"):
			return kUint, 14
		case eqFold(key, "message"):
			return kString, 15
		}
	case 9:
		if eqFold(key, "server_ts") {
			return kInt, 16
		}
	}
	return kUnknown, 0
}

func setString(f *frame, idx int, v []byte, in *interner) {
	switch idx {
	case 0:
		f.Op = opName(v, in)
	case 3:
		f.UID = string(v)
	case 6:
		f.Room = in.str(v)
	case 7:
		f.Node = string(v)
	case 10:
		f.Code = in.str(v)
	case 11:
		f.Epoch = in.str(v)
	case 13:
		f.Reason = in.str(v)
	case 15:
		f.Message = string(v)
	}
}

func setInt(f *frame, idx int, v int64) {
	switch idx {
	case 2:
		f.TS = v
	case 8:
		f.Next = v
	case 12:
		f.Online = v
	case 16:
		f.ServerTS = v
	}
}

func setUint(f *frame, idx int, v uint64) {
	switch idx {
	case 1:
		f.ID = v
	case 4:
		f.Seq = v
	case 14:
		f.Dropped = v
	}
}

func setBool(f *frame, idx int, v bool) {
	switch idx {
	case 5:
		f.Dup = v
	case 9:
		f.More = v
	}
}

// eqFold compares an ASCII key with a lower-case name, ignoring ASCII case, as encoding/json
// matches keys. Non-ASCII keys never reach it (the parser declines them).
func eqFold(key []byte, name string) bool {
	if len(key) != len(name) {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != name[i] {
			return false
		}
	}
	return true
}

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanString reads a JSON string starting at b[i] == '"' and returns its raw content and the
// index after the closing quote. ok is false for escapes, control bytes, invalid UTF-8, or
// (when asciiOnly) any non-ASCII byte: the caller then declines.
func scanString(b []byte, i int, asciiOnly bool) (s []byte, next int, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false
	}
	start := i + 1
	high := false
	for j := start; j < len(b); j++ {
		c := b[j]
		switch {
		case c == '"':
			s = b[start:j]
			if high && (asciiOnly || !utf8.Valid(s)) {
				return nil, 0, false
			}
			return s, j + 1, true
		case c == '\\' || c < 0x20:
			return nil, 0, false
		case c >= utf8.RuneSelf:
			high = true
		}
	}
	return nil, 0, false
}

// scanInt reads an integer literal -?(0|[1-9][0-9]*) that must be followed by a delimiter.
// ok is false for fractions, exponents, leading zeros and anything else.
func scanInt(b []byte, i int) (lit []byte, next int, ok bool) {
	start := i
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i >= len(b) || b[i] < '0' || b[i] > '9' {
		return nil, 0, false
	}
	if b[i] == '0' {
		i++
	} else {
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r', ',', '}':
		default:
			return nil, 0, false
		}
	}
	return b[start:i], i, true
}

// parseUint64 parses the digits scanInt accepted; a sign or an overflow is refused, as
// encoding/json refuses them for an unsigned field.
func parseUint64(lit []byte) (uint64, bool) {
	if len(lit) == 0 || lit[0] == '-' {
		return 0, false
	}
	var v uint64
	for _, c := range lit {
		d := uint64(c - '0')
		if v > (math.MaxUint64-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}

func parseInt64(lit []byte) (int64, bool) {
	neg := len(lit) > 0 && lit[0] == '-'
	if neg {
		lit = lit[1:]
	}
	u, ok := parseUint64(lit)
	if !ok {
		return 0, false
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

func hasLit(b []byte, i int, lit string) bool {
	return len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit
}

// parseFlat decodes a flat JSON object into f, or returns false without promising anything
// about f. It never panics on any input.
func parseFlat(b []byte, f *frame, in *interner) bool {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return skipWS(b, i+1) == len(b)
	}
	for {
		key, n, ok := scanString(b, i, true)
		if !ok {
			return false
		}
		i = skipWS(b, n)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = skipWS(b, i+1)
		if i >= len(b) {
			return false
		}
		kind, idx := flatField(key)
		switch c := b[i]; {
		case c == '"':
			v, n, ok := scanString(b, i, false)
			if !ok {
				return false
			}
			switch kind {
			case kString:
				setString(f, idx, v, in)
			case kUnknown:
			default:
				return false
			}
			i = n
		case c == '-' || (c >= '0' && c <= '9'):
			lit, n, ok := scanInt(b, i)
			if !ok {
				return false
			}
			switch kind {
			case kInt:
				v, ok := parseInt64(lit)
				if !ok {
					return false
				}
				setInt(f, idx, v)
			case kUint:
				v, ok := parseUint64(lit)
				if !ok {
					return false
				}
				setUint(f, idx, v)
			case kUnknown:
			default:
				return false
			}
			i = n
		case c == 't' || c == 'f':
			v := c == 't'
			lit := "false"
			if v {
				lit = "true"
			}
			if !hasLit(b, i, lit) {
				return false
			}
			switch kind {
			case kBool:
				setBool(f, idx, v)
			case kUnknown:
			default:
				return false
			}
			i += len(lit)
		case c == 'n':
			if !hasLit(b, i, "null") {
				return false
			}
			i += 4 // null leaves any field as it is, as in encoding/json
		default:
			return false // object, array or junk: encoding/json decides
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			return skipWS(b, i+1) == len(b)
		default:
			return false
		}
	}
}
