package transport

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/liveroom/liveroom/internal/apicheck"
)

// TestOpenAPIDocument: openapi.json is an OpenAPI 3.1 document as far as apicheck.Load checks
// (parses, every $ref resolves, every schema compiles as 2020-12, path parameters agree with
// the templates, each operation lists its statuses) and names the components TestMain's
// reply check uses for the answers every path gives.
func TestOpenAPIDocument(t *testing.T) {
	if _, err := loadAPIDoc(); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
}

// TestOpenAPIRoutes: every entry of the router's tables (each method, on its listener) is an
// operation of the document served there, and every operation of the document is an entry:
// neither can drift from the other.
func TestOpenAPIRoutes(t *testing.T) {
	doc, err := loadAPIDoc()
	if err != nil {
		t.Fatal(err)
	}
	routed := map[string][]string{} // "GET /v1/route" -> the servers (listeners) whose table has it
	for _, table := range []struct {
		r      *router
		server string
	}{{publicRouter, publicServer}, {adminRouter, adminServer}} {
		for _, rt := range table.r.all {
			for i, name := range methodNames {
				if rt.methods&(1<<i) != 0 {
					routed[name+" "+rt.path] = append(routed[name+" "+rt.path], table.server)
				}
			}
		}
	}
	documented := map[string][]string{}
	for _, op := range doc.Operations() {
		documented[op.Method+" "+op.Path] = slices.Sorted(slices.Values(op.Servers))
	}
	for op, servers := range routed {
		slices.Sort(servers)
		got, ok := documented[op]
		switch {
		case !ok:
			t.Errorf("%s is answered (routes.go) but openapi.json does not have it", op)
		case !slices.Equal(got, servers):
			t.Errorf("%s: openapi.json serves it on %q, the router on %q", op, got, servers)
		}
	}
	for op := range documented {
		if _, ok := routed[op]; !ok {
			t.Errorf("openapi.json has %s, which no route answers", op)
		}
	}
	if len(routed) < 60 {
		t.Errorf("only %d operations routed: the tables were not read", len(routed))
	}
}

// TestOpenAPIServed: GET /v1/openapi.json is the embedded document with an ETag; the tag
// (strong, weak, in a list, or *) gets 304 without a body, another tag the document again.
func TestOpenAPIServed(t *testing.T) {
	h := newHarness(t, nil)
	get := func(method, inm string) resp {
		t.Helper()
		req, res := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(res)
		req.SetRequestURI("http://liveroom.test/v1/openapi.json")
		req.Header.SetMethod(method)
		if inm != "" {
			req.Header.Set("If-None-Match", inm)
		}
		if err := h.client.Do(req, res); err != nil {
			t.Fatal(err)
		}
		var hdr fasthttp.ResponseHeader
		res.Header.CopyTo(&hdr)
		return resp{status: res.StatusCode(), body: string(res.Body()), header: &hdr}
	}
	r := get("GET", "")
	tag := string(r.header.Peek("ETag"))
	if r.status != 200 || r.body != string(openAPIDoc) || string(r.header.ContentType()) != "application/json" || !strings.HasPrefix(tag, `"`) {
		t.Fatalf("GET: %d %q, ETag %q, %d bytes (want the %d of openapi.json)", r.status, r.header.ContentType(), tag, len(r.body), len(openAPIDoc))
	}
	for _, inm := range []string{tag, "W/" + tag, `"other", ` + tag, "*"} {
		if r := get("GET", inm); r.status != 304 || r.body != "" || string(r.header.Peek("ETag")) != tag {
			t.Errorf("If-None-Match %s: %d, %d bytes, ETag %q; want 304, none, %s", inm, r.status, len(r.body), r.header.Peek("ETag"), tag)
		}
	}
	if r := get("GET", `"other"`); r.status != 200 || r.body != string(openAPIDoc) {
		t.Errorf("another tag: %d, %d bytes; want 200 and the document", r.status, len(r.body))
	}
	if r := get("HEAD", ""); r.status != 200 || r.body != "" || string(r.header.Peek("ETag")) != tag {
		t.Errorf("HEAD: %d, %d bytes, ETag %q", r.status, len(r.body), r.header.Peek("ETag"))
	}
}

