package transport

import (
	"encoding/json"
	"strconv"

	"github.com/liveroom/liveroom/rooms"
)

// inFrame is any client frame (PROTOCOL.md section 3). Fields of the wrong JSON type make
// the whole frame a bad_request; the message fields of a send stay raw for checkMessage.
type inFrame struct {
	Op    string  `json:"op"`
	ID    *int64  `json:"id"`
	Room  *string `json:"room"`
	Since *int64  `json:"since"`
	Limit *int    `json:"limit"`
	Push  *bool   `json:"push"` // join option: the server pushes windows (docs/decisions.md)
	messageIn
}

// parseFrame decodes a client frame. On a decode error it still tries to recover the id so
// that the error reply can echo it.
func parseFrame(data []byte) (f inFrame, err error) {
	if err = json.Unmarshal(data, &f); err != nil {
		var idOnly struct {
			ID *int64 `json:"id"`
		}
		if json.Unmarshal(data, &idOnly) == nil {
			f.ID = idOnly.ID
		}
		return f, rooms.Errorf(rooms.CodeBadRequest, "malformed frame: "+err.Error())
	}
	return f, nil
}

// frameBuf builds server frames by appending; every string field is either a validated id or
// goes through appendJSONString.
type frameBuf []byte

func (b frameBuf) op(op string) frameBuf {
	b = append(b, `{"op":"`...)
	b = append(b, op...)
	return append(b, '"')
}

func (b frameBuf) str(key, v string) frameBuf {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	q, _ := json.Marshal(v)
	return append(b, q...)
}

func (b frameBuf) int(key string, v int64) frameBuf {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return strconv.AppendInt(b, v, 10)
}

func (b frameBuf) uint(key string, v uint64) frameBuf {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return strconv.AppendUint(b, v, 10)
}

func (b frameBuf) id(id *int64) frameBuf {
	if id == nil {
		return b
	}
	return b.int("id", *id)
}

func (b frameBuf) end() []byte { return append(b, '}') }

func errorFrame(id *int64, err error) []byte {
	code := rooms.CodeOf(err)
	msg := err.Error()
	if e, ok := err.(*rooms.Error); ok {
		msg = e.Message
	}
	return frameBuf(nil).op("error").id(id).str("code", string(code)).str("message", msg).end()
}
