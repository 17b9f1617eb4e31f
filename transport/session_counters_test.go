package transport

import (
	"strings"
	"testing"

	"github.com/liveroom/liveroom/rooms"
)

// parseAdd is what the session does with an add frame before it reaches the room.
func parseAdd(frame []byte) (string, int64, error) {
	f, err := parseFrame(frame)
	if err != nil {
		return "", 0, err
	}
	return checkAdd(f.addIn)
}

func TestParseAdd(t *testing.T) {
	ok := func(frame, name string, delta int64) {
		t.Helper()
		n, d, err := parseAdd([]byte(frame))
		if err != nil || n != name || d != delta {
			t.Errorf("%s: %q %d %v, want %q %d", frame, n, d, err, name, delta)
		}
	}
	bad := func(frame string) {
		t.Helper()
		if n, d, err := parseAdd([]byte(frame)); rooms.CodeOf(err) != rooms.CodeBadRequest {
			t.Errorf("%s: accepted as %q %d (%v)", frame, n, d, err)
		}
	}
	ok(`{"op":"add","room":"R","counter":"likes","delta":1}`, "likes", 1)
	ok(`{"op":"add","room":"R","counter":"gift_value","delta":100,"id":7}`, "gift_value", 100)
	ok(`{"delta":5,"counter":"a","op":"add"}`, "a", 5)
	ok(`{"op":"add","counter":"`+strings.Repeat("z", 32)+`","delta":2}`, strings.Repeat("z", 32), 2)
	ok(` {"op":"add","counter":"x_1","delta":3} `, "x_1", 3)
	for _, f := range []string{
		`{"op":"add","counter":"likes"}`,
		`{"op":"add","delta":1}`,
		`{"op":"add","counter":null,"delta":1}`,
		`{"op":"add","counter":"likes","delta":null}`,
		`{"op":"add","counter":"likes","delta":0}`,
		`{"op":"add","counter":"likes","delta":-0}`,
		`{"op":"add","counter":"likes","delta":101}`,
		`{"op":"add","counter":"likes","delta":-5}`,
		`{"op":"add","counter":"likes","delta":1.0}`,
		`{"op":"add","counter":"likes","delta":1e1}`,
		`{"op":"add","counter":"likes","delta":"1"}`,
		`{"op":"add","counter":"likes","delta":true}`,
		`{"op":"add","counter":"likes","delta":[1]}`,
		`{"op":"add","counter":"likes","delta":9223372036854775808}`,
		`{"op":"add","counter":"","delta":1}`,
		`{"op":"add","counter":"LIKES","delta":1}`,
		`{"op":"add","counter":"li kes","delta":1}`,
		`{"op":"add","counter":"li-kes","delta":1}`,
		`{"op":"add","counter":"likes\u0000","delta":1}`,
		`{"op":"add","counter":"lik\u00e9s","delta":1}`,
		"{\"op\":\"add\",\"counter\":\"lik\xffs\",\"delta\":1}",
		`{"op":"add","counter":"` + strings.Repeat("z", 33) + `","delta":1}`,
		`{"op":"add","counter":7,"delta":1}`,
		`{"op":"add","counter":["likes"],"delta":1}`,
		`{"op":"add","counter":"likes","delta":1`,
		`{"op":"add","counter":"likes","delta":1}}`,
		`[]`,
		``,
	} {
		bad(f)
	}
}

// FuzzParseAdd: an add frame is refused or names a valid counter with a delta of 1..100; it
// never panics.
func FuzzParseAdd(f *testing.F) {
	for _, s := range []string{`{"op":"add","room":"R","counter":"likes","delta":1}`, `{"op":"add","counter":"a","delta":100,"id":1}`,
		`{"op":"add","counter":"x","delta":1e2}`, `{"op":"add","counter":"\u00e9","delta":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		name, delta, err := parseAdd(b)
		if err != nil {
			if rooms.CodeOf(err) != rooms.CodeBadRequest {
				t.Fatalf("%q: %v", b, err)
			}
			return
		}
		if !rooms.ValidCounterName(name) || delta < 1 || delta > rooms.MaxViewerDelta {
			t.Fatalf("%q accepted as %q %d", b, name, delta)
		}
	})
}
