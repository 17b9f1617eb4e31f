package transport

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"strings"

	"github.com/valyala/fasthttp"
)

// The HTTP API's description, an OpenAPI 3.1 document served at `GET /v1/openapi.json`. It is
// ours, written by hand beside the router; PROTOCOL.md stays the binding contract (the frames
// of /v1/ws are described there only). The tests keep the two true to each other: every
// entry of the router's tables is in the document and every path of the document is one
// (TestOpenAPIRoutes), and every reply the package's tests receive validates against it
// (openapi_check_test.go).

//go:embed openapi.json
var openAPIDoc []byte

// openAPIETag names the document's bytes: a client (or a proxy) revalidates with
// If-None-Match and gets 304 until a new binary serves another document.
var openAPIETag = func() string {
	h := sha256.Sum256(openAPIDoc)
	return `"` + base64.RawURLEncoding.EncodeToString(h[:12]) + `"`
}()

// serveOpenAPI is `GET /v1/openapi.json` (anyone): the document, cacheable for an hour.
func serveOpenAPI(ctx *fasthttp.RequestCtx) {
	h := &ctx.Response.Header
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("ETag", openAPIETag)
	if inm := ctx.Request.Header.Peek("If-None-Match"); len(inm) > 0 && etagMatches(string(inm), openAPIETag) {
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		return
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(openAPIDoc)
}

// etagMatches reports whether an If-None-Match value (a list of tags, weak or strong, or
// "*") names tag (RFC 9110 section 13.1.2: the weak comparison).
func etagMatches(header, tag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == tag {
			return true
		}
	}
	return false
}
