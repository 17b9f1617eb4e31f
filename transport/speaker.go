package transport

import (
	"bytes"
	"encoding/json"
	"unicode"
	"unicode/utf8"
)

// Who is speaking (PROTOCOL.md section 8.5): a display name and a meta object, from the viewer
// token's claims for a WebSocket send, from the body for a backend post. Both are relayed
// into every viewer's page, so they are held to the same rules as a message's strings (valid
// UTF-8, no unpaired surrogate escape) and to their own bounds.

// Bounds of a speaker's name (in characters: code points) and meta (in bytes, compacted).
const (
	maxNameChars = 64
	maxMetaBytes = 256
)

// checkName validates a name's raw JSON: absent (or null, or "") is no name; else a string of
// 1-64 characters with no control character (a name is one line of text in a chat list).
func checkName(raw json.RawMessage) (string, error) {
	name, ok, err := jsonString("name", raw)
	if err != nil || !ok || name == "" {
		return "", err
	}
	if utf8.RuneCountInString(name) > maxNameChars {
		return "", badRequest("name must be at most 64 characters")
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return "", badRequest("name must not contain control characters")
		}
	}
	return name, nil
}

// checkMeta validates a meta's raw JSON: absent (or null) is no meta; else a JSON object of at
// most 256 bytes once compacted. It returns the compacted object ({} counts as none).
func checkMeta(raw json.RawMessage) (json.RawMessage, error) {
	if isAbsent(raw) {
		return nil, nil
	}
	if i := skipWS(raw, 0); i >= len(raw) || raw[i] != '{' {
		return nil, badRequest("meta must be a JSON object")
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, badRequest("meta is not valid JSON")
	}
	if why := textProblem(buf.Bytes()); why != "" {
		return nil, badRequest("meta " + why)
	}
	if buf.Len() > maxMetaBytes {
		return nil, badRequest("meta must be at most 256 bytes encoded")
	}
	if buf.Len() == 2 {
		return nil, nil
	}
	return buf.Bytes(), nil
}
