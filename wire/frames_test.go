package wire

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// TestFrames: each frame against the bytes the frame builders it replaced wrote (golden, see
// golden_test.go), with and without id.
func TestFrames(t *testing.T) {
	f := func(got []byte, want string) {
		t.Helper()
		if string(got) != "x"+want {
			t.Errorf("got  %s\nwant x%s", got, want)
		}
		if !utf8.Valid(got) || !json.Valid(got[1:]) {
			t.Errorf("not valid UTF-8 JSON: %q", got)
		}
	}
	x := func() []byte { return []byte("x") }
	id := int64(-7)
	f(AppendHello(x(), "u1", "node-a", 1732280000123456, Limits{MaxBody: 4096, MaxRooms: 8, PullLimit: 200}),
		`{"op":"hello","uid":"u1","node":"node-a","server_ts":1732280000123456,"limits":{"max_body":4096,"max_rooms":8,"pull_limit":200}}`)
	f(AppendJoined(x(), "room-1", "e1abc", 1732280000123456, 18446744073709551615, 3, nil),
		`{"op":"joined","room":"room-1","epoch":"e1abc","ts":1732280000123456,"seq":18446744073709551615,"online":3}`)
	f(AppendJoined(x(), "room-1", "e1abc", 1732280000123456, 18446744073709551615, 3, &id),
		`{"op":"joined","room":"room-1","epoch":"e1abc","ts":1732280000123456,"seq":18446744073709551615,"online":3,"id":-7}`)
	f(AppendNotify(x(), "room-1", 1732280000123456), `{"op":"notify","room":"room-1","ts":1732280000123456}`)
	f(AppendNotify(x(), "r", -5), `{"op":"notify","room":"r","ts":-5}`)
	f(AppendLeft(x(), "room-1", nil), `{"op":"left","room":"room-1"}`)
	f(AppendLeft(x(), "room-1", &id), `{"op":"left","room":"room-1","id":-7}`)
	msg := AppendMessage(nil, &Message{TS: 5, Seq: 1, Pri: "normal", Kind: "chat", UID: "u1", Body: []byte(`{"text":"hi"}`)})
	f(AppendPush(x(), "room-1", msg),
		`{"op":"push","room":"room-1","msg":{"ts":5,"seq":1,"pri":"normal","kind":"chat","uid":"u1","body":{"text":"hi"}}}`)
	f(AppendSent(x(), "room-1", 17, 42, nil, false), `{"op":"sent","room":"room-1","ts":17,"seq":42}`)
	f(AppendSent(x(), "room-1", 17, 42, nil, true), `{"op":"sent","room":"room-1","ts":17,"seq":42,"dup":true}`)
	f(AppendSent(x(), "room-1", 17, 42, &id, false), `{"op":"sent","room":"room-1","ts":17,"seq":42,"id":-7}`)
	f(AppendSent(x(), "room-1", 17, 42, &id, true), `{"op":"sent","room":"room-1","ts":17,"seq":42,"id":-7,"dup":true}`)
	f(AppendPong(x(), nil, 1732280000123456), `{"op":"pong","server_ts":1732280000123456}`)
	f(AppendPong(x(), &id, 1732280000123456), `{"op":"pong","id":-7,"server_ts":1732280000123456}`)
	f(AppendKick(x(), "r1", "banned"), `{"op":"kick","room":"r1","reason":"banned"}`)
	f(AppendKick(x(), "", "replaced"), `{"op":"kick","reason":"replaced"}`)
	f(AppendKick(x(), "r1", "a<b"), `{"op":"kick","room":"r1","reason":"a\u003cb"}`)
	f(AppendKick(x(), "", "x&y>z<"), `{"op":"kick","reason":"x\u0026y\u003ez\u003c"}`)
	f(AppendKickRetry(x(), "shutdown", 1000), `{"op":"kick","reason":"shutdown","retry_ms":1000}`)
	f(AppendError(x(), nil, "not_joined", "not joined to r1"), `{"op":"error","code":"not_joined","message":"not joined to r1"}`)
	f(AppendError(x(), &id, "not_joined", "not joined to r1"), `{"op":"error","id":-7,"code":"not_joined","message":"not joined to r1"}`)
	f(AppendError(x(), &id, "internal", `plain <err> "x"`), `{"op":"error","id":-7,"code":"internal","message":"plain \u003cerr\u003e \"x\""}`)
	f(AppendError(x(), nil, "bad_request", "ctl\x00\x01\n\r\t\b\f\x1f\x7f"),
		"{\"op\":\"error\",\"code\":\"bad_request\",\"message\":\"ctl\\u0000\\u0001\\n\\r\\t\\b\\f\\u001f\x7f\"}")
	f(AppendError(x(), nil, "bad_request", "bad\xffutf8\u2028"), `{"op":"error","code":"bad_request","message":"bad\ufffdutf8\u2028"}`)

	buf := make([]byte, 0, 256)
	for name, fn := range map[string]func(){
		"notify": func() { buf = AppendNotify(buf[:0], "room-1", 1732280000123456) },
		"pong":   func() { buf = AppendPong(buf[:0], &id, 1732280000123456) },
		"sent":   func() { buf = AppendSent(buf[:0], "room-1", 17, 42, &id, true) },
		"error":  func() { buf = AppendError(buf[:0], &id, "not_joined", "not joined to room-1") },
		"push":   func() { buf = AppendPush(buf[:0], "room-1", msg) },
	} {
		if n := testing.AllocsPerRun(100, fn); n != 0 {
			t.Errorf("%s allocated %v times into a big enough buffer", name, n)
		}
	}
}

func TestAppendJoinedWith(t *testing.T) {
	id, since := int64(3), int64(1732280000000000)
	pin := AppendMessage(nil, &Message{TS: 9, Seq: 4, Pri: "system", Kind: "notice", PinUntil: 99, Body: []byte(`{}`)})
	f := func(got []byte, want string) { t.Helper(); wantJSON(t, got, want) }
	f(AppendJoinedWith(nil, "r", "e", 10, 5, 2, &id, &since, [][]byte{pin, pin}),
		`{"op":"joined","room":"r","epoch":"e","ts":10,"seq":5,"online":2,"id":3,"since":1732280000000000,"pinned":[`+string(pin)+`,`+string(pin)+`]}`)
	f(AppendJoinedWith(nil, "r", "e", 10, 5, 2, nil, nil, nil), `{"op":"joined","room":"r","epoch":"e","ts":10,"seq":5,"online":2,"pinned":[]}`)
}
