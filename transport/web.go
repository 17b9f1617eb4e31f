package transport

import (
	"embed"

	"github.com/valyala/fasthttp"

	"github.com/liveroom/liveroom/rooms"
)

//go:embed web
var webFS embed.FS

// webFile is one embedded file and where it is served.
type webFile struct {
	name, ctype string
	devOnly     bool
}

// webFiles: the JS client and the admin page always (every action of the admin page needs the
// admin key), the demo page in dev mode only (it logs in with ?uid=).
var webFiles = map[string]webFile{
	"/v1/sdk/liveroom.js": {name: "web/liveroom.js", ctype: "text/javascript; charset=utf-8"},
	"/":                   {name: "web/index.html", ctype: "text/html; charset=utf-8", devOnly: true},
	"/admin":              {name: "web/admin.html", ctype: "text/html; charset=utf-8"},
}

// serveWeb serves the embedded file of the request's path (GET or HEAD, checked by the router).
func (s *Server) serveWeb(ctx *fasthttp.RequestCtx) {
	f, ok := webFiles[string(ctx.Path())]
	if ok && f.devOnly && !s.cfg.Dev {
		writeError(ctx, rooms.Errorf(rooms.CodeNotFound, "the demo page is served in --dev mode only"))
		return
	}
	var b []byte
	var err error
	if ok {
		b, err = webFS.ReadFile(f.name)
	}
	if !ok || err != nil {
		writeError(ctx, errNoEndpoint)
		return
	}
	ctx.SetContentType(f.ctype)
	ctx.Response.Header.Set("Cache-Control", "no-cache")
	ctx.SetBody(b)
}
