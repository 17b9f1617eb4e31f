package transport

import (
	"encoding/base64"

	"github.com/valyala/fasthttp"

	"github.com/liveroom/liveroom/rooms"
	"github.com/liveroom/liveroom/wire"
)

// The endpoints of global moderation and the lists (PROTOCOL.md section 8.7).

// listPage is how many entries a page of a list holds.
const listPage = 1000

// handleGlobalBan is `PUT` / `DELETE /v1/bans/{uid}`; a PUT may carry `{"ttl_s":N}`.
func (s *Server) handleGlobalBan(ctx *fasthttp.RequestCtx, uid string, set bool) {
	c, cancel := reqCtx()
	defer cancel()
	var err error
	if set {
		ttl, perr := parseTTL(ctx.PostBody())
		if perr != nil {
			writeError(ctx, perr)
			return
		}
		err = s.eng.BanUser(c, uid, ttl)
	} else {
		err = s.eng.UnbanUser(c, uid)
	}
	if err != nil {
		writeError(ctx, err)
		return
	}
	writeOK(ctx)
}

// handleKickEverywhere is `DELETE /v1/viewers/{uid}`.
func (s *Server) handleKickEverywhere(ctx *fasthttp.RequestCtx, uid string) {
	c, cancel := reqCtx()
	defer cancel()
	if err := s.eng.KickUser(c, uid); err != nil {
		writeError(ctx, err)
		return
	}
	writeOK(ctx)
}

// handleGlobalBans is `GET /v1/bans?cursor=`.
func (s *Server) handleGlobalBans(ctx *fasthttp.RequestCtx) {
	after, ok := s.cursor(ctx)
	if !ok {
		return
	}
	c, cancel := reqCtx()
	defer cancel()
	items, more, err := s.eng.GlobalBanPage(c, after, listPage)
	if err != nil {
		writeError(ctx, err)
		return
	}
	writeList(ctx, items, more)
}

// handleRoomList is `GET /v1/rooms/{room}/{bans|mutes|whitelist}?cursor=`.
func (s *Server) handleRoomList(ctx *fasthttp.RequestCtx, room string, list rooms.List) {
	after, ok := s.cursor(ctx)
	if !ok {
		return
	}
	c, cancel := reqCtx()
	defer cancel()
	items, more, err := s.eng.ModerationPage(c, room, list, after, listPage)
	if err != nil {
		writeError(ctx, err)
		return
	}
	writeList(ctx, items, more)
}

// handleRoomsList is `GET /v1/rooms?cursor=`.
func (s *Server) handleRoomsList(ctx *fasthttp.RequestCtx) {
	after, ok := s.cursor(ctx)
	if !ok {
		return
	}
	c, cancel := reqCtx()
	defer cancel()
	items, more, err := s.eng.RoomsPage(c, after, listPage)
	if err != nil {
		writeError(ctx, err)
		return
	}
	next := ""
	if more {
		next = encodeCursor(items[len(items)-1].Room)
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(wire.AppendRoomListBody(make([]byte, 0, 64+40*len(items)), items, next))
}

func writeList(ctx *fasthttp.RequestCtx, items []wire.ListItem, more bool) {
	next := ""
	if more {
		next = encodeCursor(items[len(items)-1].UID)
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(wire.AppendListBody(make([]byte, 0, 64+40*len(items)), items, next))
}

// A cursor is the last id of the page before, base64url without padding: opaque to clients
// (they send back what `next` said), and checked like an id when it comes back.
func encodeCursor(lastID string) string { return base64.RawURLEncoding.EncodeToString([]byte(lastID)) }

// cursor reads ?cursor= (absent or empty: the first page); a cursor that is not one this
// server wrote is answered 400 bad_request (false).
func (s *Server) cursor(ctx *fasthttp.RequestCtx) (string, bool) {
	raw := ctx.QueryArgs().Peek("cursor")
	if len(raw) == 0 {
		return "", true
	}
	b, err := base64.RawURLEncoding.DecodeString(string(raw))
	if err != nil || !ValidID(string(b)) {
		writeError(ctx, badRequest("invalid cursor: send back the next of the previous page"))
		return "", false
	}
	return string(b), true
}
