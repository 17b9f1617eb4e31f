package transport

import (
	"embed"

	"github.com/valyala/fasthttp"

	"github.com/liveroom/liveroom/rooms"
)

//go:embed web
var webFS embed.FS

// serveWeb serves the embedded files: the JS client and the admin page always (every action of
// the admin page needs the admin key), the demo page in dev mode only (it logs in with ?uid=).
func (s *Server) serveWeb(ctx *fasthttp.RequestCtx, path string) {
	var name, ctype string
	switch path {
	case "/v1/sdk/liveroom.js":
		name, ctype = "web/liveroom.js", "text/javascript; charset=utf-8"
	case "/":
		name, ctype = "web/index.html", "text/html; charset=utf-8"
	case "/admin":
		name, ctype = "web/admin.html", "text/html; charset=utf-8"
	}
	if name == "web/index.html" && !s.cfg.Dev {
		writeError(ctx, rooms.Errorf(rooms.CodeNotFound, "the demo page is served in --dev mode only"))
		return
	}
	b, err := webFS.ReadFile(name)
	if err != nil {
		writeError(ctx, rooms.Errorf(rooms.CodeNotFound, "not found"))
		return
	}
	ctx.SetContentType(ctype)
	ctx.SetBody(b)
}
