package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// API is a client of the HTTP API (PROTOCOL.md section 5) for the app's backend (server key),
// admins (admin key) or a viewer (its JWT as the key, for Pull).
//
// fasthttp has no request cancellation: a request ends at ctx's deadline (or after Timeout
// when ctx has none), and a ctx cancelled mid-request is only noticed when it returns.
type API struct {
	base string
	key  string
	hc   *fasthttp.Client
	// Timeout bounds a request whose ctx has no deadline (default 10s; a long-poll Pull adds
	// its wait).
	Timeout time.Duration
}

// NewAPI returns a client for the server at baseURL (http://host:port) sending
// "Authorization: Bearer key" (no header when key is empty).
func NewAPI(baseURL, key string) *API {
	return &API{
		base: strings.TrimRight(baseURL, "/"),
		key:  key,
		hc: &fasthttp.Client{
			// Retries are decided in do, where it is known which requests are safe to resend.
			RetryIfErr:             func(*fasthttp.Request, int, error) (bool, bool) { return false, false },
			Name:                   "liveroom-client",
			MaxConnsPerHost:        1024,
			MaxIdleConnDuration:    30 * time.Second,
			DisablePathNormalizing: true, // keep escaped ids (%2F) as they are
		},
		Timeout: 10 * time.Second,
	}
}

// PostMessage is the body of POST /v1/rooms/{room}/messages. Pri may be empty (normal);
// Body must be valid JSON.
type PostMessage struct {
	UID  string          `json:"uid"`
	Kind string          `json:"kind"`
	Pri  string          `json:"pri,omitempty"`
	Body json.RawMessage `json:"body,omitempty"`
	CMID string          `json:"cmid,omitempty"`
}

// RoomInfo is GET /v1/rooms/{room}.
type RoomInfo struct {
	Room   string          `json:"room"`
	Online int64           `json:"online"`
	TS     int64           `json:"ts"`
	Seq    uint64          `json:"seq"`
	Config json.RawMessage `json:"config"` // decode into RoomConfig for the documented fields
	Stats  RoomStats       `json:"stats"`
}

// RoomStats are the counters of RoomInfo.
type RoomStats struct {
	Accepted    uint64 `json:"accepted"`
	RateLimited uint64 `json:"rate_limited"`
	Evicted     uint64 `json:"evicted"`
	Notifies    uint64 `json:"notifies"`
	Pulls       uint64 `json:"pulls"`
}

// RoomConfig holds the documented fields of a room's config (upstream rates in msg/s, ring
// capacities). A patch for SetConfig may be a RoomConfig only when every field is meant: the
// zero values would be sent too; use a map for a partial patch.
type RoomConfig struct {
	Rate PriRates `json:"rate"`
	Ring PriRings `json:"ring"`
}

// PriRates are upstream limits per priority (system has none).
type PriRates struct {
	High   float64 `json:"high"`
	Normal float64 `json:"normal"`
	Low    float64 `json:"low"`
}

// PriRings are ring capacities per priority.
type PriRings struct {
	System int `json:"system"`
	High   int `json:"high"`
	Normal int `json:"normal"`
	Low    int `json:"low"`
}

// Route is GET /v1/route: the node owning a uid and its WebSocket URL.
type Route struct {
	Node string `json:"node"`
	WS   string `json:"ws"`
}

func roomPath(room string) string { return "/v1/rooms/" + url.PathEscape(room) }

// Post posts a message as the app's backend.
func (a *API) Post(ctx context.Context, room string, m PostMessage) (Sent, error) {
	if len(m.Body) > 0 && !json.Valid(m.Body) {
		return Sent{}, errors.New("liveroom api: PostMessage.Body is not valid JSON")
	}
	var s Sent
	// With a cmid, a resend is de-duplicated by the room: safe to retry on a stale connection.
	err := a.do(ctx, "POST", roomPath(room)+"/messages", m, &s, 0, m.CMID != "")
	return s, err
}

