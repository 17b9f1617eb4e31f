package transport

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/liveroom/liveroom/ring"
	"github.com/liveroom/liveroom/rooms"
)

// statusOf maps a protocol code to its HTTP status.
func statusOf(code rooms.Code) int {
	switch code {
	case rooms.CodeBadRequest:
		return fasthttp.StatusBadRequest
	case rooms.CodeUnauthorized:
		return fasthttp.StatusUnauthorized
	case rooms.CodeForbidden, rooms.CodeMuted, rooms.CodeBanned:
		return fasthttp.StatusForbidden
	case rooms.CodeNotFound:
		return fasthttp.StatusNotFound
	case rooms.CodeNotJoined, rooms.CodeTooManyRooms:
		return fasthttp.StatusConflict
	case rooms.CodeTooLarge:
		return fasthttp.StatusRequestEntityTooLarge
	case rooms.CodeRateLimited:
		return fasthttp.StatusTooManyRequests
	case rooms.CodeUnavailable:
		return fasthttp.StatusServiceUnavailable
	}
	return fasthttp.StatusInternalServerError
}

// writeError writes `{"error":{"code","message"}}` with the code's status.
func writeError(ctx *fasthttp.RequestCtx, err error) {
	code := rooms.CodeOf(err)
	msg := err.Error()
	if e, ok := err.(*rooms.Error); ok {
		msg = e.Message
	}
	b, _ := json.Marshal(map[string]any{"error": map[string]string{"code": string(code), "message": msg}})
	ctx.SetStatusCode(statusOf(code))
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}

func writeJSON(ctx *fasthttp.RequestCtx, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(ctx, err)
		return
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}

var okBody = []byte(`{"ok":true}`)

func writeOK(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType("application/json")
	ctx.SetBody(okBody)
}

func badRequest(msg string) error { return rooms.Errorf(rooms.CodeBadRequest, msg) }

// route dispatches by path; segments are split by hand (no router dependency).
func (s *Server) route(ctx *fasthttp.RequestCtx) {
	path := string(ctx.Path())
	method := string(ctx.Method())
	switch path {
	case "/v1/ws":
		s.ws.serve(ctx)
		return
	case "/healthz":
		writeOK(ctx)
		return
	case "/readyz":
		c, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := s.eng.Ready(c); err != nil {
			writeError(ctx, err)
			return
		}
		writeOK(ctx)
		return
	case "/metrics":
		s.metricH(ctx)
		return
	case "/v1/route":
		s.handleRoute(ctx)
		return
	case "/v1/dev/token":
		s.handleDevToken(ctx)
		return
	case "/v1/notices":
		if s.method(ctx, method, "POST") && s.role(ctx, RoleAdmin) {
			s.handleNoticeAll(ctx)
		}
		return
	case "/", "/admin", "/v1/sdk/liveroom.js":
		s.serveWeb(ctx, path)
		return
	}
	if rest, ok := strings.CutPrefix(path, "/v1/rooms/"); ok {
		s.routeRoom(ctx, method, strings.Split(rest, "/"))
		return
	}
	writeError(ctx, rooms.Errorf(rooms.CodeNotFound, "no such endpoint"))
}

// routeRoom handles /v1/rooms/{room}[/...].
func (s *Server) routeRoom(ctx *fasthttp.RequestCtx, method string, seg []string) {
	room := seg[0]
	if !ValidID(room) {
		writeError(ctx, badRequest("room must match [A-Za-z0-9_.:-]{1,128}"))
		return
	}
	switch {
	case len(seg) == 1:
		if s.method(ctx, method, "GET") && s.role(ctx, RoleServer) {
			s.handleInfo(ctx, room)
		}
	case len(seg) == 2 && seg[1] == "messages":
		switch method {
		case "POST":
			if s.role(ctx, RoleServer) {
				s.handlePost(ctx, room)
			}
		case "GET":
			s.handlePull(ctx, room)
		default:
			s.method(ctx, method, "GET, POST")
		}
	case len(seg) == 2 && seg[1] == "notices":
		if s.method(ctx, method, "POST") && s.role(ctx, RoleAdmin) {
			s.handleNotice(ctx, room)
		}
	case len(seg) == 2 && seg[1] == "config":
		if s.method(ctx, method, "PUT") && s.role(ctx, RoleAdmin) {
			s.handleConfig(ctx, room)
		}
	case len(seg) == 3 && (seg[1] == "bans" || seg[1] == "mutes" || seg[1] == "whitelist" || seg[1] == "viewers"):
		uid := seg[2]
		if !ValidID(uid) {
			writeError(ctx, badRequest("uid must match [A-Za-z0-9_.:-]{1,128}"))
			return
		}
		if seg[1] == "viewers" {
			if s.method(ctx, method, "DELETE") && s.role(ctx, RoleServer) {
				s.handleKick(ctx, room, uid)
			}
			return
		}
		if (method == "PUT" || s.method(ctx, method, "PUT, DELETE")) && s.role(ctx, RoleServer) {
			s.handleModerate(ctx, room, seg[1], uid, method == "PUT")
		}
	default:
		writeError(ctx, rooms.Errorf(rooms.CodeNotFound, "no such endpoint"))
	}
}

