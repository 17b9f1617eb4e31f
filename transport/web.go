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
// admin key), the demo page in dev mode only (it logs in with ?uid=). The pages' scripts and
// styles are files of their own, so that the policy below needs no 'unsafe-inline'.
var webFiles = map[string]webFile{
	"/v1/sdk/liveroom.js": {name: "web/liveroom.js", ctype: ctypeJS},
	"/":                   {name: "web/index.html", ctype: ctypeHTML, devOnly: true},
	"/demo.js":            {name: "web/demo.js", ctype: ctypeJS, devOnly: true},
	"/demo.css":           {name: "web/demo.css", ctype: ctypeCSS, devOnly: true},
	"/admin":              {name: "web/admin.html", ctype: ctypeHTML},
	"/admin.js":           {name: "web/admin.js", ctype: ctypeJS},
	"/admin.css":          {name: "web/admin.css", ctype: ctypeCSS},
}

const (
	ctypeHTML = "text/html; charset=utf-8"
	ctypeJS   = "text/javascript; charset=utf-8"
	ctypeCSS  = "text/css; charset=utf-8"
)

// contentPolicy is the Content-Security-Policy of every embedded file: scripts, styles and
// connections from this origin only ('self' covers the same host's ws:// and wss:// in CSP
// Level 3), no plugins, no <base> or form posts elsewhere, and no framing (clickjacking of the
// admin page). The pages run no inline script or style.
const contentPolicy = "default-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; " +
	"form-action 'self'; frame-ancestors 'none'"

// serveWeb serves the embedded file of the request's path (GET or HEAD, checked by the router)
// with the security headers.
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
	h := &ctx.Response.Header
	ctx.SetContentType(f.ctype)
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Security-Policy", contentPolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	ctx.SetBody(b)
}
