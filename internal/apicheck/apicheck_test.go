package apicheck

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// base is a small valid document; the tests of Load break one thing of it at a time.
const base = `{
  "openapi": "3.1.0",
  "info": {"title": "t", "version": "1"},
  "servers": [{"url": "http://{host}", "variables": {"host": {"default": "h"}}}],
  "tags": [{"name": "things"}],
  "x-every-path": {"description": "d", "no-path": {"404": {"$ref": "#/components/responses/NotFound"}}, "no-method": {"404": {"$ref": "#/components/responses/NotFound"}}},
  "paths": {
    "/things/{id}": {
      "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"$ref": "#/components/schemas/ID"}}],
      "get": {
        "operationId": "thing", "tags": ["things"], "security": [{"key": []}],
        "responses": {
          "200": {"description": "d", "headers": {"ETag": {"required": true, "schema": {"pattern": "^\"[a-z]+\"$"}}},
                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
          "404": {"$ref": "#/components/responses/NotFound"}
        }
      }
    },
    "/things/all": {"get": {"operationId": "all", "responses": {"200": {"description": "d", "content": {"text/plain": {"schema": {"type": "string"}}}}}}}
  },
  "components": {
    "schemas": {
      "ID": {"type": "string", "pattern": "^[a-z]+$"},
      "Thing": {"type": "object", "required": ["id"], "additionalProperties": false, "properties": {"id": {"$ref": "#/components/schemas/ID"}}}
    },
    "responses": {"NotFound": {"description": "d", "content": {"application/json": {"schema": {"type": "object"}}}}},
    "securitySchemes": {"key": {"type": "http", "scheme": "bearer"}}
  }
}`

func TestLoad(t *testing.T) {
	if _, err := Load([]byte(base)); err != nil {
		t.Fatalf("the base document: %v", err)
	}
	f := func(old, new, wantErr string) {
		t.Helper()
		if !strings.Contains(base, old) {
			t.Fatalf("%q is not in the base document", old)
		}
		_, err := Load([]byte(strings.Replace(base, old, new, 1)))
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%s -> %s: error %v, want one saying %q", old, new, err, wantErr)
		}
	}
	f(`"3.1.0"`, `"3.0.3"`, `#/openapi: "3.0.3" is not 3.1.x`)
	f(`"title": "t"`, `"title": ""`, "#/info/title: missing")
	f(`"#/components/schemas/Thing"`, `"#/components/schemas/Thin"`, `$ref "#/components/schemas/Thin" does not resolve`)
	f(`"#/components/responses/NotFound"`, `"other.json#/x"`, `$ref "other.json#/x" does not resolve`)
	f(`"pattern": "^[a-z]+$"`, `"pattern": "^[a-z+$"`, "#/components/schemas/ID: the schema does not compile")
	f(`"type": "string"}}}}}}}`, `"type": "strung"}}}}}}}`, "the schema does not compile")
	f(`"404": {"$ref"`, `"default": {"$ref"`, "not a status code")
	f(`"404": {"$ref"`, `"4XX": {"$ref"`, "not a status code")
	f(`"/things/{id}"`, `"/things/{key}"`, "the path's {key} is not a declared path parameter")
	f(`"in": "path", "required": true`, `"in": "path", "required": false`, `path parameter "id" is not required: true`)
	f(`"operationId": "all"`, `"operationId": "thing"`, `operationId "thing" is also`)
	f(`"operationId": "all", `, ``, "no operationId")
	f(`"tags": ["things"]`, `"tags": ["thongs"]`, `tag "thongs" is not declared`)
	f(`"security": [{"key": []}]`, `"security": [{"token": []}]`, `security scheme "token" is not declared`)
	f(`{"description": "d", "headers"`, `{"headers"`, "a response without a description")
	f(`"get": {"operationId": "all"`, `"got": {"operationId": "all"`, "not a field of a path item")
	f(`"no-path": {"404": {"$ref": "#/components/responses/NotFound"}}`, `"no-path": {"404": {"$ref": "#/components/responses/Gone"}}`, `$ref "#/components/responses/Gone" does not resolve`)
	f(`"no-path": {"404"`, `"no-path": {"4XX"`, "#/x-every-path/no-path/4XX: not a status code")
	f(`"no-method": {`, `"no-methods": {`, "not no-path, no-method or options")
}

