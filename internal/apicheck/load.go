package apicheck

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Load reads an OpenAPI 3.1 document and checks what the tests rely on; the error lists every
// problem found, each with the JSON pointer where it is:
//   - it parses, `openapi` is 3.1.x, `info` has a title and a version;
//   - every `$ref` is local and resolves;
//   - every schema (components, parameters, headers, request and response bodies) compiles
//     as JSON Schema 2020-12, the dialect of OpenAPI 3.1 (its $refs resolved);
//   - each path template's {names} are exactly its `in: path` parameters, all required;
//   - operation ids are unique, tags and security schemes named are declared;
//   - each operation lists its answers by status code, each with a description. A `default`
//     or a range (4XX) would let a status nobody wrote down pass Check, so they are refused;
//   - `x-every-path`, when there, holds responses by status under no-path, no-method and
//     options (see Doc.Check).
func Load(b []byte) (*Doc, error) {
	raw, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("the document does not parse: %w", err)
	}
	root, ok := raw.(map[string]any)
	if !ok {
		return nil, errors.New("the document is not a JSON object")
	}
	l := &loader{root: root, c: jsonschema.NewCompiler(), schemas: map[string]*jsonschema.Schema{}, opIDs: map[string]string{}}
	l.c.DefaultDraft(jsonschema.Draft2020)
	if err := l.c.AddResource(docURL, raw); err != nil {
		return nil, err
	}
	d := l.doc()
	if len(l.errs) > 0 {
		return nil, errors.Join(l.errs...)
	}
	return d, nil
}

// docURL is the name the document is compiled under: schema errors show it.
const docURL = "openapi.json"

// everyPath is the extension that states the answers every path gives once, instead of under
// each operation: {"no-path": {"404": response}, "no-method": {...}, "options": {...}}.
const everyPath = "x-every-path"

type loader struct {
	root    map[string]any
	c       *jsonschema.Compiler
	schemas map[string]*jsonschema.Schema // by pointer
	opIDs   map[string]string             // operationId -> its pointer
	tags    map[string]bool
	schemes map[string]bool
	errs    []error
}

func (l *loader) fail(ptr, format string, args ...any) {
	l.errs = append(l.errs, fmt.Errorf("#%s: %s", ptr, fmt.Sprintf(format, args...)))
}

var versionRE = regexp.MustCompile(`^3\.1\.\d+$`)

func (l *loader) doc() *Doc {
	if v, _ := l.root["openapi"].(string); !versionRE.MatchString(v) {
		l.fail("/openapi", "%q is not 3.1.x", v)
	}
	info, _ := l.root["info"].(map[string]any)
	for _, k := range []string{"title", "version"} {
		if s, _ := info[k].(string); s == "" {
			l.fail("/info/"+k, "missing")
		}
	}
	l.refs("", l.root)
	comps, _ := l.root["components"].(map[string]any)
	schemas, _ := comps["schemas"].(map[string]any)
	for _, name := range sortedKeys(schemas) {
		l.schema(ptrJoin("/components/schemas", name))
	}
	l.schemes = names(comps["securitySchemes"])
	l.tags = map[string]bool{}
	tags, _ := l.root["tags"].([]any)
	for _, t := range tags {
		if m, ok := t.(map[string]any); ok {
			n, _ := m["name"].(string)
			l.tags[n] = true
		}
	}
	d := &Doc{}
	d.servers = l.servers("", l.root["servers"])
	if len(d.servers) == 0 {
		l.fail("/servers", "no server")
	}
	paths, ok := l.root["paths"].(map[string]any)
	if !ok {
		l.fail("/paths", "missing")
	}
	for _, tmpl := range sortedKeys(paths) {
		if p := l.pathItem(tmpl, paths[tmpl], d.servers); p != nil {
			d.paths = append(d.paths, p)
		}
	}
	d.everyPath = l.everyPath()
	return d
}

// everyPath reads x-every-path: kind -> status -> response.
func (l *loader) everyPath() map[string]map[int]*response {
	out := map[string]map[int]*response{}
	ext, ok := l.root[everyPath]
	if !ok {
		return out
	}
	m, _ := ext.(map[string]any)
	if m == nil {
		l.fail("/"+everyPath, "not an object")
	}
	for _, kind := range sortedKeys(m) {
		if kind == "description" {
			continue
		}
		kp := ptrJoin("/"+everyPath, kind)
		if kind != "no-path" && kind != "no-method" && kind != "options" {
			l.fail(kp, "not no-path, no-method or options")
			continue
		}
		out[kind] = map[int]*response{}
		byStatus, _ := m[kind].(map[string]any)
		for _, k := range sortedKeys(byStatus) {
			status, err := strconv.Atoi(k)
			if err != nil || status < 100 || status > 599 {
				l.fail(ptrJoin(kp, k), "not a status code")
				continue
			}
			if r := l.response(ptrJoin(kp, k), byStatus[k]); r != nil {
				out[kind][status] = r
			}
		}
	}
	return out
}

