package web

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// get serves path as a GET would reach Serve.
func get(path string, dev bool) (*fasthttp.RequestCtx, error) {
	ctx := &fasthttp.RequestCtx{}
	ctx.Request.Header.SetMethod("GET")
	ctx.Request.SetRequestURI(path)
	return ctx, Serve(ctx, dev)
}

func TestServe(t *testing.T) {
	f := func(path string, dev bool, ctype string, want error) {
		t.Helper()
		ctx, err := get(path, dev)
		if !errors.Is(err, want) {
			t.Fatalf("%s (dev %v): %v, want %v", path, dev, err, want)
		}
		if want != nil {
			if len(ctx.Response.Body()) != 0 || len(ctx.Response.Header.Peek("Content-Security-Policy")) != 0 {
				t.Errorf("%s (dev %v): wrote a response with %v", path, dev, err)
			}
			return
		}
		if got := string(ctx.Response.Header.ContentType()); got != ctype || len(ctx.Response.Body()) == 0 {
			t.Errorf("%s (dev %v): %q, %d bytes; want %q", path, dev, got, len(ctx.Response.Body()), ctype)
		}
		if got := string(ctx.Response.Header.Peek("Cache-Control")); got != "no-cache" {
			t.Errorf("%s: Cache-Control %q", path, got)
		}
		if !Has(path) {
			t.Errorf("%s served but not Has", path)
		}
	}
	f("/", false, "", ErrDevOnly)
	f("/demo.js", false, "", ErrDevOnly)
	f("/demo.css", false, "", ErrDevOnly)
	f("/demo_view.js", false, "", ErrDevOnly)
	f("/admin", false, "text/html; charset=utf-8", nil)
	f("/admin.js", false, "text/javascript; charset=utf-8", nil)
	f("/admin.css", false, "text/css; charset=utf-8", nil)
	f("/v1/sdk/liveroom.js", false, "text/javascript; charset=utf-8", nil)
	f("/v1/sdk/liveroom.d.ts", false, "application/typescript; charset=utf-8", nil)
	f("/v1/sdk/package.json", false, "application/json", nil)
	f("/", true, "text/html; charset=utf-8", nil)
	f("/demo.js", true, "text/javascript; charset=utf-8", nil)
	f("/demo.css", true, "text/css; charset=utf-8", nil)
	f("/demo_view.js", true, "text/javascript; charset=utf-8", nil)
	f("/index.html", true, "", ErrNotFound)
	f("/web/liveroom.js", true, "", ErrNotFound)
	f("/liveroom.js", true, "", ErrNotFound)
	if Has("/index.html") || Has("/liveroom.js") {
		t.Error("Has a path nothing is served at")
	}
}

// TestServeSecurityHeaders: the pages are served with a Content-Security-Policy that allows
// this origin only and no framing, X-Frame-Options, nosniff and no referrer (the probe found
// none), and the pages hold no inline script, style or handler the policy would block.
func TestServeSecurityHeaders(t *testing.T) {
	for path := range webFiles {
		ctx, err := get(path, true)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		h, body := &ctx.Response.Header, string(ctx.Response.Body())
		csp := string(h.Peek("Content-Security-Policy"))
		for _, want := range []string{"default-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "object-src 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe") {
			t.Errorf("%s: CSP %q", path, csp)
		}
		for k, want := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"} {
			if got := string(h.Peek(k)); got != want {
				t.Errorf("%s: %s %q, want %q", path, k, got, want)
			}
		}
		if !strings.HasPrefix(string(h.ContentType()), "text/html") {
			continue
		}
		// Under this policy inline code does not run: every script has a src, no <style>, no
		// style or on* attributes.
		for _, m := range regexp.MustCompile(`(?is)<script([^>]*)>(.*?)</script>`).FindAllStringSubmatch(body, -1) {
			if !strings.Contains(m[1], " src=") || strings.TrimSpace(m[2]) != "" {
				t.Errorf("%s: inline script %.60q", path, m[0])
			}
		}
		if m := regexp.MustCompile(`(?i)<style|\sstyle=|\son[a-z]+=|javascript:`).FindString(body); m != "" {
			t.Errorf("%s: inline code %q", path, m)
		}
	}
}
