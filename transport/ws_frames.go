package transport

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/liveroom/liveroom/rooms"
	"github.com/liveroom/liveroom/wire"
)

// inFrame is any client frame (PROTOCOL.md section 3). Fields of the wrong JSON type make
// the whole frame a bad_request; the message fields of a send stay raw for checkMessage.
type inFrame struct {
	Op     string  `json:"op"`
	ID     *int64  `json:"id"`
	Room   *string `json:"room"`
	Since  *int64  `json:"since"`
	Limit  *int    `json:"limit"`
	Push   *bool   `json:"push"`   // join option: the server pushes windows (PROTOCOL.md 8.2)
	Recent *int64  `json:"recent"` // join option: start before the room's N newest messages (8.3)
	Token  *string `json:"token"`  // auth: the new token (session_auth.go)
	messageIn
	addIn // session_counters.go
}

// parseFrame decodes a client text frame. A frame it refuses still has its id when the id is
// an integer that fits an int64 (so that the error reply can echo it); any other id is not
// echoed at all (a made-up 0 would answer some other request of the client).
func parseFrame(data []byte) (f inFrame, err error) {
	if !utf8.Valid(data) {
		return inFrame{ID: frameID(data)}, badRequest("a text frame must be valid UTF-8")
	}
	if err = json.Unmarshal(data, &f); err != nil {
		id, idOK := frameIDRaw(data)
		if !idOK {
			return inFrame{}, badRequest("id must be an integer that fits an int64")
		}
		return inFrame{ID: id}, badRequest("malformed frame: " + strings.TrimPrefix(err.Error(), "json: "))
	}
	return f, nil
}

// frameID is the id of a frame that is refused, or nil.
func frameID(data []byte) *int64 {
	id, _ := frameIDRaw(data)
	return id
}

// frameIDRaw finds the id of a JSON object: nil and true when it has none (or null), nil and
// false when it has one that is not an integer (digits, no fraction or exponent) within int64.
// Keys match as encoding/json matches them (the last of duplicates, any case).
func frameIDRaw(data []byte) (*int64, bool) {
	var v struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(data, &v) != nil || isAbsent(v.ID) {
		return nil, true
	}
	n, end, ok := flatInt(v.ID, 0)
	if !ok || end != len(v.ID) {
		return nil, false
	}
	return &n, true
}

// errorFrame is the error frame answering a client frame (id nil: none to echo) with err's code
// and message.
func errorFrame(id *int64, err error) []byte {
	code := rooms.CodeOf(err)
	msg := err.Error()
	if e, ok := err.(*rooms.Error); ok {
		msg = e.Message
	}
	return wire.AppendError(make([]byte, 0, 64+len(msg)), id, string(code), msg)
}
