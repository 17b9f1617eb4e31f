package transport

// Every reply any test of this package receives is checked against openapi.json: TestMain
// loads the document (internal/apicheck), sets testHookReply, and after the tests lists the
// replies that do not match it, by the test that built the server, failing the run. A test
// cannot opt out: each server New builds while the hook is set checks its replies (a
// benchmark's does not: it would measure the check).

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/liveroom/liveroom/internal/apicheck"
)

// The URLs of openapi.json's servers: a path the document gives no servers of its own is on
// the public listener; the admin listener answers its own paths and then the public ones.
const (
	publicServer = "{scheme}://{host}"
	adminServer  = "http://{admin}"
)

func loadAPIDoc() (*apicheck.Doc, error) { return apicheck.Load(openAPIDoc) }

func TestMain(m *testing.M) {
	// A document that does not load leaves the hook unset: TestOpenAPIDocument says why.
	doc, err := loadAPIDoc()
	if err == nil {
		testHookReply = func() func(bool, *fasthttp.RequestCtx) {
			test := apicheck.CallingTest()
			if strings.HasPrefix(test, "Benchmark") {
				return nil // a benchmark measures the server, not the check's allocations
			}
			return replyChecker(doc, replies, test)
		}
	}
	code := m.Run()
	if doc != nil && replies.Report(os.Stderr, doc, testing.Verbose()) && code == 0 {
		code = 1
	}
	os.Exit(code)
}

// replies is what the servers of this run answered, checked.
var replies = &apicheck.Log{}

// exemptReplies stops counting the failures of the replies t's servers receive: only for a
// test whose fake engine answers what the real one never does, saying why.
func exemptReplies(t *testing.T, why string) { replies.Exempt(t.Name(), why) }

// replyChecker is a server's onReply: New calls testHookReply on the goroutine of the test
// building the server, so test names it.
func replyChecker(doc *apicheck.Doc, log *apicheck.Log, test string) func(admin bool, ctx *fasthttp.RequestCtx) {
	return func(admin bool, ctx *fasthttp.RequestCtx) {
		r := apicheck.Reply{Servers: []string{publicServer}, Method: string(ctx.Method()), Path: string(ctx.Path()),
			Status: ctx.Response.StatusCode(), Header: http.Header{}, Body: ctx.Response.Body()}
		listener := " (public listener)"
		if admin {
			r.Servers, listener = []string{adminServer, publicServer}, " (admin listener)"
		}
		for k, v := range ctx.Response.Header.All() {
			r.Header.Add(string(k), string(v))
		}
		what, err := doc.Check(r)
		log.Add(test, what, r, string(ctx.RequestURI())+listener, err)
	}
}
