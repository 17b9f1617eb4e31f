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