// refs checks every $ref under node (at ptr) is local and resolves.
func (l *loader) refs(ptr string, node any) {
	switch n := node.(type) {
	case map[string]any:
		if ref, ok := n["$ref"].(string); ok {
			if target, ok := strings.CutPrefix(ref, "#"); !ok || l.at(target) == nil {
				l.fail(ptr, "$ref %q does not resolve in the document", ref)
			}
		}
		for _, k := range sortedKeys(n) {
			l.refs(ptrJoin(ptr, k), n[k])
		}
	case []any:
		for i, v := range n {
			l.refs(ptrJoin(ptr, strconv.Itoa(i)), v)
		}
	}
}

var methodKeys = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func (l *loader) pathItem(tmpl string, node any, top []string) *pathItem {
	ptr := ptrJoin("/paths", tmpl)
	item, ok := node.(map[string]any)
	if !ok || !strings.HasPrefix(tmpl, "/") {
		l.fail(ptr, "not a path item, or the template does not start with /")
		return nil
	}
	p := &pathItem{tmpl: tmpl, segs: strings.Split(tmpl[1:], "/"), ops: map[string]*operation{}, servers: top}
	if s, ok := item["servers"]; ok {
		p.servers = l.servers(ptr+"/servers", s)
	}
	inPath := map[string]bool{}
	for _, s := range p.segs {
		if name, ok := param(s); ok {
			inPath[name] = true
		}
	}
	shared := l.params(ptr+"/parameters", item["parameters"])
	for _, k := range sortedKeys(item) {
		switch {
		case k == "summary" || k == "description" || k == "servers" || k == "parameters" || strings.HasPrefix(k, "x-"):
		case slices.Contains(methodKeys, k):
			op := l.operation(ptrJoin(ptr, k), item[k], shared, inPath)
			if op != nil {
				p.ops[strings.ToUpper(k)] = op
			}
		default:
			l.fail(ptrJoin(ptr, k), "not a field of a path item")
		}
	}
	if len(p.ops) == 0 {
		l.fail(ptr, "no operation")
	}
	return p
}

func (l *loader) operation(ptr string, node any, shared map[string]bool, inPath map[string]bool) *operation {
	o, ok := node.(map[string]any)
	if !ok {
		l.fail(ptr, "not an operation")
		return nil
	}
	op := &operation{responses: map[int]*response{}}
	op.id, _ = o["operationId"].(string)
	if op.id == "" {
		l.fail(ptr, "no operationId")
	} else if other, dup := l.opIDs[op.id]; dup {
		l.fail(ptr, "operationId %q is also #%s's", op.id, other)
	}
	l.opIDs[op.id] = ptr
	tags, _ := o["tags"].([]any)
	for _, t := range tags {
		if s, _ := t.(string); !l.tags[s] {
			l.fail(ptr+"/tags", "tag %q is not declared", s)
		}
	}
	security, _ := o["security"].([]any)
	for _, req := range security {
		for name := range names(req) {
			if !l.schemes[name] {
				l.fail(ptr+"/security", "security scheme %q is not declared", name)
			}
		}
	}
	declared := l.params(ptr+"/parameters", o["parameters"])
	for name := range shared {
		declared[name] = true
	}
	for name := range inPath {
		if !declared[name] {
			l.fail(ptr, "the path's {%s} is not a declared path parameter", name)
		}
	}
	for name := range declared {
		if !inPath[name] {
			l.fail(ptr, "path parameter %q is not in the path", name)
		}
	}
	if rb, ok := o["requestBody"]; ok {
		bp, body := l.resolve(ptr+"/requestBody", rb)
		l.content(bp, body["content"])
	}
	responses, _ := o["responses"].(map[string]any)
	if len(responses) == 0 {
		l.fail(ptr+"/responses", "no responses")
	}
	for _, k := range sortedKeys(responses) {
		status, err := strconv.Atoi(k)
		if err != nil || status < 100 || status > 599 {
			l.fail(ptrJoin(ptr+"/responses", k), "not a status code: list each status the operation answers (a default or a range would pass any)")
			continue
		}
		if r := l.response(ptrJoin(ptr+"/responses", k), responses[k]); r != nil {
			op.responses[status] = r
		}
	}
	return op
}

