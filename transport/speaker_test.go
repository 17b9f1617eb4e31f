package transport

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/liveroom/liveroom/rooms"
)

func TestCheckNameAndMeta(t *testing.T) {
	name := func(raw, want string, ok bool) {
		t.Helper()
		got, err := checkName(json.RawMessage(raw))
		if (err == nil) != ok || got != want || (err != nil && rooms.CodeOf(err) != rooms.CodeBadRequest) {
			t.Errorf("checkName(%s) = %q, %v; want %q, ok %v", raw, got, err, want, ok)
		}
	}
	name(``, "", true)
	name(`null`, "", true)
	name(`""`, "", true)
	name(`"Ann"`, "Ann", true)
	name(`"`+strings.Repeat("安", 64)+`"`, strings.Repeat("安", 64), true)
	name(`"\u00e9\ud83d\ude00"`, "é😀", true)
	name(`"`+strings.Repeat("a", 65)+`"`, "", false)
	name(`"a\nb"`, "", false)
	name(`"a\u0000"`, "", false)
	name("\"a\u0085\"", "", false) // C1 control
	name(`"\ud800"`, "", false)
	name("\"\xff\"", "", false)
	name(`7`, "", false)
	name(`["a"]`, "", false)

	meta := func(raw, want string, ok bool) {
		t.Helper()
		got, err := checkMeta(json.RawMessage(raw))
		if (err == nil) != ok || string(got) != want {
			t.Errorf("checkMeta(%s) = %s, %v; want %s, ok %v", raw, got, err, want, ok)
		}
	}
	meta(``, "", true)
	meta(`null`, "", true)
	meta(` { } `, "", true)
	meta(` {"a" : [1, 2]} `, `{"a":[1,2]}`, true)
	meta(`{"a":"`+strings.Repeat("x", 248)+`"}`, `{"a":"`+strings.Repeat("x", 248)+`"}`, true)
	meta(`{"a":"`+strings.Repeat("x", 249)+`"}`, "", false)
	meta(`[1]`, "", false)
	meta(`"x"`, "", false)
	meta(`1`, "", false)
	meta(`{"a":}`, "", false)
	meta(`{"a":"\udc00"}`, "", false)
	meta("{\"a\":\"\xc3\"}", "", false)
}

// TestTokenSpeakerClaims: name and meta come from the token, checked on the bytes the issuer
// signed (a name that is not UTF-8 is refused, not turned into U+FFFD).
func TestTokenSpeakerClaims(t *testing.T) {
	a := NewAuth(Config{JWTSecret: "s3cret"})
	sign := func(payload string) string {
		enc := base64.RawURLEncoding
		head := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc.EncodeToString([]byte(payload))
		sig, err := jwt.SigningMethodHS256.Sign(head, []byte("s3cret"))
		if err != nil {
			t.Fatal(err)
		}
		return head + "." + enc.EncodeToString(sig)
	}
	exp := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	v, err := a.ParseToken(sign(`{"sub":"u1","exp":` + exp + `,"name":"Zoë","meta":{"lv": 3}}`))
	if err != nil || v.Name != "Zoë" || string(v.Meta) != `{"lv":3}` {
		t.Fatalf("parsed %+v, %v", v, err)
	}
	if v, err := a.ParseToken(sign(`{"sub":"u1","exp":` + exp + `}`)); err != nil || v.Name != "" || v.Meta != nil {
		t.Errorf("a token without them: %+v, %v", v, err)
	}
	for _, bad := range []string{`"name":"\xff"`, `"name":"a\tb"`, `"name":1`, `"meta":[1]`, `"meta":"x"`,
		`"meta":{"a":"` + strings.Repeat("x", 250) + `"}`} {
		if _, err := a.ParseToken(sign(`{"sub":"u1","exp":` + exp + `,` + bad + `}`)); rooms.CodeOf(err) != rooms.CodeUnauthorized {
			t.Errorf("a token with %s: %v, want unauthorized", bad, err)
		}
	}
}
