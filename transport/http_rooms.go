package transport

import (
	"encoding/json"

	"github.com/valyala/fasthttp"

	"github.com/liveroom/liveroom/rooms"
)

// handleInfo is `GET /v1/rooms/{room}` (server key).
func (s *Server) handleInfo(ctx *fasthttp.RequestCtx, room string) {
	c, cancel := reqCtx()
	defer cancel()
	info, err := s.eng.Info(c, room)
	if err != nil {
		writeError(ctx, err)
		return
	}
	if info.Counters == nil {
		info.Counters = rooms.Counters{} // "counters":{} from any engine, never null
	}
	writeJSON(ctx, info)
}

// handleConfig is `PUT /v1/rooms/{room}/config` (admin key): answers the whole new config.
func (s *Server) handleConfig(ctx *fasthttp.RequestCtx, room string) {
	patch, err := parseConfigPatch(ctx.PostBody())
	if err != nil {
		writeError(ctx, err)
		return
	}
	c, cancel := reqCtx()
	defer cancel()
	cfg, err := s.eng.SetConfig(c, room, patch)
	if err != nil {
		writeError(ctx, err)
		return
	}
	writeJSON(ctx, cfg)
}

// modLists are the moderation lists by their path segment.
var modLists = map[string]rooms.List{"bans": rooms.Bans, "mutes": rooms.Mutes, "whitelist": rooms.Whitelist}

// handleModerate is `PUT` / `DELETE /v1/rooms/{room}/{bans|mutes|whitelist}/{uid}` (server
// key); a PUT may carry `{"ttl_s":N}`.
func (s *Server) handleModerate(ctx *fasthttp.RequestCtx, room string, list rooms.List, uid string, set bool) {
	op := rooms.ModOp{List: list, UID: uid, Set: set}
	if set {
		ttl, err := parseTTL(ctx.PostBody())
		if err != nil {
			writeError(ctx, err)
			return
		}
		op.TTL = ttl
	}
	c, cancel := reqCtx()
	defer cancel()
	if err := s.eng.Moderate(c, room, op); err != nil {
		writeError(ctx, err)
		return
	}
	writeOK(ctx)
}

// handleKick is `DELETE /v1/rooms/{room}/viewers/{uid}` (server key).
func (s *Server) handleKick(ctx *fasthttp.RequestCtx, room, uid string) {
	c, cancel := reqCtx()
	defer cancel()
	if err := s.eng.KickViewer(c, room, uid); err != nil {
		writeError(ctx, err)
		return
	}
	writeOK(ctx)
}

// writeJSON answers v encoded by encoding/json (status 200).
func writeJSON(ctx *fasthttp.RequestCtx, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(ctx, err)
		return
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}
