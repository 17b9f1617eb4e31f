package transport

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/liveroom/liveroom/ring"
	"github.com/liveroom/liveroom/rooms"
)

// TestCheckMessage: each field of a message alone, as every path (HTTP post, notice, WebSocket
// send) decodes it: the fields raw, as the sender wrote them.
func TestCheckMessage(t *testing.T) {
	f := func(fields string, wantCode rooms.Code, want rooms.SendRequest) {
		t.Helper()
		var in messageIn
		if err := json.Unmarshal([]byte(fields), &in); err != nil {
			t.Fatalf("%s: %v", fields, err)
		}
		got, err := checkMessage(in, 16)
		if wantCode != "" {
			if rooms.CodeOf(err) != wantCode {
				t.Errorf("%s: %v, want %s", fields, err, wantCode)
			}
			return
		}
		if err != nil {
			t.Errorf("%s: %v", fields, err)
			return
		}
		if got.Kind != want.Kind || got.Pri != want.Pri || string(got.Body) != string(want.Body) || got.CMID != want.CMID {
			t.Errorf("%s:\n got  %+v\n want %+v", fields, got, want)
		}
	}
	ok := func(kind string, pri ring.Priority, body, cmid string) rooms.SendRequest {
		return rooms.SendRequest{Kind: kind, Pri: pri, Body: json.RawMessage(body), CMID: cmid}
	}
	bad := rooms.SendRequest{}
	f(`{"kind":"k","body":1}`, "", ok("k", ring.Normal, "1", ""))
	f(`{"kind":"k","pri":"low","body":[1, 2],"cmid":"c"}`, "", ok("k", ring.Low, "[1,2]", "c"))
	f(`{"kind":"k","pri":null,"body":1,"cmid":null}`, "", ok("k", ring.Normal, "1", ""))

	// kind: a string of 1-32 bytes.
	f(`{"kind":"`+strings.Repeat("k", 32)+`","body":1}`, "", ok(strings.Repeat("k", 32), ring.Normal, "1", ""))
	f(`{"kind":"`+strings.Repeat("k", 33)+`","body":1}`, rooms.CodeBadRequest, bad)
	f(`{"kind":"直播礼物","body":1}`, "", ok("直播礼物", ring.Normal, "1", ""))
	f(`{"kind":"\u0063hat","body":1}`, "", ok("chat", ring.Normal, "1", ""))
	f(`{"kind":"a\"b","body":1}`, "", ok(`a"b`, ring.Normal, "1", ""))
	f(`{"kind":"","body":1}`, rooms.CodeBadRequest, bad)
	f(`{"kind":null,"body":1}`, rooms.CodeBadRequest, bad)
	f(`{"body":1}`, rooms.CodeBadRequest, bad)
	f(`{"kind":1,"body":1}`, rooms.CodeBadRequest, bad)
	f(`{"kind":["k"],"body":1}`, rooms.CodeBadRequest, bad)
	f(`{"kind":"\ud800","body":1}`, rooms.CodeBadRequest, bad)
	f(`{"kind":"\udc00x","body":1}`, rooms.CodeBadRequest, bad)

	// pri
	f(`{"kind":"k","pri":"urgent","body":1}`, rooms.CodeBadRequest, bad)
	f(`{"kind":"k","pri":1,"body":1}`, rooms.CodeBadRequest, bad)
	f(`{"kind":"k","pri":"\u006eormal","body":1}`, "", ok("k", ring.Normal, "1", ""))

	// body: required, not null, compacted before it is measured.
	f(`{"kind":"k"}`, rooms.CodeBadRequest, bad)
	f(`{"kind":"k","body":null}`, rooms.CodeBadRequest, bad)
	f(`{"kind":"k","body":"`+strings.Repeat("x", 14)+`"}`, "", ok("k", ring.Normal, `"`+strings.Repeat("x", 14)+`"`, ""))
	f(`{"kind":"k","body":"`+strings.Repeat("x", 15)+`"}`, rooms.CodeTooLarge, bad)
	f(`{"kind":"k","body":{ "a" : [ 1 , 2 , 3 ] }}`, "", ok("k", ring.Normal, `{"a":[1,2,3]}`, ""))
	f(`{"kind":"k","body":"\ud83d\ude00"}`, "", ok("k", ring.Normal, `"\ud83d\ude00"`, ""))
	f(`{"kind":"k","body":"\\ud800"}`, "", ok("k", ring.Normal, `"\\ud800"`, "")) // an escaped backslash, then text
	f(`{"kind":"k","body":"\ud800"}`, rooms.CodeBadRequest, bad)
	f(`{"kind":"k","body":"\udfff"}`, rooms.CodeBadRequest, bad)
	f(`{"kind":"k","body":"\ud800x"}`, rooms.CodeBadRequest, bad)
	f(`{"kind":"k","body":"\ud800\u0041"}`, rooms.CodeBadRequest, bad)
	f(`{"kind":"k","body":"\ud800\ud800"}`, rooms.CodeBadRequest, bad)
	f(`{"kind":"k","body":{"\ud800":1}}`, rooms.CodeBadRequest, bad)

	// cmid: at most 128 bytes.
	f(`{"kind":"k","body":1,"cmid":"`+strings.Repeat("c", 128)+`"}`, "", ok("k", ring.Normal, "1", strings.Repeat("c", 128)))
	f(`{"kind":"k","body":1,"cmid":"`+strings.Repeat("c", 129)+`"}`, rooms.CodeBadRequest, bad)
	f(`{"kind":"k","body":1,"cmid":7}`, rooms.CodeBadRequest, bad)
	f(`{"kind":"k","body":1,"cmid":"\udbff"}`, rooms.CodeBadRequest, bad)
}

