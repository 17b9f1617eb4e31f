package transport

import (
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/valyala/fasthttp"

	"github.com/liveroom/liveroom/rooms"
)

// tokenExpiry reads a token's exp without checking it.
func tokenExpiry(t *testing.T, tok string) time.Time {
	t.Helper()
	var c jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(tok, &c); err != nil || c.ExpiresAt == nil {
		t.Fatalf("token %q: %v", tok, err)
	}
	return c.ExpiresAt.Time
}

func authRequest(uri, authz string) *fasthttp.RequestCtx {
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI(uri)
	if authz != "" {
		ctx.Request.Header.Set("Authorization", authz)
	}
	return &ctx
}

// TestAuthViewerTokens covers the claims and algorithms a viewer token may (not) have.
func TestAuthViewerTokens(t *testing.T) {
	a := NewAuth(Config{JWTSecret: tSecret, APIKey: tAPI, AdminKey: tAdmin})
	sign := func(m jwt.SigningMethod, key any, claims jwt.MapClaims) string {
		t.Helper()
		s, err := jwt.NewWithClaims(m, claims).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	hs := func(claims jwt.MapClaims) string { return sign(jwt.SigningMethodHS256, []byte(tSecret), claims) }
	exp := time.Now().Add(time.Hour).Unix()
	f := func(tok, wantUID string, wantRooms []string) {
		t.Helper()
		v, err := a.ParseToken(tok)
		if wantUID == "" {
			if rooms.CodeOf(err) != rooms.CodeUnauthorized {
				t.Errorf("%.60s: accepted as %+v (%v)", tok, v, err)
			}
			return
		}
		if err != nil || v.UID != wantUID || strings.Join(v.Rooms, ",") != strings.Join(wantRooms, ",") || (v.Rooms == nil) != (wantRooms == nil) {
			t.Errorf("%.60s: %+v %v, want %s %q", tok, v, err, wantUID, wantRooms)
		}
	}
	f(hs(jwt.MapClaims{"sub": "u1", "exp": exp}), "u1", nil)
	f(hs(jwt.MapClaims{"sub": "u1", "exp": exp, "rooms": []string{"a", "b"}}), "u1", []string{"a", "b"})
	f(hs(jwt.MapClaims{"sub": "u1", "exp": exp, "rooms": []string{}}), "u1", []string{})
	f(hs(jwt.MapClaims{"sub": "u1", "exp": exp, "rooms": nil}), "u1", nil)
	f(hs(jwt.MapClaims{"sub": "u1", "exp": exp, "extra": 1}), "u1", nil)
	f(hs(jwt.MapClaims{"sub": "u1", "exp": time.Now().Add(-time.Minute).Unix()}), "", nil) // expired
	f(hs(jwt.MapClaims{"sub": "u1"}), "", nil)                                             // exp missing
	f(hs(jwt.MapClaims{"sub": "u1", "exp": "tomorrow"}), "", nil)
	f(hs(jwt.MapClaims{"exp": exp}), "", nil) // no sub
	f(hs(jwt.MapClaims{"sub": "", "exp": exp}), "", nil)
	f(hs(jwt.MapClaims{"sub": "u/1", "exp": exp}), "", nil)
	f(hs(jwt.MapClaims{"sub": "u1", "exp": exp, "rooms": "r1"}), "", nil)
	f(hs(jwt.MapClaims{"sub": "u1", "exp": exp, "nbf": time.Now().Add(time.Hour).Unix()}), "", nil)
	f(sign(jwt.SigningMethodHS256, []byte("not the secret"), jwt.MapClaims{"sub": "u1", "exp": exp}), "", nil)
	f(sign(jwt.SigningMethodHS384, []byte(tSecret), jwt.MapClaims{"sub": "u1", "exp": exp}), "", nil)
	f(sign(jwt.SigningMethodHS512, []byte(tSecret), jwt.MapClaims{"sub": "u1", "exp": exp}), "", nil)
	f(sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, jwt.MapClaims{"sub": "u1", "exp": exp}), "", nil)
	f("", "", nil)
	f("a.b.c", "", nil)
	f(strings.Repeat("x", 5000), "", nil)

	// IssueToken round-trips, with its rooms.
	for _, rs := range [][]string{nil, {}, {"r1"}} {
		tok, err := a.IssueToken("u9", time.Minute, rs)
		if err != nil {
			t.Fatal(err)
		}
		f(tok, "u9", rs)
	}
}

