package transport

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/valyala/fasthttp"

	"github.com/liveroom/liveroom/rooms"
)

// Viewer is an authenticated viewer.
type Viewer struct {
	UID   string
	Rooms []string // the token's `rooms` claim; nil = any room
	// Name and Meta are the token's `name` and `meta` claims (PROTOCOL.md 8.5), validated:
	// stamped on every message the session sends.
	Name string
	Meta json.RawMessage
	Exp  int64 // the token's expiry, unix seconds; 0: no token (a dev-mode `?uid=` login)
}

// Allows reports whether the viewer's token allows room.
func (v Viewer) Allows(room string) bool {
	if v.Rooms == nil {
		return true
	}
	for _, r := range v.Rooms {
		if r == room {
			return true
		}
	}
	return false
}

// Role is what a key may do; a higher Role can do everything a lower one can.
type Role int

const (
	RoleNone   Role = iota // no key, or a wrong one
	RoleServer             // the server key: the app's backend
	RoleAdmin              // the admin key: everything the server key can, and more
)

// String returns "none", "server" or "admin".
func (r Role) String() string {
	switch r {
	case RoleServer:
		return "server"
	case RoleAdmin:
		return "admin"
	}
	return "none"
}

// Auth checks viewer tokens (HS256 JWT: sub = uid, exp required, optional rooms) and the
// server and admin keys. It is immutable after construction and safe for concurrent use.
type Auth struct {
	secret   []byte
	apiKey   [32]byte // sha256 of the keys: compared in constant time, lengths do not leak
	adminKey [32]byte
	dev      bool
	parser   *jwt.Parser
}

type claims struct {
	Rooms []string `json:"rooms,omitzero"` // nil: any room; empty: none
	// Raw, so that checkName and checkMeta see the bytes the issuer wrote (encoding/json would
	// turn invalid UTF-8 into U+FFFD without a word).
	Name json.RawMessage `json:"name,omitempty"`
	Meta json.RawMessage `json:"meta,omitempty"`
	jwt.RegisteredClaims
}

// NewAuth builds the checker of cfg's JWTSecret, APIKey, AdminKey and Dev.
func NewAuth(cfg Config) *Auth { return newAuth(&cfg) }

func newAuth(cfg *Config) *Auth {
	return &Auth{
		secret: []byte(cfg.JWTSecret), apiKey: sha256.Sum256([]byte(cfg.APIKey)), adminKey: sha256.Sum256([]byte(cfg.AdminKey)),
		dev:    cfg.Dev,
		parser: jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired(), jwt.WithLeeway(5*time.Second)),
	}
}

func bearer(ctx *fasthttp.RequestCtx) string {
	h := string(ctx.Request.Header.Peek("Authorization"))
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

var errUnauthorized = rooms.Errorf(rooms.CodeUnauthorized, "a valid token is required")

// Viewer authenticates a viewer from `?token=` or `Authorization: Bearer <jwt>`, or from
// `?uid=` in dev mode when no token is given. A failure is a *rooms.Error with code
// unauthorized.
func (a *Auth) Viewer(ctx *fasthttp.RequestCtx) (Viewer, error) {
	tok := string(ctx.QueryArgs().Peek("token"))
	if tok == "" {
		tok = bearer(ctx)
	}
	if tok == "" {
		if uid := string(ctx.QueryArgs().Peek("uid")); a.dev && uid != "" {
			if !ValidID(uid) {
				return Viewer{}, rooms.Errorf(rooms.CodeUnauthorized, "uid must match [A-Za-z0-9_.:-]{1,128}")
			}
			return Viewer{UID: uid}, nil
		}
		return Viewer{}, errUnauthorized
	}
	return a.ParseToken(tok)
}

// ParseToken validates a viewer JWT: HS256 only, signed with the secret, exp required and not
// passed (5 s leeway), sub a valid uid.
func (a *Auth) ParseToken(tok string) (Viewer, error) {
	var c claims
	_, err := a.parser.ParseWithClaims(tok, &c, func(*jwt.Token) (any, error) { return a.secret, nil })
	if err != nil {
		msg := "invalid token"
		if errors.Is(err, jwt.ErrTokenExpired) {
			msg = "token expired"
		}
		return Viewer{}, rooms.Errorf(rooms.CodeUnauthorized, msg)
	}
	if !ValidID(c.Subject) {
		return Viewer{}, rooms.Errorf(rooms.CodeUnauthorized, "token sub must be a valid uid")
	}
	v := Viewer{UID: c.Subject, Rooms: c.Rooms, Exp: c.ExpiresAt.Unix()}
	if v.Name, err = checkName(c.Name); err == nil {
		v.Meta, err = checkMeta(c.Meta)
	}
	var bad *rooms.Error
	if errors.As(err, &bad) {
		return Viewer{}, rooms.Errorf(rooms.CodeUnauthorized, "token "+bad.Message)
	}
	return v, nil
}

// IssueToken signs a viewer token for uid valid for ttl, limited to rooms (nil = any room).
// The dev endpoint and tests use it.
func (a *Auth) IssueToken(uid string, ttl time.Duration, rooms []string) (string, error) {
	return a.IssueSpeakerToken(uid, ttl, rooms, "", nil)
}

// IssueSpeakerToken is IssueToken with the name and meta claims (left out when empty; meta is
// a JSON object).
func (a *Auth) IssueSpeakerToken(uid string, ttl time.Duration, rooms []string, name string, meta json.RawMessage) (string, error) {
	now := time.Now()
	c := claims{Rooms: rooms, Meta: meta, RegisteredClaims: jwt.RegisteredClaims{
		Subject: uid, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(ttl))}}
	if name != "" {
		c.Name, _ = json.Marshal(name)
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(a.secret)
}

// Role returns what the request's bearer key may do. Keys are compared as SHA-256 hashes in
// constant time, so neither their bytes nor their lengths leak through timing.
func (a *Auth) Role(ctx *fasthttp.RequestCtx) Role {
	k := bearer(ctx)
	if k == "" {
		return RoleNone
	}
	h := sha256.Sum256([]byte(k))
	if subtle.ConstantTimeCompare(h[:], a.adminKey[:]) == 1 {
		return RoleAdmin
	}
	if subtle.ConstantTimeCompare(h[:], a.apiKey[:]) == 1 {
		return RoleServer
	}
	return RoleNone
}