// method checks the request method against allowed ("GET" or "PUT, DELETE"), answering 405.
func (s *Server) method(ctx *fasthttp.RequestCtx, method, allowed string) bool {
	for _, m := range strings.Split(allowed, ", ") {
		if m == method {
			return true
		}
	}
	ctx.Response.Header.Set("Allow", allowed)
	writeError(ctx, badRequest("method not allowed"))
	ctx.SetStatusCode(fasthttp.StatusMethodNotAllowed)
	return false
}

// role checks the bearer key: 401 without a valid key, 403 for a server key on an admin
// endpoint.
func (s *Server) role(ctx *fasthttp.RequestCtx, need Role) bool {
	got := s.auth.Role(ctx)
	switch {
	case got == RoleNone:
		writeError(ctx, rooms.Errorf(rooms.CodeUnauthorized, "a valid key is required (Authorization: Bearer <key>)"))
		return false
	case got < need:
		writeError(ctx, rooms.Errorf(rooms.CodeForbidden, "this endpoint needs the admin key"))
		return false
	}
	return true
}

func reqCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}

// decodeStrict decodes a JSON object body into v; wrong types and trailing data are errors.
func decodeStrict(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return badRequest("a JSON body is required")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return badRequest("malformed JSON body: " + err.Error())
	}
	if dec.More() {
		return badRequest("trailing data after the JSON body")
	}
	return nil
}

type postBody struct {
	UID  *string         `json:"uid"`
	Kind *string         `json:"kind"`
	Pri  *string         `json:"pri"`
	Body json.RawMessage `json:"body"`
	CMID *string         `json:"cmid"`
}

// parsePost validates a POST messages body (also fuzzed).
func parsePost(raw []byte, maxBody int) (rooms.SendRequest, error) {
	var p postBody
	req := rooms.SendRequest{Pri: ring.Normal}
	if err := decodeStrict(raw, &p); err != nil {
		return req, err
	}
	if p.UID != nil && *p.UID != "" {
		if !ValidID(*p.UID) {
			return req, badRequest("uid must match [A-Za-z0-9_.:-]{1,128}")
		}
		req.UID = *p.UID
	}
	if p.Kind == nil || len(*p.Kind) < 1 || len(*p.Kind) > 32 {
		return req, badRequest("kind must be 1-32 characters")
	}
	req.Kind = *p.Kind
	if p.Pri != nil {
		pri, ok := ring.ParsePriority(*p.Pri)
		if !ok {
			return req, badRequest("pri must be system, high, normal or low")
		}
		req.Pri = pri
	}
	body, err := checkBody(p.Body, maxBody)
	if err != nil {
		return req, err
	}
	req.Body = body
	if p.CMID != nil {
		if len(*p.CMID) > 128 {
			return req, badRequest("cmid must be at most 128 characters")
		}
		req.CMID = *p.CMID
	}
	return req, nil
}

func (s *Server) handlePost(ctx *fasthttp.RequestCtx, room string) {
	req, err := parsePost(ctx.PostBody(), s.cfg.MaxBody)
	if err != nil {
		writeError(ctx, err)
		return
	}
	req.Source = rooms.FromServer
	if s.auth.Role(ctx) == RoleAdmin {
		req.Source = rooms.FromAdmin
	}
	s.sendAndReply(ctx, room, req)
}