// params checks a parameter list and returns the names of its path parameters.
func (l *loader) params(ptr string, node any) map[string]bool {
	path := map[string]bool{}
	list, _ := node.([]any)
	for i, v := range list {
		pp, p := l.resolve(ptrJoin(ptr, strconv.Itoa(i)), v)
		if p == nil {
			continue
		}
		name, _ := p["name"].(string)
		in, _ := p["in"].(string)
		switch {
		case name == "":
			l.fail(pp, "a parameter without a name")
		case in == "path":
			if req, _ := p["required"].(bool); !req {
				l.fail(pp, "path parameter %q is not required: true", name)
			}
			path[name] = true
		case in != "query" && in != "header" && in != "cookie":
			l.fail(pp, "parameter %q is in %q", name, in)
		}
		if _, ok := p["schema"]; ok {
			l.schema(pp + "/schema")
		} else if _, ok := p["content"]; !ok {
			l.fail(pp, "parameter %q has neither schema nor content", name)
		}
	}
	return path
}

func (l *loader) response(ptr string, node any) *response {
	rp, o := l.resolve(ptr, node)
	if o == nil {
		return nil
	}
	if s, _ := o["description"].(string); s == "" {
		l.fail(rp, "a response without a description")
	}
	r := &response{at: rp, headers: map[string]header{}}
	hs, _ := o["headers"].(map[string]any)
	for _, name := range sortedKeys(hs) {
		hp, h := l.resolve(ptrJoin(rp+"/headers", name), hs[name])
		if h == nil {
			continue
		}
		req, _ := h["required"].(bool)
		var sch *jsonschema.Schema
		if _, ok := h["schema"]; ok {
			sch = l.schema(hp + "/schema")
		}
		r.headers[http.CanonicalHeaderKey(name)] = header{required: req, schema: sch}
	}
	r.content = l.content(rp, o["content"])
	return r
}

// content checks a content map (at ptr + "/content") and compiles its schemas.
func (l *loader) content(ptr string, node any) map[string]*jsonschema.Schema {
	out := map[string]*jsonschema.Schema{}
	m, _ := node.(map[string]any)
	for _, mt := range sortedKeys(m) {
		mp := ptrJoin(ptr+"/content", mt)
		if _, _, err := mime.ParseMediaType(mt); err != nil && !strings.HasSuffix(mt, "/*") {
			l.fail(mp, "not a media type: %v", err)
		}
		var sch *jsonschema.Schema
		if media, _ := m[mt].(map[string]any); media != nil && media["schema"] != nil {
			sch = l.schema(mp + "/schema")
		}
		out[mt] = sch
	}
	return out
}

// schema compiles the schema at ptr (once).
func (l *loader) schema(ptr string) *jsonschema.Schema {
	if s, ok := l.schemas[ptr]; ok {
		return s
	}
	s, err := l.c.Compile(docURL + "#" + (&url.URL{Fragment: ptr}).EscapedFragment())
	if err != nil {
		l.fail(ptr, "the schema does not compile: %v", err)
	}
	l.schemas[ptr] = s
	return s
}

func (l *loader) servers(ptr string, node any) []string {
	var urls []string
	list, _ := node.([]any)
	for i, v := range list {
		m, _ := v.(map[string]any)
		u, _ := m["url"].(string)
		if u == "" {
			l.fail(ptrJoin(ptr+"/servers", strconv.Itoa(i)), "a server without a url")
		}
		urls = append(urls, u)
	}
	if len(list) == 0 && ptr != "" {
		l.fail(ptr, "an empty server list")
	}
	return urls
}

// resolve follows node's $refs (node is at ptr) to an object: its pointer and itself; nil
// when it is not one (reported).
func (l *loader) resolve(ptr string, node any) (string, map[string]any) {
	for range 16 {
		o, ok := node.(map[string]any)
		if !ok {
			l.fail(ptr, "not an object")
			return ptr, nil
		}
		ref, ok := o["$ref"].(string)
		if !ok {
			return ptr, o
		}
		target, _ := strings.CutPrefix(ref, "#")
		if node = l.at(target); node == nil {
			return ptr, nil // reported by refs
		}
		ptr = target
	}
	l.fail(ptr, "$ref chain too long (a loop?)")
	return ptr, nil
}

// at returns the value at a JSON pointer of the document, nil when there is none.
func (l *loader) at(ptr string) any {
	var node any = l.root
	if ptr == "" {
		return node
	}
	if !strings.HasPrefix(ptr, "/") {
		return nil
	}
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		switch n := node.(type) {
		case map[string]any:
			node = n[tok]
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(n) {
				return nil
			}
			node = n[i]
		default:
			return nil
		}
		if node == nil {
			return nil
		}
	}
	return node
}

// ptrJoin appends tokens to a JSON pointer, escaping them (RFC 6901).
func ptrJoin(ptr string, toks ...string) string {
	for _, t := range toks {
		ptr += "/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(t)
	}
	return ptr
}

func names(node any) map[string]bool {
	out := map[string]bool{}
	m, _ := node.(map[string]any)
	for k := range m {
		out[k] = true
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// param returns the name of a {name} segment.
func param(seg string) (string, bool) {
	if len(seg) > 2 && seg[0] == '{' && seg[len(seg)-1] == '}' {
		return seg[1 : len(seg)-1], true
	}
	return "", false
}
