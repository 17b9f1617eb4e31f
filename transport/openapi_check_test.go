package transport

// Every reply any test of this package receives is checked against openapi.json: TestMain
// loads the document (internal/apicheck), sets testHookReply, and after the tests lists the
// replies that do not match it, by the test that built the server, failing the run. A test
// cannot opt out: each server New builds while the hook is set checks its replies.

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
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

// elsewhere are the answers the document states once (its description and components) and
// every path gives: 404 off the document, 405 for a method the path lacks (404 first where the
// path is not served: dev-only, moved to the admin listener), the per-IP 429 before either,
// and the CORS preflight's answers.
var elsewhere = apicheck.Elsewhere{
	NoPath:   map[int]string{404: "NotFound", 429: "RateLimited"},
	NoMethod: map[int]string{404: "NotFound", 405: "MethodNotAllowed", 429: "RateLimited"},
	Options:  map[int]string{204: "Preflight", 403: "PreflightRefused"},
}

func loadAPIDoc() (*apicheck.Doc, error) { return apicheck.Load(openAPIDoc, elsewhere) }

func TestMain(m *testing.M) {
	// A document that does not load leaves the hook unset: TestOpenAPIDocument says why.
	if doc, err := loadAPIDoc(); err == nil {
		replies.doc = doc
		testHookReply = replies.hook
	}
	code := m.Run()
	if replies.report(os.Stderr, testing.Verbose()) && code == 0 {
		code = 1
	}
	os.Exit(code)
}

// replies is what the servers of this run answered, checked.
var replies = &replyLog{seen: map[string]int{}, exempted: map[string]string{}}

type replyLog struct {
	doc *apicheck.Doc

	mu       sync.Mutex
	checked  int
	seen     map[string]int      // what the replies were checked against -> how many
	failures map[string][]string // by test
	exempted map[string]string   // test -> why its replies' failures do not count
}

// exempt stops counting the failures of the replies t's servers receive: only for a test whose
// fake engine answers what the real one never does, saying why (the verbose report lists it).
func (l *replyLog) exempt(t *testing.T, why string) {
	name, _, _ := strings.Cut(t.Name(), "/")
	l.mu.Lock()
	defer l.mu.Unlock()
	l.exempted[name] = why
}

// hook is testHookReply: New calls it on the goroutine of the test (or benchmark) building
// the server, so the test's function is on the stack.
func (l *replyLog) hook() func(admin bool, ctx *fasthttp.RequestCtx) {
	test := callingTest()
	return func(admin bool, ctx *fasthttp.RequestCtx) { l.check(test, admin, ctx) }
}

func (l *replyLog) check(test string, admin bool, ctx *fasthttp.RequestCtx) {
	r := apicheck.Reply{Servers: []string{publicServer}, Method: string(ctx.Method()), Path: string(ctx.Path()),
		Status: ctx.Response.StatusCode(), Header: http.Header{}, Body: ctx.Response.Body()}
	listener := "public"
	if admin {
		r.Servers, listener = []string{adminServer, publicServer}, "admin"
	}
	ctx.Response.Header.VisitAll(func(k, v []byte) { r.Header.Add(string(k), string(v)) })
	what, err := l.doc.Check(r)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.checked++
	l.seen[what]++
	if _, ok := l.exempted[test]; err != nil && !ok {
		if l.failures == nil {
			l.failures = map[string][]string{}
		}
		body := string(r.Body)
		if len(body) > 300 {
			body = body[:300] + "..."
		}
		uri := tokenRE.ReplaceAllString(string(ctx.RequestURI()), "${1}<jwt>")
		l.failures[test] = append(l.failures[test], fmt.Sprintf("%s %s (%s listener) answered %d: %v\n      body: %s",
			r.Method, uri, listener, r.Status, err, body))
	}
}

// report writes the failures by test (and, verbose, what the replies covered); true if any.
func (l *replyLog) report(w io.Writer, verbose bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.doc == nil {
		return false
	}
	n := 0
	for _, f := range l.failures {
		n += len(f)
	}
	if n > 0 {
		fmt.Fprintf(w, "\nopenapi.json: %d of the %d replies the tests received do not match the document:\n", n, l.checked)
		for _, test := range slices.Sorted(maps.Keys(l.failures)) {
			fmt.Fprintf(w, "  %s:\n", test)
			for _, f := range l.failures[test] {
				fmt.Fprintf(w, "    %s\n", strings.TrimSpace(strings.ReplaceAll(f, "\n", "\n    ")))
			}
		}
	}
	if verbose {
		fmt.Fprintf(w, "openapi.json: %d replies checked, against %d (operation, status) pairs\n", l.checked, len(l.seen))
		for _, test := range slices.Sorted(maps.Keys(l.exempted)) {
			fmt.Fprintf(w, "openapi.json: the replies of %s do not count: %s\n", test, l.exempted[test])
		}
		reached := map[string]bool{}
		for what := range l.seen {
			if f := strings.Fields(what); len(f) >= 2 {
				reached[f[0]+" "+f[1]] = true
			}
		}
		for _, op := range l.doc.Operations() {
			if !reached[op.Method+" "+op.Path] {
				fmt.Fprintf(w, "openapi.json: no test reached %s %s\n", op.Method, op.Path)
			}
		}
	}
	return n > 0
}

var tokenRE = regexp.MustCompile(`([?&]token=)[^&]+`)

var testFuncRE = regexp.MustCompile(`\.((?:Test|Benchmark|Fuzz|Example)[A-Za-z0-9_]*)(?:\.|$)`)

// callingTest names the test function on the caller's stack ("?" when none is: a server
// built on a goroutine the test started).
func callingTest() string {
	pc := make([]uintptr, 64)
	frames := runtime.CallersFrames(pc[:runtime.Callers(2, pc)])
	for {
		f, more := frames.Next()
		if m := testFuncRE.FindStringSubmatch(f.Function); m != nil && strings.Contains(f.File, "_test.go") {
			return m[1]
		}
		if !more {
			return "?"
		}
	}
}