// sendAndReply offers req to the room and answers with its stamp or the error.
func (s *Server) sendAndReply(ctx *fasthttp.RequestCtx, room string, req rooms.SendRequest) {
	c, cancel := reqCtx()
	defer cancel()
	st, err := s.eng.Send(c, room, req)
	if err != nil {
		writeError(ctx, err)
		return
	}
	writeJSON(ctx, st)
}

// checkBody validates a message body: present, not null, within max_body.
func checkBody(body json.RawMessage, maxBody int) (json.RawMessage, error) {
	if len(body) == 0 || string(body) == "null" {
		return nil, badRequest("body is required")
	}
	if len(body) > maxBody {
		return nil, rooms.Errorf(rooms.CodeTooLarge, "body is over max_body ("+strconv.Itoa(maxBody)+" bytes)")
	}
	return compactJSON(body), nil
}

// parseNotice validates a notice body: {"kind"?, "body"}.
func parseNotice(raw []byte, maxBody int) (rooms.SendRequest, error) {
	var p struct {
		Kind *string         `json:"kind"`
		Body json.RawMessage `json:"body"`
	}
	req := rooms.SendRequest{Kind: "notice", Pri: ring.System, Source: rooms.FromAdmin}
	if err := decodeStrict(raw, &p); err != nil {
		return req, err
	}
	if p.Kind != nil {
		if len(*p.Kind) < 1 || len(*p.Kind) > 32 {
			return req, badRequest("kind must be 1-32 characters")
		}
		req.Kind = *p.Kind
	}
	body, err := checkBody(p.Body, maxBody)
	if err != nil {
		return req, err
	}
	req.Body = body
	return req, nil
}

func (s *Server) handleNotice(ctx *fasthttp.RequestCtx, room string) {
	req, err := parseNotice(ctx.PostBody(), s.cfg.MaxBody)
	if err != nil {
		writeError(ctx, err)
		return
	}
	s.sendAndReply(ctx, room, req)
}

func (s *Server) handleNoticeAll(ctx *fasthttp.RequestCtx) {
	req, err := parseNotice(ctx.PostBody(), s.cfg.MaxBody)
	if err != nil {
		writeError(ctx, err)
		return
	}
	c, cancel := reqCtx()
	defer cancel()
	n, err := s.eng.NoticeAll(c, req.Kind, req.Body)
	if err != nil {
		writeError(ctx, err)
		return
	}
	writeJSON(ctx, map[string]int{"rooms": n})
}

