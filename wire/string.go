package wire

import "unicode/utf8"

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string escaped exactly as encoding/json's Marshal escapes it
// (what every message and WebSocket frame has carried): `"` and `\` with a backslash; \b, \f,
// \n, \r, \t short and the other control characters as \u00XX; <, > and & as \u003c, \u003e,
// \u0026 (a frame's strings may end up in an HTML page); U+2028 and U+2029 as \u2028, \u2029
// (they end a line in JavaScript source); each byte that is not part of valid UTF-8 as \ufffd.
// DEL and all other valid UTF-8 are copied as they are. The output is valid UTF-8.
func AppendString(b []byte, s string) []byte { return appendString(b, s, &htmlSafe) }

// AppendStringKeepHTML appends s as AppendString does except that <, > and & stay as they are
// (encoding/json with SetEscapeHTML(false)). The HTTP bodies use it: they are read as JSON, not
// embedded in a page, and their messages stay readable ("Bearer <key>").
func AppendStringKeepHTML(b []byte, s string) []byte { return appendString(b, s, &plainSafe) }

// htmlSafe and plainSafe say which ASCII bytes are copied unescaped.
var htmlSafe, plainSafe = safeSets()

func safeSets() (html, plain [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		plain[c] = c != '"' && c != '\\'
		html[c] = plain[c] && c != '<' && c != '>' && c != '&'
	}
	return html, plain
}

func appendString(b []byte, s string, safe *[utf8.RuneSelf]bool) []byte {
	b = append(b, '"')
	start := 0 // s[start:i] is copied as it is once an escape or the end is reached
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if safe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			b = appendEscape(b, c)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendEscape appends the escape of an ASCII byte that is not copied as it is.
func appendEscape(b []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(b, '\\', c)
	case '\b':
		return append(b, '\\', 'b')
	case '\f':
		return append(b, '\\', 'f')
	case '\n':
		return append(b, '\\', 'n')
	case '\r':
		return append(b, '\\', 'r')
	case '\t':
		return append(b, '\\', 't')
	}
	return append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
}
