package transport

import (
	"regexp"
	"strings"
	"testing"
)

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,128}$`)

// TestValidIDBytes: every byte value alone and in the middle of an id, and the length bounds.
func TestValidIDBytes(t *testing.T) {
	for c := 0; c < 256; c++ {
		s := string([]byte{byte(c)})
		want := idPattern.MatchString(s)
		if ValidID(s) != want || ValidID("a"+s+"b") != want {
			t.Errorf("byte %#x: ValidID %v, pattern %v", c, ValidID(s), want)
		}
	}
	f := func(s string, want bool) {
		t.Helper()
		if ValidID(s) != want {
			t.Errorf("ValidID(%.20q... len %d) = %v", s, len(s), !want)
		}
	}
	f("", false)
	f("a", true)
	f(strings.Repeat("z", 128), true)
	f(strings.Repeat("z", 129), false)
	f("room:42.live_A-b", true)
	f("é", false)      // two bytes, neither allowed
	f("a\x00", false)  // NUL
	f("r1\n", false)   // a trailing newline ($ in some regexp engines allows it)
	f("../etc", false) // '/'
}

func FuzzValidID(f *testing.F) {
	f.Add("room-1")
	f.Add("")
	f.Add(strings.Repeat("a", 129))
	f.Add("a\nb")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := ValidID(s), idPattern.MatchString(s); got != want {
			t.Fatalf("ValidID(%q) = %v, pattern says %v", s, got, want)
		}
	})
}

func BenchmarkValidID(b *testing.B) {
	id := "room:live-2024.main_stage"
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if !ValidID(id) {
			b.Fatal(id)
		}
	}
}
