package web

import (
	"embed"
	"errors"
	"slices"

	"github.com/valyala/fasthttp"
)

//go:embed liveroom.js liveroom.d.ts package.json index.html demo.js demo_view.js demo.css admin.html admin.js admin.css
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
	"/v1/sdk/liveroom.js":   {name: "liveroom.js", ctype: ctypeJS},
	"/v1/sdk/liveroom.d.ts": {name: "liveroom.d.ts", ctype: ctypeTS},
	"/v1/sdk/package.json":  {name: "package.json", ctype: ctypeJSON},
	"/":                     {name: "index.html", ctype: ctypeHTML, devOnly: true},
	"/demo.js":              {name: "demo.js", ctype: ctypeJS, devOnly: true},
	"/demo_view.js":         {name: "demo_view.js", ctype: ctypeJS, devOnly: true},
	"/demo.css":             {name: "demo.css", ctype: ctypeCSS, devOnly: true},
	"/admin":                {name: "admin.html", ctype: ctypeHTML},
	"/admin.js":             {name: "admin.js", ctype: ctypeJS},
	"/admin.css":            {name: "admin.css", ctype: ctypeCSS},
}

const (
	ctypeHTML = "text/html; charset=utf-8"
	ctypeJS   = "text/javascript; charset=utf-8"
	ctypeCSS  = "text/css; charset=utf-8"
	ctypeTS   = "application/typescript; charset=utf-8"
	ctypeJSON = "application/json"
)

// contentPolicy is the Content-Security-Policy of every embedded file: scripts, styles and
// connections from this origin only ('self' covers the same host's ws:// and wss:// in CSP
// Level 3), no plugins, no <base> or form posts elsewhere, and no framing (clickjacking of the
// admin page). Images may also come from https: and data: URLs: speakers' avatars are URLs
// that the app's tokens carry in meta (PROTOCOL.md 8.5). The pages run no inline script or
// style.
const contentPolicy = "default-src 'self'; connect-src 'self'; img-src 'self' https: data:; object-src 'none'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// ErrNotFound: no file is served at the request's path.
var ErrNotFound = errors.New("no embedded file at this path")

// ErrDevOnly: the file of the request's path (the demo page) is served in dev mode only.
var ErrDevOnly = errors.New("served in dev mode only")

// Has reports whether a file is served at path, in dev mode or always: the paths a router
// hands to Serve.
func Has(path string) bool {
	_, ok := webFiles[path]
	return ok
}

// Paths returns every path a file is served at (dev-only ones too), sorted: the router's
// table lists them.
func Paths() []string {
	out := make([]string, 0, len(webFiles))
	for p := range webFiles {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// Serve serves the embedded file of the request's path (GET or HEAD, checked by the router)
// with the security headers; dev serves the demo page too. On ErrNotFound and ErrDevOnly it
// writes nothing: the caller answers in its own error format.
func Serve(ctx *fasthttp.RequestCtx, dev bool) error {
	f, ok := webFiles[string(ctx.Path())]
	if ok && f.devOnly && !dev {
		return ErrDevOnly
	}
	var b []byte
	var err error
	if ok {
		b, err = webFS.ReadFile(f.name)
	}
	if !ok || err != nil {
		return ErrNotFound
	}
	h := &ctx.Response.Header
	ctx.SetContentType(f.ctype)
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Security-Policy", contentPolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	ctx.SetBody(b)
	return nil
}
