package wire

import "testing"

// The golden strings below are what the encoders this package replaced wrote for the same
// input (ring's message encoder, transport's frame builder, transport's HTTP bodies, the
// actors' notify/push/msgs frames), captured before the move. Every encoding must stay byte
// for byte what it was.

// goldenStrings: an input, its escape in messages and frames (encoding/json's Marshal), and in
// HTTP bodies.
var goldenStrings = []struct{ in, frame, http string }{
	{``, `""`, `""`},
	{`plain`, `"plain"`, `"plain"`},
	{`q"uote`, `"q\"uote"`, `"q\"uote"`},
	{`back\slash`, `"back\\slash"`, `"back\\slash"`},
	{"ctl\x00\x01\n\r\t\b\f\x1f\x7f", "\"ctl\\u0000\\u0001\\n\\r\\t\\b\\f\\u001f\x7f\"", "\"ctl\\u0000\\u0001\\n\\r\\t\\b\\f\\u001f\x7f\""},
	{`é中😀`, `"é中😀"`, `"é中😀"`},
	{"bad\xffutf8", `"bad\ufffdutf8"`, `"bad\ufffdutf8"`},
	{"\xed\xa0\x80", `"\ufffd\ufffd\ufffd"`, `"\ufffd\ufffd\ufffd"`},
	{"\xc3", `"\ufffd"`, `"\ufffd"`},
	{"trail\xe2\x82", `"trail\ufffd\ufffd"`, `"trail\ufffd\ufffd"`},
	{`x&y>z<`, `"x\u0026y\u003ez\u003c"`, `"x&y>z<"`},
	{`a<b`, `"a\u003cb"`, `"a<b"`},
	{"\u2028\u2029", `"\u2028\u2029"`, `"\u2028\u2029"`},
	{"sep\u2028x", `"sep\u2028x"`, `"sep\u2028x"`},
	{`room-1.a:b_C`, `"room-1.a:b_C"`, `"room-1.a:b_C"`},
	{`�`, `"�"`, `"�"`},
	// The one input class whose HTTP escape changed: the HTTP encoder copied plain ASCII as it
	// was but sent any string holding something to escape through encoding/json, which then
	// escaped its <, > and & too (it wrote "\u003ca\u003e\n" here). HTTP bodies now leave <, >
	// and & as they are in every string; the decoded value is the same.
	{"<a>\n", `"\u003ca\u003e\n"`, `"<a>\n"`},
}

func TestGoldenStrings(t *testing.T) {
	for _, g := range goldenStrings {
		if got := string(AppendString(nil, g.in)); got != g.frame {
			t.Errorf("AppendString(%q) = %s, want %s", g.in, got, g.frame)
		}
		if got := string(AppendStringKeepHTML(nil, g.in)); got != g.http {
			t.Errorf("AppendStringKeepHTML(%q) = %s, want %s", g.in, got, g.http)
		}
	}
}
