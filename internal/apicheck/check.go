package apicheck

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Doc is a document Load read and checked.
type Doc struct {
	servers   []string // the top-level servers' URLs
	paths     []*pathItem
	everyPath map[string]map[int]*response // x-every-path: "no-path", "no-method", "options" -> status -> response
}

type pathItem struct {
	tmpl    string
	segs    []string // tmpl split at '/'
	servers []string // the path's own servers' URLs, else the document's
	ops     map[string]*operation
}

type operation struct {
	id        string
	responses map[int]*response
}

type response struct {
	at      string                        // the JSON pointer of the response object
	headers map[string]header             // by canonical name
	content map[string]*jsonschema.Schema // media type -> schema (nil: none given)
}

type header struct {
	required bool
	schema   *jsonschema.Schema
}

// Reply is one answer of the server as the client saw it.
type Reply struct {
	// Servers are the URLs, as the document's servers write them, of the listener that
	// answered: a path is looked up among those served there. nil: among every path.
	Servers []string
	Method  string // upper case
	Path    string // decoded, no query
	Status  int
	Header  http.Header
	Body    []byte
}

// Operation is one path and method of the document.
type Operation struct {
	Path, Method string
	Servers      []string // where it is served: the path's servers, else the document's
}

// Operations lists the document's operations, by path then method.
func (d *Doc) Operations() []Operation {
	var out []Operation
	for _, p := range d.paths {
		for _, m := range slices.Sorted(maps.Keys(p.ops)) {
			out = append(out, Operation{Path: p.tmpl, Method: m, Servers: p.servers})
		}
	}
	return out
}

// Check validates r against the response the document gives for its path, method and status:
// a status not listed fails; each documented header must be there if required and match its
// schema; a body must have a documented content type, and a JSON one must validate against
// its schema (HEAD: the body is not looked at; 101, 204, 304: there must be none).
//
// A path with no operation for the method is checked against x-every-path: "options" for an
// OPTIONS request, then "no-method" (the path is in the document) or "no-path" (it is not,
// for r.Servers). what names what r was checked against ("GET /v1/route 200",
// "POST /v1/ws 405 (every path)").
func (d *Doc) Check(r Reply) (what string, err error) {
	p := d.match(r.Path, r.Servers)
	var resp *response
	if op := opOf(p, r.Method); op != nil {
		what = fmt.Sprintf("%s %s %d", r.Method, p.tmpl, r.Status)
		if resp = op.responses[r.Status]; resp == nil {
			return what, fmt.Errorf("status %d is not one %s %s lists (%v)", r.Status, r.Method, p.tmpl, slices.Sorted(maps.Keys(op.responses)))
		}
	} else {
		kind, where := "no-method", "the path has no "+r.Method+" operation"
		if p == nil {
			kind, where = "no-path", "no path of the document matches on this listener"
		}
		what = fmt.Sprintf("%s %s %d (every path)", r.Method, r.Path, r.Status)
		if r.Method == http.MethodOptions {
			resp = d.everyPath["options"][r.Status]
		}
		if resp == nil {
			resp = d.everyPath[kind][r.Status]
		}
		if resp == nil {
			return what, fmt.Errorf("%s, and %d is not in %s/%s (%v)", where, r.Status, everyPath, kind, slices.Sorted(maps.Keys(d.everyPath[kind])))
		}
	}
	return what, resp.check(r)
}

func opOf(p *pathItem, method string) *operation {
	if p == nil {
		return nil
	}
	return p.ops[method]
}

func (resp *response) check(r Reply) error {
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}
	for _, name := range slices.Sorted(maps.Keys(resp.headers)) {
		h := resp.headers[name]
		vals := r.Header.Values(name)
		if len(vals) == 0 {
			if h.required {
				fail("header %s is missing", name)
			}
			continue
		}
		if h.schema != nil {
			if err := h.schema.Validate(strings.Join(vals, ", ")); err != nil {
				fail("header %s: %v", name, err)
			}
		}
	}
	switch {
	case r.Method == http.MethodHead:
	case r.Status == 101 || r.Status == 204 || r.Status == 304:
		if len(r.Body) > 0 {
			fail("a %d with a body (%d bytes)", r.Status, len(r.Body))
		}
	case len(resp.content) == 0:
		if len(r.Body) > 0 {
			fail("a body (%d bytes, %s) where the document has none", len(r.Body), r.Header.Get("Content-Type"))
		}
	case len(r.Body) == 0:
		fail("no body where the document has %v", slices.Sorted(maps.Keys(resp.content)))
	default:
		if err := resp.checkBody(r); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("against #%s: %w", resp.at, errors.Join(errs...))
	}
	return nil
}

func (resp *response) checkBody(r Reply) error {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return fmt.Errorf("content type %q: %v", ct, err)
	}
	sch, ok := resp.content[mt]
	if !ok {
		major, _, _ := strings.Cut(mt, "/")
		if sch, ok = resp.content[major+"/*"]; !ok {
			sch, ok = resp.content["*/*"]
		}
	}
	if !ok {
		return fmt.Errorf("content type %q is not one the document has (%v)", mt, slices.Sorted(maps.Keys(resp.content)))
	}
	if sch == nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return nil // only JSON bodies are validated
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(r.Body))
	if err != nil {
		return fmt.Errorf("the %s body does not parse: %v", mt, err)
	}
	return sch.Validate(v)
}

// match returns the path of the document served on one of servers that path matches ({name}
// matches one segment, empty included), preferring the one with the most literal segments
// (/debug/pprof/cmdline over /debug/pprof/{profile}); nil when none.
func (d *Doc) match(path string, servers []string) *pathItem {
	if !strings.HasPrefix(path, "/") {
		return nil
	}
	segs := strings.Split(path[1:], "/")
	var best *pathItem
	bestLit := -1
	for _, p := range d.paths {
		if len(p.segs) != len(segs) || servers != nil && !served(p.servers, servers) {
			continue
		}
		lit := 0
		for i, s := range p.segs {
			if _, ok := param(s); ok {
				continue
			}
			if s != segs[i] {
				lit = -1
				break
			}
			lit++
		}
		if lit > bestLit {
			best, bestLit = p, lit
		}
	}
	return best
}

func served(on, servers []string) bool {
	for _, s := range servers {
		if slices.Contains(on, s) {
			return true
		}
	}
	return false
}
