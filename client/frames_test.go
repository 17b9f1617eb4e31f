package client

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestEncoders(t *testing.T) {
	since := int64(-5)
	f := func(b []byte, want fakeReq) {
		t.Helper()
		var got fakeReq
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s:\ngot  %+v\nwant %+v", b, got, want)
		}
	}
	f(encodeJoin(nil, 1, "R", nil), fakeReq{Op: "join", ID: 1, Room: "R"})
	f(encodeJoin(nil, 2, "R", &since), fakeReq{Op: "join", ID: 2, Room: "R", Since: &since})
	f(encodeLeave(nil, 3, `a"b\`), fakeReq{Op: "leave", ID: 3, Room: `a"b\`})
	zero := int64(0)
	f(encodePull(nil, 4, "R", 0, 0), fakeReq{Op: "pull", ID: 4, Room: "R", Since: &zero})
	f(encodePull(nil, 5, "R", 0, 50), fakeReq{Op: "pull", ID: 5, Room: "R", Since: &zero, Limit: 50})
	f(encodeSend(nil, 6, "R", &Outgoing{Kind: "chat"}), fakeReq{Op: "send", ID: 6, Room: "R", Kind: "chat"})
	f(encodeSend(nil, 7, "R", &Outgoing{Kind: "gift", Pri: "high", Body: json.RawMessage(`{"x":[1]}`), CMID: "c\n1"}),
		fakeReq{Op: "send", ID: 7, Room: "R", Kind: "gift", Pri: "high", Body: json.RawMessage(`{"x":[1]}`), CMID: "c\n1"})
	f(encodePing(nil, 18446744073709551615), fakeReq{Op: "ping", ID: 18446744073709551615})
}

// TestDecodeLateJoinFields: joined's pinned list and a message's name, meta and pin_until
// (PROTOCOL.md 8.3, 8.5) decode into the SDK's types.
func TestDecodeLateJoinFields(t *testing.T) {
	var f frame
	raw := `{"op":"joined","room":"R","epoch":"E","ts":9,"seq":2,"online":1,"id":1,"since":4,"pinned":[` +
		`{"ts":5,"seq":1,"pri":"system","kind":"notice","uid":"","pin_until":99,"body":{"t":"x"}}]}`
	if err := json.Unmarshal([]byte(raw), &f); err != nil || len(f.Pinned) != 1 || f.Pinned[0].PinUntil != 99 || f.Pinned[0].TS != 5 {
		t.Fatalf("joined decoded as %+v, %v", f, err)
	}
	var m Message
	if err := json.Unmarshal([]byte(`{"ts":1,"seq":1,"pri":"normal","kind":"chat","uid":"u","name":"Zoë","meta":{"lv":3},"body":1}`), &m); err != nil ||
		m.Name != "Zoë" || string(m.Meta) != `{"lv":3}` {
		t.Fatalf("message decoded as %+v, %v", m, err)
	}
}