// Notice posts a system notice to room (admin key). kind may be empty (the server's default).
func (a *API) Notice(ctx context.Context, room, kind string, body any) (Sent, error) {
	var s Sent
	err := a.Do(ctx, "POST", roomPath(room)+"/notices", noticeBody(kind, body), &s)
	return s, err
}

// NoticeAll posts the same notice to every active room (admin key) and returns how many.
func (a *API) NoticeAll(ctx context.Context, kind string, body any) (rooms int, err error) {
	var r struct {
		Rooms int `json:"rooms"`
	}
	err = a.Do(ctx, "POST", "/v1/notices", noticeBody(kind, body), &r)
	return r.Rooms, err
}

func noticeBody(kind string, body any) map[string]any {
	m := map[string]any{"body": body}
	if kind != "" {
		m["kind"] = kind
	}
	return m
}

// Room returns a room's state, config and counters.
func (a *API) Room(ctx context.Context, room string) (RoomInfo, error) {
	var ri RoomInfo
	err := a.Do(ctx, "GET", roomPath(room), nil, &ri)
	return ri, err
}

// SetConfig patches a room's config (admin key) and returns the whole new config.
func (a *API) SetConfig(ctx context.Context, room string, patch any) (json.RawMessage, error) {
	var raw json.RawMessage
	err := a.Do(ctx, "PUT", roomPath(room)+"/config", patch, &raw)
	return raw, err
}

func ttlBody(ttl time.Duration) (any, error) {
	if ttl < 0 {
		return nil, fmt.Errorf("liveroom api: negative ttl %v", ttl)
	}
	secs := int64(ttl / time.Second)
	if ttl%time.Second != 0 {
		secs++ // never shorten a ttl to 0, which means forever
	}
	return map[string]int64{"ttl_s": secs}, nil
}

func (a *API) putList(ctx context.Context, room, list, uid string, ttl time.Duration) error {
	body, err := ttlBody(ttl)
	if err != nil {
		return err
	}
	return a.Do(ctx, "PUT", roomPath(room)+"/"+list+"/"+url.PathEscape(uid), body, nil)
}

func (a *API) deleteList(ctx context.Context, room, list, uid string) error {
	return a.Do(ctx, "DELETE", roomPath(room)+"/"+list+"/"+url.PathEscape(uid), nil, nil)
}

// Ban bans uid from room for ttl (0 = forever); its sessions are kicked from the room.
func (a *API) Ban(ctx context.Context, room, uid string, ttl time.Duration) error {
	return a.putList(ctx, room, "bans", uid, ttl)
}

// Unban lifts a ban.
func (a *API) Unban(ctx context.Context, room, uid string) error {
	return a.deleteList(ctx, room, "bans", uid)
}

// Mute stops uid from sending in room for ttl (0 = forever).
func (a *API) Mute(ctx context.Context, room, uid string, ttl time.Duration) error {
	return a.putList(ctx, room, "mutes", uid, ttl)
}

// Unmute lifts a mute.
func (a *API) Unmute(ctx context.Context, room, uid string) error {
	return a.deleteList(ctx, room, "mutes", uid)
}

// Whitelist makes uid's messages in room high priority for ttl (0 = forever).
func (a *API) Whitelist(ctx context.Context, room, uid string, ttl time.Duration) error {
	return a.putList(ctx, room, "whitelist", uid, ttl)
}

// Unwhitelist takes uid off the whitelist.
func (a *API) Unwhitelist(ctx context.Context, room, uid string) error {
	return a.deleteList(ctx, room, "whitelist", uid)
}

// Kick kicks uid's sessions from room (kick reason "kicked").
func (a *API) Kick(ctx context.Context, room, uid string) error {
	return a.Do(ctx, "DELETE", roomPath(room)+"/viewers/"+url.PathEscape(uid), nil, nil)
}

