package ring

import (
	"encoding/json"
	"testing"
)

func TestAppendWindowJSON(t *testing.T) {
	a := &Message{TS: 5, Seq: 1, Pri: Normal, Kind: "c", Body: []byte(`{}`)}
	b := &Message{TS: 9, Seq: 3, Pri: System, Kind: "n", UID: "adm", CMID: "x"}
	a.Encode()
	b.Encode()
	f := func(prefix string, w Window, want string) {
		t.Helper()
		got := string(AppendWindowJSON([]byte(prefix), &w))
		if got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
		if !json.Valid([]byte("{" + got[len(prefix):] + "}")) {
			t.Errorf("not a JSON object's members: %s", got)
		}
	}
	f("", Window{Msgs: []*Message{a}, Dropped: 3, Next: 5},
		`"msgs":[{"ts":5,"seq":1,"pri":"normal","kind":"c","uid":"","body":{}}],"dropped":3,"next":5,"more":false`)
	f(`{"op":"msgs","id":3,`, Window{Msgs: []*Message{a, b}, Dropped: 1, Next: 9},
		`{"op":"msgs","id":3,"msgs":[{"ts":5,"seq":1,"pri":"normal","kind":"c","uid":"","body":{}},`+
			`{"ts":9,"seq":3,"pri":"system","kind":"n","uid":"adm","cmid":"x","body":null}],"dropped":1,"next":9,"more":false`)
	f("", Window{Next: 7}, `"msgs":[],"dropped":0,"next":7,"more":false`)
	f("", Window{Msgs: []*Message{b}, Dropped: 18446744073709551615, Next: 9, More: true},
		`"msgs":[{"ts":9,"seq":3,"pri":"system","kind":"n","uid":"adm","cmid":"x","body":null}],"dropped":18446744073709551615,"next":9,"more":true`)

	w := Window{Msgs: []*Message{a, b}, Dropped: 12, Next: 9}
	buf := make([]byte, 0, 512)
	if allocs := testing.AllocsPerRun(100, func() { buf = AppendWindowJSON(buf[:0], &w) }); allocs != 0 {
		t.Errorf("AppendWindowJSON allocated %v times into a big enough buffer", allocs)
	}
}
