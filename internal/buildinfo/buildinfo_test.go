package buildinfo

import (
	"runtime"
	"strings"
	"testing"
)

func TestReadNamesTheToolchainAndAVersion(t *testing.T) {
	in := Read()
	if in.GoVersion != runtime.Version() {
		t.Fatalf("GoVersion %q, want %q", in.GoVersion, runtime.Version())
	}
	if in.Version == "" || in.Revision == "" {
		t.Fatalf("empty fields: %+v", in)
	}
	s := Info{Version: "v1.1.0", Revision: "abc", Modified: true, GoVersion: "go1.26.8"}.String()
	if want := "liveroomd v1.1.0 (rev abc, modified) go1.26.8"; s != want {
		t.Fatalf("String() = %q, want %q", s, want)
	}
	if !strings.HasPrefix(in.String(), "liveroomd ") {
		t.Fatalf("String() = %q", in.String())
	}
}
