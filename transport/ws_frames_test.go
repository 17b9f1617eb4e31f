package transport

import (
	"encoding/json"
	"testing"

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
