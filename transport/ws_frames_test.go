package transport

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/liveroom/liveroom/rooms"
)

// TestParseFrameIDs: an id is echoed only when it is an integer that fits an int64; any other
// id makes the frame a bad_request with no id (the probe found every wrong-typed id echoed as
// 0). The shallow parser agrees: it accepts no frame the full one refuses, and reads the same id.
func TestParseFrameIDs(t *testing.T) {
	f := func(id string, want *int64, wantErr bool) {
		t.Helper()
		for _, frame := range []string{`{"op":"ping","id":` + id + `}`, `{"id":` + id + `,"op":"pull","room":"r","since":5,"limit":9}`,
			`{"op":"send","room":"r","kind":"k","body":1,"id":` + id + `}`} {
			fr, err := parseFrame([]byte(frame))
			if wantErr != (err != nil) || (err != nil && rooms.CodeOf(err) != rooms.CodeBadRequest) {
				t.Errorf("%s: err %v", frame, err)
			}
			if !sameJSON(fr.ID, want) {
				t.Errorf("%s: id %s, want %s", frame, jsonOf(fr.ID), jsonOf(want))
			}
			if out := errorFrame(fr.ID, rooms.Errorf(rooms.CodeBadRequest, "x")); !json.Valid(out) {
				t.Errorf("%s: error frame %s", frame, out)
			}
			flat, ok := parseFlat([]byte(frame))
			if ok && (err != nil || !sameJSON(flat.ID, fr.ID)) {
				t.Errorf("%s: flat parser accepted id %s, full parser %s %v", frame, jsonOf(flat.ID), jsonOf(fr.ID), err)
			}
		}
	}
	n := func(v int64) *int64 { return &v }
	f(`7`, n(7), false)
	f(`-0`, n(0), false)
	f(`0`, n(0), false)
	f(`9223372036854775807`, n(9223372036854775807), false)
	f(`-9223372036854775808`, n(-9223372036854775808), false)
	f(`null`, nil, false)
	for _, bad := range []string{`"5"`, `""`, `1.5`, `1.0`, `-0.0`, `1e3`, `1E+2`, `-1e-2`, `true`, `false`, `[]`, `[1]`, `{}`, `{"id":1}`,
		`9223372036854775808`, `-9223372036854775809`, `99999999999999999999`, `100000000000000000000000000000000000000`} {
		f(bad, nil, true)
	}
	// A frame refused for another reason still echoes a valid id; the last of duplicate ids
	// counts, as encoding/json reads them.
	g := func(frame string, want *int64) {
		t.Helper()
		fr, err := parseFrame([]byte(frame))
		if err == nil || !sameJSON(fr.ID, want) {
			t.Errorf("%s: id %s err %v, want id %s", frame, jsonOf(fr.ID), err, jsonOf(want))
		}
	}
	g(`{"op":"join","room":7,"id":3}`, n(3))
	g(`{"op":"join","ID":4,"room":[]}`, n(4))
	g(`{"op":"join","id":"x","id":5,"room":{}}`, n(5))
	g(`{"op":"join","id":5,"id":"x"}`, nil)
	g("{\"op\":\"\xff\",\"id\":6}", n(6))
	g("{\"op\":\"ping\",\"id\":6.5,\"x\":\"\xff\"}", nil)
	g(`{"op":"ping","id":1`, nil)
	g(`[{"id":1}]`, nil)
}

func sameJSON(a, b any) bool { return jsonOf(a) == jsonOf(b) }