// TestCheckMessageInvalidUTF8: bytes that are not UTF-8 in any string field are refused (the
// fields are given raw here: encoding/json would keep them in a RawMessage).
func TestCheckMessageInvalidUTF8(t *testing.T) {
	f := func(in messageIn) {
		t.Helper()
		if _, err := checkMessage(in, 4096); rooms.CodeOf(err) != rooms.CodeBadRequest {
			t.Errorf("%q %q %q: %v, want bad_request", in.Kind, in.Body, in.CMID, err)
		}
	}
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	for _, b := range []string{"\xff", "\xc3", "\xed\xa0\x80" /* a surrogate encoded as UTF-8 */, "\xe2\x82", "\xf4\x90\x80\x80"} {
		f(messageIn{Kind: raw(`"k` + b + `"`), Body: raw(`1`)})
		f(messageIn{Kind: raw(`"k"`), Body: raw(`"` + b + `"`)})
		f(messageIn{Kind: raw(`"k"`), Body: raw(`{"t":"` + b + `"}`)})
		f(messageIn{Kind: raw(`"k"`), Body: raw(`{"` + b + `":1}`)})
		f(messageIn{Kind: raw(`"k"`), Body: raw(`1`), CMID: raw(`"` + b + `"`)})
		f(messageIn{Kind: raw(`"k"`), Pri: raw(`"` + b + `"`), Body: raw(`1`)})
	}
}

func TestLoneSurrogate(t *testing.T) {
	f := func(s string, want bool) {
		t.Helper()
		if got := loneSurrogate([]byte(s)); got != want {
			t.Errorf("%s: %v", s, got)
		}
	}
	f(`"plain"`, false)
	f(`"\u00e9\n\\"`, false)
	f(`"\ud83d\ude00"`, false)
	f(`"\uD83D\uDE00"`, false)
	f(`"\\ud800"`, false)
	f(`"\\\ud83d\ude00"`, false)
	f(`"\ud800"`, true)
	f(`"\\\ud800"`, true)
	f(`"\udc00"`, true)
	f(`"\ud800\ud800\udc00"`, true)
	f(`"\ud800\\udc00"`, true)
	f(`"x\ud800`, true)
	f(`"\ud83d\ude00\ud83d"`, true)
	f(`["\ud83d\ude00","\ude00"]`, true)
}