// queryInt parses an optional non-negative integer query argument.
func queryInt(ctx *fasthttp.RequestCtx, name string, def int64) (int64, error) {
	v := ctx.QueryArgs().Peek(name)
	if len(v) == 0 {
		return def, nil
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil || n < 0 {
		return 0, badRequest(name + " must be a non-negative integer")
	}
	return n, nil
}

func (s *Server) handlePull(ctx *fasthttp.RequestCtx, room string) {
	if s.auth.Role(ctx) == RoleNone {
		v, err := s.auth.Viewer(ctx)
		if err != nil {
			writeError(ctx, err)
			return
		}
		if !v.Allows(room) {
			writeError(ctx, rooms.Errorf(rooms.CodeForbidden, "the token does not allow this room"))
			return
		}
	}
	since, err := queryInt(ctx, "since", 0)
	if err != nil {
		writeError(ctx, err)
		return
	}
	limit, err := queryInt(ctx, "limit", int64(s.cfg.DefaultPullLimit))
	if err != nil || limit < 1 {
		writeError(ctx, badRequest("limit must be an integer >= 1"))
		return
	}
	limit = min(limit, int64(s.cfg.PullLimit))
	wait, err := queryInt(ctx, "wait", 0)
	if err != nil {
		writeError(ctx, err)
		return
	}
	waitD := min(time.Duration(wait)*time.Second, s.cfg.MaxWait)
	if waitD > 0 {
		c, cancel := context.WithTimeout(context.Background(), waitD)
		err := s.eng.WaitNew(c, room, since)
		cancel()
		if err != nil && c.Err() == nil {
			writeError(ctx, err)
			return
		}
	}
	c, cancel := reqCtx()
	defer cancel()
	epoch, w, err := s.eng.Pull(c, room, since, int(limit))
	if err != nil {
		writeError(ctx, err)
		return
	}
	b := frameBuf(make([]byte, 0, 256)).str("room", room).str("epoch", epoch)
	b[0] = '{' // str wrote a leading comma
	b = append(b, ',')
	b = ring.AppendWindowJSON(b, &w)
	ctx.SetContentType("application/json")
	ctx.SetBody(append(b, '}'))
}

func (s *Server) handleInfo(ctx *fasthttp.RequestCtx, room string) {
	c, cancel := reqCtx()
	defer cancel()
	info, err := s.eng.Info(c, room)
	if err != nil {
		writeError(ctx, err)
		return
	}
	writeJSON(ctx, info)
}

func (s *Server) handleConfig(ctx *fasthttp.RequestCtx, room string) {
	var patch rooms.ConfigPatch
	if err := decodeStrict(ctx.PostBody(), &patch); err != nil {
		writeError(ctx, err)
		return
	}
	if _, err := patch.Apply(rooms.DefaultConfig()); err != nil {
		writeError(ctx, err) // out-of-range values, checked before reaching the room
		return
	}
	c, cancel := reqCtx()
	defer cancel()
	cfg, err := s.eng.SetConfig(c, room, patch)
	if err != nil {
		writeError(ctx, err)
		return
	}
	writeJSON(ctx, cfg)
}

var lists = map[string]rooms.List{"bans": rooms.Bans, "mutes": rooms.Mutes, "whitelist": rooms.Whitelist}

func (s *Server) handleModerate(ctx *fasthttp.RequestCtx, room, list, uid string, set bool) {
	op := rooms.ModOp{List: lists[list], UID: uid, Set: set}
	if set && len(bytes.TrimSpace(ctx.PostBody())) > 0 {
		var p struct {
			TTL *int64 `json:"ttl_s"`
		}
		if err := decodeStrict(ctx.PostBody(), &p); err != nil {
			writeError(ctx, err)
			return
		}
		if p.TTL != nil {
			if *p.TTL < 0 || *p.TTL > 10*365*24*3600 {
				writeError(ctx, badRequest("ttl_s must be between 0 (forever) and 10 years"))
				return
			}
			op.TTL = time.Duration(*p.TTL) * time.Second
		}
	}
	c, cancel := reqCtx()
	defer cancel()
	if err := s.eng.Moderate(c, room, op); err != nil {
		writeError(ctx, err)
		return
	}
	writeOK(ctx)
}

func (s *Server) handleKick(ctx *fasthttp.RequestCtx, room, uid string) {
	c, cancel := reqCtx()
	defer cancel()
	if err := s.eng.KickViewer(c, room, uid); err != nil {
		writeError(ctx, err)
		return
	}
	writeOK(ctx)
}

func (s *Server) handleRoute(ctx *fasthttp.RequestCtx) {
	if !s.method(ctx, string(ctx.Method()), "GET") {
		return
	}
	uid := string(ctx.QueryArgs().Peek("uid"))
	if !ValidID(uid) {
		writeError(ctx, badRequest("uid must match [A-Za-z0-9_.:-]{1,128}"))
		return
	}
	c, cancel := reqCtx()
	defer cancel()
	node, ws, err := s.eng.Route(c, uid)
	if err != nil {
		writeError(ctx, err)
		return
	}
	if node == "" { // no directory: this node
		node, ws = s.cfg.Node, s.cfg.Advertise
		if ws == "" {
			ws = "ws://" + string(ctx.Host()) + "/v1/ws"
		}
	}
	writeJSON(ctx, map[string]string{"node": node, "ws": ws})
}

func (s *Server) handleDevToken(ctx *fasthttp.RequestCtx) {
	if !s.cfg.Dev {
		writeError(ctx, rooms.Errorf(rooms.CodeNotFound, "no such endpoint (dev mode only)"))
		return
	}
	uid := string(ctx.QueryArgs().Peek("uid"))
	if !ValidID(uid) {
		writeError(ctx, badRequest("uid must match [A-Za-z0-9_.:-]{1,128}"))
		return
	}
	tok, err := s.auth.IssueToken(uid, 24*time.Hour, nil)
	if err != nil {
		writeError(ctx, err)
		return
	}
	writeJSON(ctx, map[string]string{"token": tok})
}
