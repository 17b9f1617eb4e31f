package transport

import (
	"context"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/liveroom/liveroom/rooms"
)

// handleReady is `GET /readyz`: 200 `{"ok":true}` when the engine is ready (cluster joined,
// store reachable), else 503 unavailable with the reason.
func (s *Server) handleReady(ctx *fasthttp.RequestCtx) {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.eng.Ready(c); err != nil {
		_, msg := wireError(err)
		writeError(ctx, rooms.Errorf(rooms.CodeUnavailable, "not ready: "+msg))
		return
	}
	writeOK(ctx)
}

// handleRoute is `GET /v1/route?uid=` (anyone): the node for the uid and its WebSocket URL.
// Without a node directory the engine answers "" and this node is the answer: its Advertise
// URL, or one derived from the request's Host.
func (s *Server) handleRoute(ctx *fasthttp.RequestCtx) {
	uid := string(ctx.QueryArgs().Peek("uid"))
	if !ValidID(uid) {
		writeError(ctx, badRequest("uid is required and must match [A-Za-z0-9_.:-]{1,128}"))
		return
	}
	c, cancel := reqCtx()
	defer cancel()
	node, ws, err := s.eng.Route(c, uid)
	if err != nil {
		writeError(ctx, err)
		return
	}
	if node == "" {
		node, ws = s.cfg.Node, s.advertise(ctx)
	}
	b := append([]byte(`{"node":`), appendJSONStr(nil, node)...)
	b = append(b, `,"ws":`...)
	b = appendJSONStr(b, ws)
	ctx.SetContentType("application/json")
	ctx.SetBody(append(b, '}'))
}

// advertise is this node's public WebSocket URL: Config.Advertise, or "ws://HOST/v1/ws" from
// the request's Host header.
func (s *Server) advertise(ctx *fasthttp.RequestCtx) string {
	if s.cfg.Advertise != "" {
		return s.cfg.Advertise
	}
	return "ws://" + string(ctx.Host()) + "/v1/ws"
}

// handleDevToken is `GET /v1/dev/token?uid=` (dev mode only): a viewer token valid one day.
func (s *Server) handleDevToken(ctx *fasthttp.RequestCtx) {
	uid := string(ctx.QueryArgs().Peek("uid"))
	if !ValidID(uid) {
		writeError(ctx, badRequest("uid is required and must match [A-Za-z0-9_.:-]{1,128}"))
		return
	}
	tok, err := s.auth.IssueToken(uid, 24*time.Hour, nil)
	if err != nil {
		writeError(ctx, err)
		return
	}
	b := append([]byte(`{"token":`), appendJSONStr(nil, tok)...)
	ctx.SetContentType("application/json")
	ctx.SetBody(append(b, '}'))
}