// Pull is a pull over HTTP (section 4); limit <= 0 leaves it to the server; wait > 0
// long-polls (whole seconds, rounded up; the server caps it at 30 s) until the window is
// non-empty.
func (a *API) Pull(ctx context.Context, room string, since int64, limit int, wait time.Duration) (Msgs, error) {
	q := "?since=" + strconv.FormatInt(since, 10)
	if limit > 0 {
		q += "&limit=" + strconv.Itoa(limit)
	}
	var extra time.Duration
	if wait > 0 {
		secs := int64((wait + time.Second - 1) / time.Second)
		q += "&wait=" + strconv.FormatInt(secs, 10)
		extra = time.Duration(secs) * time.Second
	}
	var m Msgs
	err := a.do(ctx, "GET", roomPath(room)+"/messages"+q, nil, &m, extra, true)
	return m, err
}

// Route asks which node owns uid.
func (a *API) Route(ctx context.Context, uid string) (Route, error) {
	var r Route
	err := a.Do(ctx, "GET", "/v1/route?uid="+url.QueryEscape(uid), nil, &r)
	return r, err
}

// DevToken gets a viewer JWT for uid from a --dev server.
func (a *API) DevToken(ctx context.Context, uid string) (string, error) {
	var r struct {
		Token string `json:"token"`
	}
	err := a.Do(ctx, "GET", "/v1/dev/token?uid="+url.QueryEscape(uid), nil, &r)
	return r.Token, err
}

// Health is GET /healthz: nil when the server is alive.
func (a *API) Health(ctx context.Context) error { return a.Do(ctx, "GET", "/healthz", nil, nil) }

// Ready is GET /readyz: nil when the server is ready.
func (a *API) Ready(ctx context.Context) error { return a.Do(ctx, "GET", "/readyz", nil, nil) }

// Do sends one request to path (with its query) with body encoded as JSON (none when nil)
// and decodes a 2xx answer into out (skipped when nil). Other statuses are *APIError. It is
// the building block of the methods above, exported for JSON endpoints they do not
// wrap.
//
// A request that meets a kept-alive connection the server had closed (a server restart) is
// sent once more, except a POST: a message or notice could then be accepted twice. Post
// retries when the message has a cmid, which the room de-duplicates.
func (a *API) Do(ctx context.Context, method, path string, body, out any) error {
	return a.do(ctx, method, path, body, out, 0, method != "POST")
}

func (a *API) do(ctx context.Context, method, path string, body, out any, extra time.Duration, retrySafe bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(a.base + path)
	req.Header.SetMethod(method)
	if a.key != "" {
		req.Header.Set("Authorization", "Bearer "+a.key)
	}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("liveroom api: encoding the request body: %w", err)
		}
		req.SetBodyRaw(b)
		req.Header.SetContentType("application/json")
	}
	timeout := a.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	deadline := time.Now().Add(timeout + extra)
	if d, ok := ctx.Deadline(); ok {
		deadline = d
	}
	err := a.hc.DoDeadline(req, resp, deadline)
	if err != nil && retrySafe && errors.Is(err, fasthttp.ErrConnectionClosed) && ctx.Err() == nil {
		resp.Reset()
		err = a.hc.DoDeadline(req, resp, deadline)
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, fasthttp.ErrTimeout) {
			return fmt.Errorf("liveroom api: %s %s: %w", method, path, context.DeadlineExceeded)
		}
		return fmt.Errorf("liveroom api: %s %s: %w", method, path, err)
	}
	status := resp.StatusCode()
	if status < 200 || status > 299 {
		return decodeAPIError(status, resp.Body())
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(resp.Body(), out); err != nil {
		return fmt.Errorf("liveroom api: %s %s: decoding the answer: %w", method, path, err)
	}
	return nil
}

func decodeAPIError(status int, body []byte) *APIError {
	var e struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != nil && e.Error.Code != "" {
		return &APIError{Status: status, Code: e.Error.Code, Message: e.Error.Message}
	}
	msg := string(body)
	if len(msg) > 256 {
		msg = msg[:256]
	}
	return &APIError{Status: status, Message: strings.TrimSpace(msg)}
}
