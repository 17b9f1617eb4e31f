package transport

import (
	"context"
	"errors"
	"net"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/liveroom/liveroom/rooms"
	"github.com/liveroom/liveroom/transport/web"
	"github.com/liveroom/liveroom/wire"
)

// handleReady is `GET /readyz`: 200 `{"ok":true}` when the engine is ready (cluster joined,
// store reachable), else 503 unavailable with the reason; 503 at once when the node drains.
func (s *Server) handleReady(ctx *fasthttp.RequestCtx) {
	if s.draining.Load() {
		writeError(ctx, errDraining)
		return
	}
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
// URL, or one built from its own address (never from the request's Host header).
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
	ctx.SetContentType("application/json")
	ctx.SetBody(wire.AppendRouteBody(nil, node, ws))
}

// advertise is this node's public WebSocket URL: Config.Advertise, else "ws://ADDR/v1/ws"
// ("wss://" with TLS) with the address the server listens on. A listener on every interface (":8080", "0.0.0.0:8080",
// "[::]:8080") names no host: the host is then the local address of the request's connection,
// the server's own address that the client reached.
//
// Why not the Host header: anyone can send any Host, and the answer tells clients where to
// connect (and may be cached by a proxy): "Host: evil.example" must not send viewers to
// ws://evil.example. Behind a proxy or NAT the server's own address is not the public one:
// operators set --advertise (docs/decisions.md).
func (s *Server) advertise(ctx *fasthttp.RequestCtx) string {
	if s.cfg.Advertise != "" {
		return s.cfg.Advertise
	}
	host, port, err := net.SplitHostPort(s.Addr())
	if err != nil { // a listener that is not TCP (tests): the configured address
		if host, port, err = net.SplitHostPort(s.cfg.Addr); err != nil {
			host, port = "", ""
		}
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
		if a, ok := ctx.LocalAddr().(*net.TCPAddr); ok {
			host = a.IP.String()
			if port == "" {
				port = strconv.Itoa(a.Port)
			}
		}
	}
	scheme := "ws://"
	if s.cfg.TLS != nil {
		scheme = "wss://"
	}
	if port == "" {
		return scheme + host + "/v1/ws"
	}
	return scheme + net.JoinHostPort(host, port) + "/v1/ws"
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
	ctx.SetContentType("application/json")
	ctx.SetBody(wire.AppendTokenBody(nil, tok))
}

// serveWeb serves the embedded file of the request's path (the JS client, the admin page, in
// dev mode the demo page), or answers 404 in the API's error format.
func (s *Server) serveWeb(ctx *fasthttp.RequestCtx) {
	switch err := web.Serve(ctx, s.cfg.Dev); {
	case errors.Is(err, web.ErrDevOnly):
		writeError(ctx, rooms.Errorf(rooms.CodeNotFound, "the demo page is served in --dev mode only"))
	case err != nil:
		writeError(ctx, errNoEndpoint)
	}
}
