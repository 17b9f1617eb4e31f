package wire

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// checkString: s escapes to valid UTF-8 and valid JSON that decodes back to s with each
// invalid byte replaced by U+FFFD, and both escapers write what encoding/json writes (Marshal;
// an Encoder with SetEscapeHTML(false)), after whatever the buffer held.
func checkString(t *testing.T, s string) {
	t.Helper()
	var plain bytes.Buffer
	enc := json.NewEncoder(&plain)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	marshalled, _ := json.Marshal(s)
	for _, c := range []struct {
		name string
		f    func([]byte, string) []byte
		want []byte
	}{
		{"AppendString", AppendString, marshalled},
		{"AppendStringKeepHTML", AppendStringKeepHTML, bytes.TrimSuffix(plain.Bytes(), []byte("\n"))},
	} {
		b := c.f([]byte("x"), s)
		if b[0] != 'x' {
			t.Fatalf("%s(%q) overwrote the buffer: %s", c.name, s, b)
		}
		b = b[1:]
		var back string
		if !utf8.Valid(b) || json.Unmarshal(b, &back) != nil {
			t.Fatalf("%s(%q) = %q: not valid UTF-8 JSON", c.name, s, b)
		}
		if want := string([]rune(s)); back != want {
			t.Fatalf("%s(%q) = %s decodes to %q, want %q", c.name, s, b, back, want)
		}
		if !bytes.Equal(b, c.want) {
			t.Fatalf("%s(%q) = %s, encoding/json writes %s", c.name, s, b, c.want)
		}
	}
}

func TestAppendString(t *testing.T) {
	for _, s := range []string{"", "plain", `q"uote`, `back\slash`, "ctl\x01\n", "nl\n\r\t", "\x00\x1f\x7f", "\b\f",
		"é", "é中😀", "\xff", "bad\xffutf8", "\xed\xa0\x80", "\xc3", "\xf0\x9f\x98", "\u2028", "a\u2029b", "<a>&",
		"\ufffd", "\U0010ffff", strings.Repeat("ab<", 100)} {
		checkString(t, s)
	}
	buf := make([]byte, 0, 256)
	s := "room-1 \"é\" <b>\n\u2028\xff"
	if n := testing.AllocsPerRun(100, func() { buf = AppendString(buf[:0], s) }); n != 0 {
		t.Errorf("AppendString allocated %v times into a big enough buffer", n)
	}
}

// FuzzAppendString: any string escapes to valid JSON and valid UTF-8 that encoding/json decodes
// back to the string with invalid bytes replaced, byte for byte as encoding/json escapes it.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"a\"b\\c\x00\xff é", "<script>&</script>", "\u2028\u2029", "\xed\xa0\x80\xc3", "\b\f\x7f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkString(t, s) })
}
