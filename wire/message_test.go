package wire

import (
	"encoding/json"
	"testing"
)

func TestAppendMessage(t *testing.T) {
	f := func(m Message, want string) {
		t.Helper()
		got := string(AppendMessage([]byte("x"), &m))
		if got != "x"+want {
			t.Errorf("got  %s\nwant x%s", got, want)
		}
		var v struct {
			TS   int64           `json:"ts"`
			Seq  uint64          `json:"seq"`
			Pri  string          `json:"pri"`
			Kind string          `json:"kind"`
			UID  string          `json:"uid"`
			CMID *string         `json:"cmid"`
			Body json.RawMessage `json:"body"`
		}
		if err := json.Unmarshal([]byte(want), &v); err != nil {
			t.Fatalf("not JSON: %v: %s", err, want)
		}
		if v.TS != m.TS || v.Seq != m.Seq || v.Pri != valid(m.Pri) || v.Kind != valid(m.Kind) || v.UID != valid(m.UID) ||
			(v.CMID == nil) != (m.CMID == "") || (v.CMID != nil && *v.CMID != valid(m.CMID)) {
			t.Errorf("%s does not decode to the message", want)
		}
	}
	f(Message{TS: 1, Seq: 2, Pri: "normal", Kind: "chat", UID: "u1", CMID: "c-7", Body: []byte(`{"a":1}`)},
		`{"ts":1,"seq":2,"pri":"normal","kind":"chat","uid":"u1","cmid":"c-7","body":{"a":1}}`)
	f(Message{TS: 1, Seq: 2, Pri: "system", Kind: "notice"},
		`{"ts":1,"seq":2,"pri":"system","kind":"notice","uid":"","body":null}`)
	f(Message{TS: 1, Seq: 2, Pri: "high", Kind: "notice", Body: []byte{}},
		`{"ts":1,"seq":2,"pri":"high","kind":"notice","uid":"","body":null}`)
	f(Message{TS: 1, Seq: 2, Pri: "low", Kind: "k\"\n<", UID: "é", Body: []byte(`1`)},
		`{"ts":1,"seq":2,"pri":"low","kind":"k\"\n\u003c","uid":"é","body":1}`)
	f(Message{TS: 1700000000000000, Seq: 18446744073709551615, Pri: "normal", Kind: `a\b`, UID: "\x01\t", CMID: "x&y>z\u2028"},
		`{"ts":1700000000000000,"seq":18446744073709551615,"pri":"normal","kind":"a\\b","uid":"\u0001\t","cmid":"x\u0026y\u003ez\u2028","body":null}`)
	f(Message{TS: 7, Seq: 3, Pri: "normal", Kind: "chat", UID: "u1", Name: "Zoë <3\u2028", Meta: []byte(`{"lv":3}`), CMID: "c", Body: []byte(`1`)},
		`{"ts":7,"seq":3,"pri":"normal","kind":"chat","uid":"u1","name":"Zoë \u003c3\u2028","meta":{"lv":3},"cmid":"c","body":1}`)
	f(Message{TS: 9, Seq: 4, Pri: "system", Kind: "notice", PinUntil: 1732280000123456, Body: []byte(`{}`)},
		`{"ts":9,"seq":4,"pri":"system","kind":"notice","uid":"","pin_until":1732280000123456,"body":{}}`)
	f(Message{TS: 5, Seq: 1, Pri: "high", Kind: "👋", UID: "u", Body: []byte(`"text"`)},
		`{"ts":5,"seq":1,"pri":"high","kind":"👋","uid":"u","body":"text"}`)
	f(Message{TS: -3, Seq: 0, Pri: "unknown", Kind: "bad\xff", UID: "\xc3", CMID: "\b\f\u2029", Body: []byte(`[1,{"b":null}]`)},
		`{"ts":-3,"seq":0,"pri":"unknown","kind":"bad\ufffd","uid":"\ufffd","cmid":"\b\f\u2029","body":[1,{"b":null}]}`)

	m := Message{TS: 1732280000123456, Seq: 42, Pri: "normal", Kind: "chat", UID: "u1", CMID: "c-7", Body: []byte(`{"text":"hi"}`)}
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { buf = AppendMessage(buf[:0], &m) }); n != 0 {
		t.Errorf("AppendMessage allocated %v times into a big enough buffer", n)
	}
}

// valid is s as encoding/json decodes its escape: each invalid byte becomes U+FFFD.
func valid(s string) string { return string([]rune(s)) }