func jsonOf(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestParseFlat(t *testing.T) {
	f := func(in string, ok bool) {
		t.Helper()
		if _, got := parseFlat([]byte(in)); got != ok {
			t.Errorf("%s: ok=%v", in, got)
		}
	}
	f(`{"op":"pull","room":"r","since":5,"limit":10,"id":1}`, true)
	f(`{"op":"ping"}`, true)
	f(`{"op":"ping","id":-0}`, true)
	f(`{"op":"add","room":"r","counter":"likes","delta":1}`, true)
	f(`{"op":"add","room":"r","counter":"likes","delta":1.0}`, false) // the full decoder refuses it
	f(`{"op":"add","counter":"a","counter":"b"}`, false)
	f(`{"room":"r"}`, false)                // no op
	f(`{"op":"pull","since":1.5}`, false)   // float: the full decoder decides
	f(`{"op":"pull","room":"a\"b"}`, false) // escapes
	f(`{"op":"pull","body":{}}`, false)     // other keys
	f(`{"op":"pull","id":1,"id":2}`, false) // duplicates
	f(`{"op":"pull",}`, false)              // trailing comma
	f(`{"op":"pull"} x`, false)             // trailing data
	f(`{"op":"pull","since":01}`, false)    // leading zero
	f(`{"op":"pull","since":99999999999999999999}`, false)
	f(`{"OP":"pull"}`, false)          // encoding/json matches keys in any case: it decides
	f(`{"op":"pull","id":"1"}`, false) // a string id
	f(`{"op":"pull","room":"é"}`, false)
	f("{\"op\":\"pull\",\"room\":\"\xff\"}", false)
}

// frameSeeds are client frames with every JSON type in every field, ids of every shape, bytes
// that are not UTF-8, lone surrogates, deep nesting and huge numbers.
func frameSeeds() []string {
	seeds := []string{
		`{"op":"pull","room":"r1","since":1795367030882822,"limit":100,"id":7}`,
		` { "op" : "ping" , "id" : -3 } `,
		`{"op":"pull","room":"r\u0031"}`,
		`{"op":"pull","op":"ping"}`,
		`{"op":"join","room":"r","since":0,"push":true,"id":1}`,
		`{"op":"add","room":"r","counter":"likes","delta":1,"id":3}`,
		`{"op":"add","room":"r","counter":"likes","delta":-100000000000}`,
		`{"op":"send","room":"r","kind":"chat","pri":"low","body":{"t":"hi"},"cmid":"c1","id":4}`,
		`{"op":"send","room":"r","kind":"chat","body":null,"id":4}`,
		`{"op":"send","room":"r","kind":"chat","body":"\ud800","id":4}`,
		`{"op":"send","room":"r","kind":"\udc00","body":1}`,
		"{\"op\":\"send\",\"room\":\"r\",\"kind\":\"\xff\",\"body\":1,\"id\":2}",
		"{\"op\":\"ping\",\"id\":1,\"x\":\"\xed\xa0\x80\"}",
		`{"op":"send","room":"r","kind":"k","body":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`,
		`{"op":"ping","id":` + strings.Repeat("9", 400) + `}`,
		`{"op":"pull","room":"r","since":1e400}`,
		`{"op":"pull","room":"r","limit":-9223372036854775808}`,
		`{"OP":"ping","Id":5}`,
		`{"op":"ping","id":5,"id":"x"}`,
		`{"op":"ping","id":"x","id":5}`,
		`[]`, `null`, `"op"`, `{`, ``, `{"op":"ping"}{}`,
	}
	values := []string{`"s"`, `""`, `"é"`, `"\u00e9"`, `"\ud800"`, "\"\xff\"", `0`, `-0`, `7`, `-1`, `1.5`, `1.0`, `1e3`,
		`9223372036854775807`, `9223372036854775808`, `-9223372036854775809`, `true`, `false`, `null`, `[]`, `[1]`, `{}`, `{"a":1}`}
	for _, key := range []string{"op", "id", "room", "since", "limit", "push", "kind", "pri", "body", "cmid"} {
		for _, v := range values {
			seeds = append(seeds, `{"op":"pull","room":"r","id":1,"`+key+`":`+v+`}`)
		}
	}
	return seeds
}

// FuzzParseFrame: the full parser never panics; a refused frame is bad_request and its error
// frame is valid UTF-8 JSON; an id is kept (accepted or refused) only when the frame's id is
// an integer within int64, and then it is that integer.
func FuzzParseFrame(f *testing.F) {
	for _, s := range frameSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := parseFrame(b)
		if err != nil {
			if rooms.CodeOf(err) != rooms.CodeBadRequest {
				t.Fatalf("%q: code %s", b, rooms.CodeOf(err))
			}
			if out := errorFrame(fr.ID, err); !json.Valid(out) || !utf8.Valid(out) {
				t.Fatalf("%q: error frame %q", b, out)
			}
		}
		if fr.ID == nil {
			return
		}
		var ref struct{ ID json.RawMessage }
		if err := json.Unmarshal(b, &ref); err != nil {
			t.Fatalf("%q: id %d kept from a frame encoding/json cannot read: %v", b, *fr.ID, err)
		}
		if n, perr := strconv.ParseInt(string(ref.ID), 10, 64); perr != nil || n != *fr.ID || !jsonInteger.Match(ref.ID) {
			t.Fatalf("%q: id %d kept, the frame says %s", b, *fr.ID, ref.ID)
		}
	})
}

var jsonInteger = regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`)

// FuzzParseFlat: whatever the shallow parser accepts, the full parser accepts too, with the
// same value in every field (so a frame means the same whichever parser reads it).
func FuzzParseFlat(f *testing.F) {
	for _, s := range frameSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fast, ok := parseFlat(b)
		if !ok {
			return
		}
		full, err := parseFrame(b)
		if err != nil {
			t.Fatalf("flat accepted what the full parser refuses: %q: %v", b, err)
		}
		if !reflect.DeepEqual(fast, full) {
			t.Fatalf("%q:\n flat %s\n full %s", b, jsonOf(fast), jsonOf(full))
		}
		if !utf8.Valid(b) {
			t.Fatalf("%q: flat accepted %+v", b, fast)
		}
	})
}
