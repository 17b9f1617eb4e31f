package ring

import (
	"testing"
	"unsafe"
)

// TestEncode: Encode writes the message's fields in their wire form (the encoding's cases are
// wire's TestAppendMessage) and builds it once.
func TestEncode(t *testing.T) {
	f := func(m Message, want string) {
		t.Helper()
		got := string(m.Encode())
		if got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
		if again := m.Encode(); &again[0] != &m.Encoded[0] {
			t.Error("Encode built the encoding twice")
		}
	}
	f(Message{TS: 1, Seq: 2, Pri: Normal, Kind: "chat", UID: "u1", CMID: "c-7", Body: []byte(`{"a":1}`)},
		`{"ts":1,"seq":2,"pri":"normal","kind":"chat","uid":"u1","cmid":"c-7","body":{"a":1}}`)
	f(Message{TS: 1, Seq: 2, Pri: System, Kind: "notice"},
		`{"ts":1,"seq":2,"pri":"system","kind":"notice","uid":"","body":null}`)
	f(Message{TS: 1, Seq: 2, Pri: Low, Kind: "k\"\n<", UID: "é", Body: []byte(`1`)},
		`{"ts":1,"seq":2,"pri":"low","kind":"k\"\n\u003c","uid":"é","body":1}`)
	f(Message{TS: 5, Seq: 1, Pri: High, Kind: "👋", UID: "u", Body: []byte(`"text"`)},
		`{"ts":5,"seq":1,"pri":"high","kind":"👋","uid":"u","body":"text"}`)
}

func TestParsePriority(t *testing.T) {
	for p := Priority(0); p < NumPriorities; p++ {
		if q, ok := ParsePriority(p.String()); !ok || q != p {
			t.Errorf("round trip of %v failed", p)
		}
	}
	for _, s := range []string{"urgent", "", "High", "unknown"} {
		if _, ok := ParsePriority(s); ok {
			t.Errorf("%q parsed as a priority", s)
		}
	}
	if Priority(9).String() != "unknown" {
		t.Error("an invalid priority has a name")
	}
	if !System.Protected() || !High.Protected() || Normal.Protected() || Low.Protected() {
		t.Error("protected priorities wrong")
	}
}

// TestMessageSize: a message without name, meta or pin costs what it did before they existed
// (the 128-byte size class): what few messages have sits behind Extra.
func TestMessageSize(t *testing.T) {
	if n := unsafe.Sizeof(Message{}); n > 128 {
		t.Errorf("ring.Message is %d bytes, over the 128-byte size class", n)
	}
	plain := &Message{TS: 1, Seq: 1, Pri: Normal, Kind: "chat", UID: "u", Body: []byte(`1`), Extra: NewExtra("", nil, 0)}
	if plain.Extra != nil || plain.Name() != "" || plain.Meta() != nil || plain.PinUntil() != 0 {
		t.Errorf("a message without extras has %+v", plain.Extra)
	}
	m := &Message{TS: 1, Seq: 1, Pri: System, Kind: "notice", Body: []byte(`1`), Extra: NewExtra("Ann", []byte(`{"a":1}`), 99)}
	if got := string(m.Encode()); got != `{"ts":1,"seq":1,"pri":"system","kind":"notice","uid":"","name":"Ann","meta":{"a":1},"pin_until":99,"body":1}` {
		t.Errorf("encoded %s", got)
	}
}
