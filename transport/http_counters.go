package transport

import (
	"github.com/valyala/fasthttp"

	"github.com/liveroom/liveroom/rooms"
	"github.com/liveroom/liveroom/wire"
)

// handleCounter is `POST` / `PUT /v1/rooms/{room}/counters/{name}`: POST adds (server key,
// `{"delta":n}`), PUT sets (admin key, `{"value":n}`); both answer `{"value":<total>}`.
func (s *Server) handleCounter(ctx *fasthttp.RequestCtx, room, name string) {
	need := RoleServer
	if ctx.IsPut() {
		need = RoleAdmin
	}
	if s.key(ctx, need) == RoleNone || !s.ids(ctx, room) {
		return
	}
	if !rooms.ValidCounterName(name) {
		writeError(ctx, badRequest("invalid counter name "+quoteID(name)+": "+rooms.CounterNameRule))
		return
	}
	v, err := parseCounterBody(ctx.PostBody(), ctx.IsPut())
	if err != nil {
		writeError(ctx, err)
		return
	}
	c, cancel := reqCtx()
	defer cancel()
	var total int64
	if ctx.IsPut() {
		total, err = s.eng.SetCounter(c, room, name, v)
	} else {
		total, err = s.eng.AddCounter(c, room, name, v)
	}
	if err != nil {
		writeError(ctx, err)
		return
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(wire.AppendValueBody(make([]byte, 0, 32), total))
}

// parseCounterBody reads `{"delta":n}` (an add) or `{"value":n}` (a set): n a JSON integer
// within int64, required; no other field.
func parseCounterBody(raw []byte, set bool) (int64, error) {
	var p struct {
		Delta *int64 `json:"delta"`
		Value *int64 `json:"value"`
	}
	if err := decodeStrict(raw, &p, false); err != nil {
		return 0, err
	}
	switch {
	case set && p.Value != nil && p.Delta == nil:
		return *p.Value, nil
	case !set && p.Delta != nil && p.Value == nil:
		return *p.Delta, nil
	case set:
		return 0, badRequest(`the body must be {"value":<integer>}`)
	}
	return 0, badRequest(`the body must be {"delta":<integer>}`)
}
