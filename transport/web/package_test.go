package web

import (
	"encoding/json"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The package manifest can be published as it is: its entry points and files exist, and the
// type declarations declare every public method of the client's class and every event it
// emits.
func TestPackageManifest(t *testing.T) {
	raw, err := webFS.ReadFile("package.json")
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Name, Version, Type, Main, Types, License string
		Files                                     []string
		Exports                                   map[string]json.RawMessage
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	if p.Name == "" || !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(p.Version) || p.Type != "module" ||
		p.License != "Apache-2.0" {
		t.Fatalf("manifest %+v", p)
	}
	// The ES module entry point: exports["."] names the types and the module, both published.
	var dot struct{ Types, Default string }
	if err := json.Unmarshal(p.Exports["."], &dot); err != nil || dot.Types != "./"+p.Types || dot.Default != "./"+p.Main {
		t.Errorf("exports[\".\"] %s: want types ./%s and default ./%s (%v)", p.Exports["."], p.Types, p.Main, err)
	}
	for _, f := range []string{p.Main, p.Types} {
		if !slices.Contains(p.Files, f) {
			t.Errorf("files %v does not publish %s", p.Files, f)
		}
	}
	for _, f := range append([]string{p.Main, p.Types}, p.Files...) {
		if _, err := webFS.ReadFile(f); err != nil {
			t.Errorf("the manifest names %q: %v", f, err)
		}
	}
	js, _ := webFS.ReadFile("liveroom.js")
	dts, _ := webFS.ReadFile("liveroom.d.ts")
	for _, m := range []string{"on", "connect", "close", "join", "leave", "pinned", "send", "add"} {
		if !strings.Contains(string(js), "\n  "+m+"(") && !strings.Contains(string(js), "\n  async "+m+"(") {
			t.Fatalf("liveroom.js has no method %s", m)
		}
		if !strings.Contains(string(dts), "\n  "+m+"(") && !strings.Contains(string(dts), "\n  "+m+"<") {
			t.Errorf("liveroom.d.ts does not declare %s", m)
		}
	}
	for _, ev := range regexp.MustCompile(`this\.emit\("(\w+)"`).FindAllStringSubmatch(string(js), -1) {
		if !strings.Contains(string(dts), "\n  "+ev[1]+": (") {
			t.Errorf("liveroom.d.ts does not declare the event %s", ev[1])
		}
	}
}

// The client's counter adds (add, addEvery: summed per room and counter, split at 100, sent
// before leave and close, kept for a rejoin) under Node with a fake WebSocket:
// testdata/liveroom_add_test.mjs.
func TestClientAddsInNode(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("needs node")
	}
	if out, err := exec.Command(node, "testdata/liveroom_add_test.mjs").CombinedOutput(); err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
}