func TestCheck(t *testing.T) {
	d, err := Load([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	f := func(method, path string, status int, header, body, wantWhat, wantErr string) {
		t.Helper()
		r := Reply{Servers: []string{"http://{host}"}, Method: method, Path: path, Status: status, Header: http.Header{}, Body: []byte(body)}
		for _, kv := range strings.Split(header, "\n") {
			if k, v, ok := strings.Cut(kv, ": "); ok {
				r.Header.Add(k, v)
			}
		}
		what, err := d.Check(r)
		if what != wantWhat {
			t.Errorf("%s %s %d: checked against %q, want %q", method, path, status, what, wantWhat)
		}
		if wantErr == "" && err != nil || wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)) {
			t.Errorf("%s %s %d %s: error %v, want %q", method, path, status, body, err, wantErr)
		}
	}
	const ok = "Content-Type: application/json\nETag: \"abc\""
	f("GET", "/things/abc", 200, ok, `{"id":"abc"}`, "GET /things/{id} 200", "")
	f("GET", "/things/abc", 200, ok, `{"id":"ABC"}`, "GET /things/{id} 200", "does not match pattern")
	f("GET", "/things/abc", 200, ok, `{"id":"abc","x":1}`, "GET /things/{id} 200", "additional properties 'x'")
	f("GET", "/things/abc", 200, "Content-Type: application/json", `{"id":"abc"}`, "GET /things/{id} 200", "header Etag is missing")
	f("GET", "/things/abc", 200, "Content-Type: application/json\nETag: abc", `{"id":"abc"}`, "GET /things/{id} 200", "header Etag")
	f("GET", "/things/abc", 200, "Content-Type: text/html\nETag: \"abc\"", `{"id":"abc"}`, "GET /things/{id} 200", `content type "text/html" is not one`)
	f("HEAD", "/things/abc", 404, "", "", "HEAD /things/abc 404 (every path)", "")
	f("GET", "/things/abc", 500, ok, `{}`, "GET /things/{id} 500", "status 500 is not one GET /things/{id} lists ([200 404])")
	f("GET", "/things/abc", 404, "Content-Type: application/json", `{}`, "GET /things/{id} 404", "")
	f("GET", "/things/all", 200, "Content-Type: text/plain; charset=utf-8", `all of them`, "GET /things/all 200", "") // the literal path wins
	f("GET", "/things/all", 200, "Content-Type: text/plain", ``, "GET /things/all 200", "no body where the document has")
	f("POST", "/things/abc", 404, "Content-Type: application/json", `{}`, "POST /things/abc 404 (every path)", "")
	f("POST", "/things/abc", 405, "Content-Type: application/json", `{}`, "POST /things/abc 405 (every path)", "the path has no POST operation, and 405 is not in x-every-path/no-method ([404])")
	f("GET", "/nothing", 404, "Content-Type: application/json", `[]`, "GET /nothing 404 (every path)", "want object")
	if _, err := d.Check(Reply{Servers: []string{"http://other"}, Method: "GET", Path: "/things/abc", Status: 200}); err == nil ||
		!strings.Contains(err.Error(), "no path of the document matches") {
		t.Errorf("a path served elsewhere: %v", err)
	}
	if _, err := d.Check(Reply{Method: "GET", Path: "/things/abc", Status: 500}); err == nil || !strings.Contains(err.Error(), "status 500") {
		t.Errorf("no servers (every path): %v", err)
	}
	if ops := d.Operations(); len(ops) != 2 || ops[0].Path != "/things/all" || ops[1].Method != "GET" || ops[1].Servers[0] != "http://{host}" {
		t.Errorf("Operations: %+v", ops)
	}
}

// TestTransport: a client through Transport gets the reply as sent, and the Log has it under
// the calling test, a bad one as a failure.
func TestTransport(t *testing.T) {
	d, err := Load([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("ETag", `"abc"`)
		fmt.Fprintf(w, `{"id":%q}`, strings.TrimPrefix(r.URL.Path, "/things/"))
	}))
	defer srv.Close()
	var log Log
	c := &http.Client{Transport: &Transport{Doc: d, Log: &log, Base: http.DefaultTransport}}
	for _, id := range []string{"abc", "ABC"} {
		resp, err := c.Get(srv.URL + "/things/" + id)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != `{"id":"`+id+`"}` {
			t.Errorf("the client read %s", b)
		}
	}
	var out strings.Builder
	if !log.Report(&out, d, false) {
		t.Fatal("the bad reply was not reported")
	}
	for _, want := range []string{"1 of the 2 replies", "TestTransport:", "GET /things/ABC (127.0.0.1:", "does not match pattern"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the report does not say %q:\n%s", want, out.String())
		}
	}
}

func TestCallingTest(t *testing.T) {
	helper := func() string { return CallingTest() }
	if got := helper(); got != "TestCallingTest" {
		t.Errorf("from a helper: %q", got)
	}
	got := make(chan string)
	go func() { got <- CallingTest() }()
	if g := <-got; g != "TestCallingTest" {
		t.Errorf("from a closure of the test on its own goroutine: %q", g)
	}
	go callingTestOn(got)
	if g := <-got; g != "?" {
		t.Errorf("from a goroutine without the test's code: %q, want ?", g)
	}
}

func callingTestOn(ch chan<- string) { ch <- CallingTest() }
