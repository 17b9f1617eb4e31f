package transport

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/liveroom/liveroom/ring"
	"github.com/liveroom/liveroom/rooms"
)

// What a message may be. Every path that takes a message from outside (POST
// /v1/rooms/{room}/messages, the notice endpoints, the WebSocket send) decodes the fields into
// messageIn and lets checkMessage decide; nothing else judges a message.
//
// Why the fields stay raw JSON: what a room accepts is relayed byte for byte to every viewer,
// and a text frame that is not valid UTF-8 makes a browser fail the whole WebSocket (RFC 6455
// section 8.1), so one bad message would close every viewer of the room, again after each
// reconnect. encoding/json turns invalid UTF-8 and lone surrogate escapes in strings into
// U+FFFD without a word, and keeps them as they are in a json.RawMessage; checkMessage sees the
// bytes the sender wrote and refuses both.

// messageIn is a message's fields as the sender wrote them, each one raw JSON; nil (or the
// literal null) is an absent field.
type messageIn struct {
	Kind json.RawMessage `json:"kind"`
	Pri  json.RawMessage `json:"pri"`
	Body json.RawMessage `json:"body"`
	CMID json.RawMessage `json:"cmid"`
	Name json.RawMessage `json:"name"` // backend posts only: a WebSocket send's come from the token
	Meta json.RawMessage `json:"meta"`
}

// Limits of a message's fields (PROTOCOL.md section 1), in bytes of UTF-8.
const (
	maxKind = 32
	maxCMID = 128
)

// checkMessage validates a message: kind a string of 1-32 bytes, pri absent (normal) or one of
// system, high, normal, low, body present and not null, valid JSON of at most maxBody bytes once
// compacted, cmid absent or a string of at most 128 bytes; every string valid UTF-8 and every
// \u escape of the body a whole character (no unpaired UTF-16 surrogate). Refusals are
// bad_request, or too_large for the body's size; name and meta as checkName and checkMeta say.
// The request returned has the compacted body; UID and Source are the caller's.
func checkMessage(in messageIn, maxBody int) (rooms.SendRequest, error) {
	req := rooms.SendRequest{Pri: ring.Normal}
	kind, ok, err := jsonString("kind", in.Kind)
	if err != nil {
		return req, err
	}
	if !ok || len(kind) < 1 || len(kind) > maxKind {
		return req, badRequest("kind must be a string of 1-32 bytes")
	}
	req.Kind = kind
	pri, ok, err := jsonString("pri", in.Pri)
	if err != nil {
		return req, err
	}
	if ok {
		p, known := ring.ParsePriority(pri)
		if !known {
			return req, badRequest("pri must be system, high, normal or low")
		}
		req.Pri = p
	}
	if req.Body, err = checkBody(in.Body, maxBody); err != nil {
		return req, err
	}
	cmid, _, err := jsonString("cmid", in.CMID)
	if err != nil {
		return req, err
	}
	if len(cmid) > maxCMID {
		return req, badRequest("cmid must be at most 128 bytes")
	}
	req.CMID = cmid
	if req.Name, err = checkName(in.Name); err != nil {
		return req, err
	}
	if req.Meta, err = checkMeta(in.Meta); err != nil {
		return req, err
	}
	return req, nil
}

// checkBody validates a message body: present, not null, valid JSON, valid UTF-8 without an
// unpaired surrogate escape, at most maxBody bytes encoded (white space between tokens does not
// count, so every path measures the same). It returns the compacted body.
func checkBody(body json.RawMessage, maxBody int) (json.RawMessage, error) {
	if isAbsent(body) {
		return nil, badRequest("body is required (any JSON value but null)")
	}
	var buf bytes.Buffer
	buf.Grow(len(body))
	if err := json.Compact(&buf, body); err != nil {
		return nil, badRequest("body is not valid JSON")
	}
	if why := textProblem(buf.Bytes()); why != "" {
		return nil, badRequest("body " + why)
	}
	if buf.Len() > maxBody {
		return nil, rooms.Errorf(rooms.CodeTooLarge, "body is over max_body ("+strconv.Itoa(maxBody)+" bytes compacted)")
	}
	return buf.Bytes(), nil
}

// isAbsent: a field left out, or written as null.
func isAbsent(raw json.RawMessage) bool { return len(raw) == 0 || string(raw) == "null" }

// jsonString decodes the raw JSON value of the field name: ok is false when it is absent;
// anything but a string of valid UTF-8 without an unpaired surrogate escape is bad_request.
func jsonString(name string, raw json.RawMessage) (s string, ok bool, err error) {
	if isAbsent(raw) {
		return "", false, nil
	}
	if raw[0] != '"' {
		return "", false, badRequest(name + " must be a string")
	}
	if why := textProblem(raw); why != "" {
		return "", false, badRequest(name + " " + why)
	}
	if len(raw) >= 2 && raw[len(raw)-1] == '"' && !needsDecoding(raw[1:len(raw)-1]) {
		return string(raw[1 : len(raw)-1]), true, nil
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false, badRequest(name + " must be a string")
	}
	return s, true, nil
}

// needsDecoding: b (a JSON string's contents) has an escape, a quote or a control character.
func needsDecoding(b []byte) bool {
	for _, c := range b {
		if c == '\\' || c == '"' || c < 0x20 {
			return true
		}
	}
	return false
}

// textProblem says what is wrong with the text of a JSON value for a viewer ("" if nothing):
// bytes that are not UTF-8, or a \u escape of half a UTF-16 surrogate pair, which strict
// decoders refuse and JavaScript turns into a string that cannot be encoded back.
func textProblem(b []byte) string {
	if !utf8.Valid(b) {
		return "is not valid UTF-8"
	}
	if loneSurrogate(b) {
		return `has an unpaired UTF-16 surrogate escape (e.g. "\ud800" alone)`
	}
	return ""
}

// loneSurrogate reports whether JSON text b has a \u escape of a surrogate that is not the
// high half of a \uD8xx\uDCxx pair followed by its low half. Outside strings a backslash is not
// JSON at all, so a plain scan that consumes each escape whole is enough; text the decoder would
// refuse anyway may be answered either way.
func loneSurrogate(b []byte) bool {
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		i++ // the escaped character
		if i >= len(b) || b[i] != 'u' {
			continue
		}
		r, ok := hex4(b, i+1)
		if !ok {
			continue
		}
		i += 4 // the last hex digit
		switch {
		case r >= 0xdc00 && r <= 0xdfff:
			return true // a low half first
		case r >= 0xd800 && r <= 0xdbff:
			if i+6 >= len(b) || b[i+1] != '\\' || b[i+2] != 'u' {
				return true
			}
			lo, ok := hex4(b, i+3)
			if !ok || lo < 0xdc00 || lo > 0xdfff {
				return true
			}
			i += 6
		}
	}
	return false
}

// hex4 reads the four hex digits at b[i:].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