// TestAuthViewerSources: header or ?token=, and ?uid= in dev mode only.
func TestAuthViewerSources(t *testing.T) {
	prod := NewAuth(Config{JWTSecret: tSecret, APIKey: tAPI, AdminKey: tAdmin})
	dev := NewAuth(Config{JWTSecret: tSecret, APIKey: tAPI, AdminKey: tAdmin, Dev: true})
	good, _ := prod.IssueToken("u1", time.Hour, nil)
	f := func(a *Auth, uri, authz, wantUID string) {
		t.Helper()
		v, err := a.Viewer(authRequest(uri, authz))
		if wantUID == "" {
			if _, ok := err.(*rooms.Error); !ok || rooms.CodeOf(err) != rooms.CodeUnauthorized {
				t.Errorf("%s %q: %+v %v, want an unauthorized *rooms.Error", uri, authz, v, err)
			}
			return
		}
		if err != nil || v.UID != wantUID {
			t.Errorf("%s %q: %+v %v, want %s", uri, authz, v, err, wantUID)
		}
	}
	for _, a := range []*Auth{prod, dev} {
		f(a, "/v1/ws?token="+good, "", "u1")
		f(a, "/v1/ws", "Bearer "+good, "u1")
		f(a, "/v1/ws", "bearer  "+good+" ", "u1")
		f(a, "/v1/ws", "", "")
		f(a, "/v1/ws", "Bearer", "")
		f(a, "/v1/ws", good, "")
		f(a, "/v1/ws?token=", "", "")
		f(a, "/v1/ws?token=bad&uid=u2", "", "") // a bad token is not rescued by ?uid=
	}
	f(prod, "/v1/ws?uid=u2", "", "")
	f(dev, "/v1/ws?uid=u2", "", "u2")
	f(dev, "/v1/ws?uid=u%202", "", "")
	f(dev, "/v1/ws?token="+good+"&uid=u2", "", "u1") // the token wins
	if v, _ := dev.Viewer(authRequest("/v1/ws?uid=u2", "")); v.Rooms != nil {
		t.Errorf("dev login limited to rooms %q", v.Rooms)
	}
}

func TestViewerAllows(t *testing.T) {
	f := func(v Viewer, room string, want bool) {
		t.Helper()
		if v.Allows(room) != want {
			t.Errorf("%+v allows %s: %v", v, room, !want)
		}
	}
	f(Viewer{UID: "u"}, "r1", true)
	f(Viewer{UID: "u", Rooms: []string{"r1", "r2"}}, "r2", true)
	f(Viewer{UID: "u", Rooms: []string{"r1", "r2"}}, "r3", false)
	f(Viewer{UID: "u", Rooms: []string{"r1"}}, "R1", false)
	f(Viewer{UID: "u", Rooms: []string{}}, "r1", false)
}

func TestAuthRoles(t *testing.T) {
	a := NewAuth(Config{JWTSecret: tSecret, APIKey: tAPI, AdminKey: tAdmin})
	f := func(authz string, want Role) {
		t.Helper()
		if got := a.Role(authRequest("/", authz)); got != want {
			t.Errorf("%q: %v, want %v", authz, got, want)
		}
	}
	f("Bearer "+tAPI, RoleServer)
	f("Bearer "+tAdmin, RoleAdmin)
	f("BEARER "+tAdmin, RoleAdmin)
	f("Bearer "+tAdmin+" ", RoleAdmin)
	f("Bearer "+tAdmin[:len(tAdmin)-1], RoleNone)
	f("Bearer "+tAdmin+"x", RoleNone)
	f("Bearer "+strings.ToUpper(tAPI), RoleNone)
	f("Bearer ", RoleNone)
	f("Bearer", RoleNone)
	f("Basic "+tAPI, RoleNone)
	f(tAPI, RoleNone)
	f("", RoleNone)
	if RoleAdmin <= RoleServer || RoleServer <= RoleNone {
		t.Error("roles are not ordered")
	}
	if RoleAdmin.String() != "admin" || RoleServer.String() != "server" || RoleNone.String() != "none" {
		t.Error("role names")
	}
	// An empty key never matches (New refuses empty keys; the hashes of "" must not match
	// an absent header either).
	empty := NewAuth(Config{JWTSecret: tSecret})
	if got := empty.Role(authRequest("/", "Bearer ")); got != RoleNone {
		t.Errorf("empty key matched: %v", got)
	}
}
