package transport

import (
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/valyala/fasthttp"

	"github.com/liveroom/liveroom/ring"
	"github.com/liveroom/liveroom/rooms"
)

func TestValidID(t *testing.T) {
	f := func(s string, want bool) {
		t.Helper()
		if ValidID(s) != want {
			t.Errorf("ValidID(%q) = %v", s, !want)
		}
	}
	f("room-1", true)
	f("A.b:c_d-9", true)
	f(strings.Repeat("a", 128), true)
	f(strings.Repeat("a", 129), false)
	f("", false)
	f("a b", false)
	f("a/b", false)
	f("é", false)
}

func testAuth(dev bool) *Auth {
	return newAuth(&Config{JWTSecret: "s3cret", APIKey: "api", AdminKey: "adm", Dev: dev})
}

func reqWith(uri, authz string) *fasthttp.RequestCtx {
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI(uri)
	if authz != "" {
		ctx.Request.Header.Set("Authorization", authz)
	}
	return &ctx
}

func TestViewerAuth(t *testing.T) {
	a := testAuth(false)
	good, _ := a.IssueToken("alice", time.Minute, []string{"r1"})
	expired, _ := a.IssueToken("alice", -time.Minute, nil)
	noExp, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "alice"}).SignedString([]byte("s3cret"))
	wrongKey, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte("other"))
	hs512, _ := jwt.NewWithClaims(jwt.SigningMethodHS512, jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte("s3cret"))
	badSub, _ := a.IssueToken("bad uid", time.Minute, nil)
	f := func(uri, authz string, wantUID string) {
		t.Helper()
		v, err := a.Viewer(reqWith(uri, authz))
		if wantUID == "" {
			if rooms.CodeOf(err) != rooms.CodeUnauthorized {
				t.Errorf("%s %s: got %v %v, want unauthorized", uri, authz, v, err)
			}
			return
		}
		if err != nil || v.UID != wantUID {
			t.Errorf("%s: got %v %v", uri, v, err)
		}
	}
	f("/v1/ws?token="+good, "", "alice")
	f("/v1/ws", "Bearer "+good, "alice")
	f("/v1/ws?token="+expired, "", "")
	f("/v1/ws?token="+noExp, "", "")
	f("/v1/ws?token="+wrongKey, "", "")
	f("/v1/ws?token="+hs512, "", "")
	f("/v1/ws?token="+badSub, "", "")
	f("/v1/ws?uid=alice", "", "") // dev only
	f("/v1/ws", "", "")
	v, _ := a.ParseToken(good)
	if !v.Allows("r1") || v.Allows("r2") {
		t.Errorf("rooms claim not honoured: %v", v.Rooms)
	}
	d := testAuth(true)
	if v, err := d.Viewer(reqWith("/v1/ws?uid=bob", "")); err != nil || v.UID != "bob" || !v.Allows("any") {
		t.Errorf("dev uid login: %v %v", v, err)
	}
	if _, err := d.Viewer(reqWith("/v1/ws?uid=bad%20uid", "")); err == nil {
		t.Error("dev login with an invalid uid")
	}
}

func TestRoles(t *testing.T) {
	a := testAuth(false)
	f := func(authz string, want Role) {
		t.Helper()
		if got := a.Role(reqWith("/", authz)); got != want {
			t.Errorf("%q: role %v want %v", authz, got, want)
		}
	}
	f("Bearer api", RoleServer)
	f("bearer adm", RoleAdmin)
	f("Bearer ap", RoleNone)
	f("Bearer apix", RoleNone)
	f("api", RoleNone)
	f("", RoleNone)
}

func TestLimiter(t *testing.T) {
	t0 := time.Unix(1000, 0)
	l := newLimiter(2, 10*time.Second, 30*time.Second)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	f := func(s float64, want bool) {
		t.Helper()
		if got := l.allow("ip", at(s)); got != want {
			t.Errorf("attempt at %vs: %v want %v", s, got, want)
		}
	}
	f(0, true)
	f(1, true)
	f(2, false)  // over the limit: blocked until 32
	f(11, false) // retry while blocked: blocked until 41
	f(40, false) // until 70
	f(71, true)
	if !l.allow("other", at(2)) {
		t.Error("keys are not independent")
	}
	// Bounded memory: a flood of distinct keys stays within the LRU bound.
	for i := 0; i < 300000; i++ {
		l.allow(strings.Repeat("k", i%7)+string(rune('a'+i%26))+time.Duration(i).String(), at(100))
	}
	n := 0
	for i := range l.shards {
		n += l.shards[i].keys.Len()
	}
	if n > len(l.shards)*limiterKeysPerShard {
		t.Errorf("limiter holds %d keys", n)
	}
}

func TestParsePost(t *testing.T) {
	f := func(body string, wantCode rooms.Code) {
		t.Helper()
		req, err := parsePost([]byte(body), 64)
		if wantCode == "" {
			if err != nil {
				t.Errorf("%s: %v", body, err)
			}
			if req.Kind == "" || len(req.Body) == 0 {
				t.Errorf("%s: parsed %+v", body, req)
			}
			return
		}
		if rooms.CodeOf(err) != wantCode {
			t.Errorf("%s: err %v, want %s", body, err, wantCode)
		}
	}
	f(`{"uid":"u1","kind":"chat","body":{"a":1}}`, "")
	f(`{"uid":"","kind":"chat","body":1,"pri":"high","cmid":"c"}`, "")
	f(`{"uid":"u1","kind":"chat"}`, rooms.CodeBadRequest)
	f(`{"uid":"u 1","kind":"chat","body":1}`, rooms.CodeBadRequest)
	f(`{"uid":1,"kind":"chat","body":1}`, rooms.CodeBadRequest)
	f(`{"uid":"u","kind":"","body":1}`, rooms.CodeBadRequest)
	f(`{"uid":"u","kind":"chat","pri":"urgent","body":1}`, rooms.CodeBadRequest)
	f(`{"uid":"u","kind":"chat","body":"`+strings.Repeat("x", 100)+`"}`, rooms.CodeTooLarge)
	f(`{"uid":"u","kind":"chat","body":1} {}`, rooms.CodeBadRequest)
	f(``, rooms.CodeBadRequest)
	f(`[]`, rooms.CodeBadRequest)
	req, _ := parsePost([]byte(`{"kind":"k","body":{ "a" : 1 }}`), 64)
	if string(req.Body) != `{"a":1}` || req.Pri != ring.Normal {
		t.Errorf("body not compacted or pri not defaulted: %s %v", req.Body, req.Pri)
	}
}

func TestStatusOf(t *testing.T) {
	for code, want := range map[rooms.Code]int{
		rooms.CodeBadRequest: 400, rooms.CodeUnauthorized: 401, rooms.CodeForbidden: 403, rooms.CodeMuted: 403,
		rooms.CodeBanned: 403, rooms.CodeTooLarge: 413, rooms.CodeRateLimited: 429, rooms.CodeUnavailable: 503,
		rooms.CodeInternal: 500, rooms.CodeNotFound: 404,
	} {
		if got := statusOf(code); got != want {
			t.Errorf("%s -> %d, want %d", code, got, want)
		}
	}
}