// TestReplyCheck: the check TestMain runs on every reply fails what does not match the
// document: a status not listed, a field not in the schema or a missing one, another content
// type, a required header missing, a body where there must be none, a path off the listener.
func TestReplyCheck(t *testing.T) {
	doc, err := loadAPIDoc()
	if err != nil {
		t.Fatal(err)
	}
	const route = `{"node":"n1","ws":"ws://127.0.0.1:8080/v1/ws"}`
	f := func(admin bool, method, path string, status int, header, body, wantErr string) {
		t.Helper()
		r := apicheck.Reply{Servers: []string{publicServer}, Method: method, Path: path, Status: status, Header: http.Header{}, Body: []byte(body)}
		if admin {
			r.Servers = []string{adminServer, publicServer}
		}
		for _, kv := range strings.Split(header, "\n") {
			if k, v, ok := strings.Cut(kv, ": "); ok {
				r.Header.Add(k, v)
			}
		}
		_, err := doc.Check(r)
		switch {
		case wantErr == "" && err != nil:
			t.Errorf("%s %s %d %s: %v", method, path, status, body, err)
		case wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)):
			t.Errorf("%s %s %d %s: error %v, want one saying %q", method, path, status, body, err, wantErr)
		}
	}
	json := "Content-Type: application/json"
	f(false, "GET", "/v1/route", 200, json, route, "")
	f(false, "GET", "/v1/route", 201, json, route, "status 201 is not one GET /v1/route lists")
	f(false, "GET", "/v1/route", 200, json, `{"node":"n1","wss":"ws://x"}`, "additional properties 'wss'")
	f(false, "GET", "/v1/route", 200, json, `{"node":"n1","ws":"http://x"}`, "does not match pattern")
	f(false, "GET", "/v1/route", 200, json, `{"node":"n1"}`, "missing property 'ws'")
	f(false, "GET", "/v1/route", 200, "Content-Type: text/plain", route, `content type "text/plain" is not one`)
	f(false, "GET", "/v1/route", 200, json, "", "no body")
	f(false, "GET", "/v1/route", 200, json, "{", "does not parse")
	f(false, "GET", "/v1/route", 400, json, `{"error":{"code":"bad_request","message":"m"}}`, "")
	f(false, "GET", "/v1/route", 400, json, `{"error":{"code":"forbidden","message":"m"}}`, "value must be 'bad_request'")
	f(false, "POST", "/v1/route", 405, json+"\nAllow: GET", `{"error":{"code":"bad_request","message":"m"}}`, "")
	f(false, "POST", "/v1/route", 405, json, `{"error":{"code":"bad_request","message":"m"}}`, "header Allow is missing")
	f(false, "POST", "/v1/route", 200, json, route, "the path has no POST operation")
	f(false, "GET", "/nope", 404, json, `{"error":{"code":"not_found","message":"m"}}`, "")
	f(false, "GET", "/nope", 200, json, route, "no path of the document matches")
	f(false, "OPTIONS", "/nope", 204, "Access-Control-Allow-Origin: https://a.test\nAccess-Control-Allow-Methods: GET, HEAD, POST, PUT, DELETE\nAccess-Control-Allow-Headers: Authorization, Content-Type\nAccess-Control-Max-Age: 600", "", "")
	f(false, "OPTIONS", "/nope", 204, "Access-Control-Allow-Origin: https://a.test", "", "header Access-Control-Max-Age is missing")
	f(false, "GET", "/v1/openapi.json", 304, `ETag: "abc"`, "", "")
	f(false, "GET", "/v1/openapi.json", 304, `ETag: "abc"`, "{}", "a 304 with a body")
	f(false, "HEAD", "/healthz", 200, json, "", "")
	f(false, "GET", "/debug/pprof/", 200, "Content-Type: text/html; charset=utf-8", "<html>", "no path of the document matches")
	f(true, "GET", "/debug/pprof/", 200, "Content-Type: text/html; charset=utf-8", "<html>", "")
	f(true, "GET", "/v1/route", 200, json, route, "") // the admin listener answers the public paths too
}

// TestReplyHook: the hook TestMain sets sees a server's replies and files a bad one under the
// test that built the server, with the request, the status and the schema's complaint.
func TestReplyHook(t *testing.T) {
	doc, err := loadAPIDoc()
	if err != nil {
		t.Fatal(err)
	}
	var log apicheck.Log
	onReply := replyChecker(doc, &log, apicheck.CallingTest())
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI("/v1/route?uid=u1&token=secret")
	ctx.Response.SetStatusCode(200)
	ctx.SetContentType("application/json")
	ctx.SetBodyString(`{"node":"n1","ws":"ws://x/v1/ws"}`)
	onReply(false, &ctx)
	ctx.SetBodyString(`{"node":"n1","ws":"ws://x/v1/ws","extra":1}`)
	onReply(false, &ctx)
	var out strings.Builder
	if !log.Report(&out, doc, false) {
		t.Fatal("the bad reply was not reported")
	}
	for _, want := range []string{"1 of the 2 replies", "TestReplyHook:", "GET /v1/route?uid=u1&token=<jwt> (public listener) answered 200",
		"additional properties 'extra'", `"extra":1`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the report does not say %q:\n%s", want, out.String())
		}
	}
	log.Exempt("TestReplyHook", "testing")
	onReply(false, &ctx)
	out.Reset()
	if log.Report(&out, doc, true); !strings.Contains(out.String(), "1 of the 3 replies") || !strings.Contains(out.String(), "do not count: testing") {
		t.Errorf("an exempted failure counted, or the exemption is not reported:\n%s", out.String())
	}
}
