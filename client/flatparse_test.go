package client

import (
	"encoding/json"
	"reflect"
	"testing"
	"unsafe"
)

var flatSeeds = []string{
	`{"op":"notify","room":"R","ts":1732280000123456}`,
	`{"op":"kick","room":"R","reason":"banned"}`,
	`{"op":"kick","reason":"shutdown"}`,
	`{"op":"pong","id":5,"server_ts":1732280000123456}`,
	`{"op":"joined","room":"R","epoch":"E","ts":12,"seq":3,"online":1000,"id":1}`,
	`{"op":"left","room":"R","id":2}`,
	`{"op":"sent","room":"R","ts":-4,"seq":18446744073709551615,"id":4,"dup":true}`,
	`{"op":"error","id":4,"code":"rate_limited","message":"slow down"}`,
	` { "op" : "notify" , "room" : "R" , "ts" : 0 } `,
	`{"OP":"notify","Room":"R","TS":1}`,
	`{"op":"notify","room":null,"ts":null,"x":1,"y":"z","w":false,"msgs":null,"limits":null}`,
	`{"op":"a","op":"b"}`,
	`{}`,
	`{"op":"notify","room":"é","ts":1}`,
	// Declined by the shallow parser (encoding/json decides):
	`{"op":"msgs","room":"R","id":3,"epoch":"E","msgs":[{"ts":1,"seq":1,"pri":"normal","kind":"chat","uid":"u","body":{"a":1}}],"dropped":2,"next":9,"more":false}`,
	`{"op":"hello","uid":"u1","node":"n1","server_ts":1,"limits":{"max_body":4096,"max_rooms":8,"pull_limit":200}}`,
	`{"op":"notify","room":"a\"b","ts":1}`,
	`{"op":"notify","room":"R","ts":1.0}`,
	`{"op":"notify","room":"R","ts":1e3}`,
	`{"op":"notify","room":"R","ts":01}`,
	`{"op":"sent","seq":-1}`,
	`{"op":"sent","seq":18446744073709551616}`,
	`{"op":"notify","ts":9223372036854775808}`,
	`{"op":"notify","ts":-9223372036854775808}`,
	`{"op":"notify","room":"R","ts":1,}`,
	`{"op":"notify"} x`,
	`{"op":7}`,
	`{"dup":"yes"}`,
	`{"op":"notify","room":"\xff","ts":1}`,
	`{"\u006fp":"notify"}`,
	`{"ſ":"x","K":1}`,
	`[1]`,
	`nul`,
	`{"op":tru}`,
	``,
}

func TestFlatParserAgreesWithEncodingJSON(t *testing.T) {
	flat := 0
	for _, s := range flatSeeds {
		checkFlat(t, []byte(s))
		var f frame
		if parseFlat([]byte(s), &f, newInterner(8)) {
			flat++
		}
	}
	if flat < 13 {
		t.Fatalf("only %d seeds took the shallow parser", flat)
	}
	var f frame
	if err := decodeFrame([]byte(`{"op":"notify","room":"R","ts":7}`), &f, nil); err != nil ||
		f.Op != "notify" || f.Room != "R" || f.TS != 7 {
		t.Fatalf("decodeFrame: %+v %v", f, err)
	}
	if err := decodeFrame([]byte(`{"op":"msgs","msgs":[{"ts":1,"body":{"a":[1]}}],"next":1}`), &f, nil); err != nil ||
		len(f.Msgs) != 1 || string(f.Msgs[0].Body) != `{"a":[1]}` {
		t.Fatalf("decodeFrame msgs: %+v %v", f, err)
	}
	if err := decodeFrame([]byte(`{"op":`), &f, nil); err == nil {
		t.Fatal("decodeFrame accepted a truncated frame")
	}
}

// checkFlat fails when the shallow parser accepts b but disagrees with encoding/json.
func checkFlat(t *testing.T, b []byte) {
	t.Helper()
	var got frame
	if !parseFlat(b, &got, newInterner(8)) {
		return
	}
	var want frame
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatalf("shallow parser accepted %q, encoding/json: %v", b, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\nshallow %+v\njson    %+v", b, got, want)
	}
}

func FuzzFlatParser(f *testing.F) {
	for _, s := range flatSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkFlat(t, b)
		var fr frame
		_ = decodeFrame(b, &fr, newInterner(8)) // never panics
	})
}

func TestDecodeNotifyAllocatesNothing(t *testing.T) {
	b := []byte(`{"op":"notify","room":"room-1","ts":1732280000123456}`)
	var f frame
	in := newInterner(8)
	_ = decodeFrame(b, &f, in)
	allocs := testing.AllocsPerRun(100, func() {
		if err := decodeFrame(b, &f, in); err != nil || f.Room != "room-1" {
			t.Fatal(f, err)
		}
	})
	if allocs != 0 {
		t.Fatalf("notify decode: %v allocs, want 0", allocs)
	}
}

func TestInternerIsBounded(t *testing.T) {
	in := newInterner(4)
	for i := range 1000 {
		b := []byte{byte(i), byte(i >> 8)}
		if s := in.str(b); s != string(b) {
			t.Fatal("interner changed a string")
		}
	}
	if n := in.size(); n != 4*internShards {
		t.Fatalf("interner holds %d, want %d", n, 4*internShards)
	}
	a, b := in.str([]byte{1, 0}), in.str([]byte{1, 0})
	if unsafe.StringData(a) != unsafe.StringData(b) {
		t.Fatal("the same bytes gave two strings")
	}
	long := make([]byte, internMaxLen+1)
	if in.str(long) != string(long) || in.str(nil) != "" {
		t.Fatal("long or empty input")
	}
	var none *interner
	if none.str([]byte("x")) != "x" {
		t.Fatal("nil interner")
	}
}

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

func checkJSONString(t *testing.T, s string) {
	t.Helper()
	var got, want string
	if err := json.Unmarshal(appendJSONString(nil, s), &got); err != nil {
		t.Fatalf("appendJSONString(%q) = %s: %v", s, appendJSONString(nil, s), err)
	}
	ref, _ := json.Marshal(s)
	_ = json.Unmarshal(ref, &want)
	if got != want {
		t.Fatalf("appendJSONString(%q) decodes to %q, encoding/json gives %q", s, got, want)
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", `q"uote`, `back\slash`, "nl\n\r\t", "\x00\x1f", "é中😀",
		"bad\xffutf8", "\xed\xa0\x80", "\u2028"} {
		checkJSONString(t, s)
	}
}

func FuzzAppendJSONString(f *testing.F) {
	f.Add("a\"b\\c\x00\xff é")
	f.Fuzz(func(t *testing.T, s string) { checkJSONString(t, s) })
}
