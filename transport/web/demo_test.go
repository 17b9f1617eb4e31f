package web

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Every script, style and module the demo page loads is served in dev mode with its content
// type, so the page (and its imports: the SDK and demo_view.js) loads as a whole.
func TestDemoPageAssets(t *testing.T) {
	page, _ := webFS.ReadFile("index.html")
	demo, _ := webFS.ReadFile("demo.js")
	var refs []string
	for _, m := range regexp.MustCompile(`(?:src|href)="(/[^"]*)"`).FindAllStringSubmatch(string(page), -1) {
		refs = append(refs, m[1])
	}
	for _, m := range regexp.MustCompile(`(?m)^import .* from "(/[^"]+)";`).FindAllStringSubmatch(string(demo), -1) {
		refs = append(refs, m[1])
	}
	want := map[string]string{"/demo.css": ctypeCSS, "/demo.js": ctypeJS, "/v1/sdk/liveroom.js": ctypeJS, "/demo_view.js": ctypeJS}
	for _, ref := range refs {
		ctx, err := get(ref, true)
		if err != nil {
			t.Errorf("the demo page loads %s: %v", ref, err)
			continue
		}
		if got := string(ctx.Response.Header.ContentType()); want[ref] != "" && got != want[ref] {
			t.Errorf("%s: %s, want %s", ref, got, want[ref])
		}
		delete(want, ref)
	}
	if len(want) != 0 {
		t.Errorf("the demo page does not load %v (found %v)", want, refs)
	}
	// The elements the page's script and the browser test (e2e/browser_test.go) use.
	for _, id := range []string{"stage", "online", "gifts", "likes", "like", "hearts", "pinned", "notices", "banner",
		"state", "chat", "sendForm", "text", "devToggle", "panel", "skipped", "dropped"} {
		if !strings.Contains(string(page), `id="`+id+`"`) {
			t.Errorf("index.html has no #%s", id)
		}
	}
}

// The demo's style sheet stacks the page on phones: a max-width media query that applies at
// 480 px and at 390 px wide puts the video (at least 40 % of the height) over the chat in one
// column; the developer counters start hidden (the "dev" toggle).
func TestDemoCSSPhones(t *testing.T) {
	css, _ := webFS.ReadFile("demo.css")
	stacked := false
	for _, q := range mediaBlocks(string(css)) {
		if q.maxWidth < 480 {
			continue
		}
		if !regexp.MustCompile(`body\s*\{[^}]*grid-template-columns:\s*1fr;`).MatchString(q.body) {
			continue
		}
		rows := regexp.MustCompile(`grid-template-rows:\s*max\((\d+)d?vh,\s*(\d+)px\)`).FindStringSubmatch(q.body)
		if rows == nil {
			t.Fatalf("@media (max-width: %dpx) stacks the page without a sized video row: %s", q.maxWidth, q.body)
		}
		if vh, _ := strconv.Atoi(rows[1]); vh < 40 {
			t.Errorf("the phone's video row is %s vh, want at least 40", rows[1])
		}
		stacked = true
	}
	if !stacked {
		t.Error("demo.css has no media query (max-width >= 480px) that stacks the video over the chat")
	}
	page, _ := webFS.ReadFile("index.html")
	if !regexp.MustCompile(`<div id="panel" hidden>`).Match(page) {
		t.Error("the developer counters are not hidden behind the toggle")
	}
	if !strings.Contains(string(css), "[hidden] { display: none !important; }") {
		t.Error("demo.css does not keep [hidden] hidden over its display rules")
	}
}

type mediaBlock struct {
	maxWidth int
	body     string
}

// mediaBlocks returns the max-width media queries of a style sheet with their bodies.
func mediaBlocks(css string) []mediaBlock {
	var out []mediaBlock
	re := regexp.MustCompile(`@media\s*\(max-width:\s*(\d+)px\)\s*\{`)
	for _, loc := range re.FindAllStringSubmatchIndex(css, -1) {
		w, _ := strconv.Atoi(css[loc[2]:loc[3]])
		depth, i := 1, loc[1]
		for ; i < len(css) && depth > 0; i++ {
			switch css[i] {
			case '{':
				depth++
			case '}':
				depth--
			}
		}
		out = append(out, mediaBlock{w, css[loc[1] : i-1]})
	}
	return out
}

// The demo page's pure helpers (demo_view.js: names, avatars, times, counts, the like total)
// under Node: testdata/demo_view_test.mjs.
func TestDemoViewInNode(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("needs node")
	}
	cmd := exec.Command(node, "testdata/demo_view_test.mjs")
	cmd.Env = append(os.Environ(), "TZ=UTC")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
}
