package ring

import (
	"encoding/json"
	"testing"
)

func TestEncode(t *testing.T) {
	f := func(m Message, want string) {
		t.Helper()
		got := string(m.Encode())
		if got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(got), &v); err != nil {
			t.Errorf("not JSON: %v", err)
		}
	}
	f(Message{TS: 1, Seq: 2, Pri: Normal, Kind: "chat", UID: "u1", CMID: "c-7", Body: []byte(`{"a":1}`)},
		`{"ts":1,"seq":2,"pri":"normal","kind":"chat","uid":"u1","cmid":"c-7","body":{"a":1}}`)
	f(Message{TS: 1, Seq: 2, Pri: System, Kind: "notice"},
		`{"ts":1,"seq":2,"pri":"system","kind":"notice","uid":"","body":null}`)
	f(Message{TS: 1, Seq: 2, Pri: Low, Kind: "k\"\n<", UID: "é", Body: []byte(`1`)},
		`{"ts":1,"seq":2,"pri":"low","kind":"k\"\n\u003c","uid":"é","body":1}`)
}

func TestParsePriority(t *testing.T) {
	for p := Priority(0); p < NumPriorities; p++ {
		if q, ok := ParsePriority(p.String()); !ok || q != p {
			t.Errorf("round trip of %v failed", p)
		}
	}
	if _, ok := ParsePriority("urgent"); ok {
		t.Error("unknown priority parsed")
	}
	if !System.Protected() || !High.Protected() || Normal.Protected() || Low.Protected() {
		t.Error("protected priorities wrong")
	}
}

func TestAppendWindowJSON(t *testing.T) {
	a := &Message{TS: 5, Seq: 1, Pri: Normal, Kind: "c", Body: []byte(`{}`)}
	w := Window{Msgs: []*Message{a}, Dropped: 3, Next: 5}
	got := "{" + string(AppendWindowJSON(nil, &w)) + "}"
	want := `{"msgs":[{"ts":5,"seq":1,"pri":"normal","kind":"c","uid":"","body":{}}],"dropped":3,"next":5,"more":false}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got := string(AppendWindowJSON(nil, &Window{More: true})); got != `"msgs":[],"dropped":0,"next":0,"more":true` {
		t.Errorf("empty: %s", got)
	}
}
