package transport

import (
	"strings"

	"github.com/valyala/fasthttp"
)

// Audit lines (PROTOCOL.md section 8.10): every admin action (bans, mutes, whitelist, kicks,
// config, notices, pins, drains) made with a valid key is logged at info level as one
// structured line, message "audit", after it was answered: the action, the key's role, the
// room and the target, the answer's status, the client's address and the request body (cut to
// auditBody bytes). Attempts without a valid key are not logged (anyone can send them; they
// are answered 401 and rate-limited like any request without a key).
//
// The action is read from the method and the path, so an endpoint added to the router is
// audited by adding its line to auditOf, without touching its handler.

// auditBody bounds the request body an audit line carries.
const auditBody = 256

// auditAction is what an admin request does: its name, the room (empty when global) and the
// target (a uid, a ts, a counter).
type auditAction struct{ name, room, target string }

// auditOf classifies a request; false for everything that is not an admin action (reads,
// viewer traffic, the backend's message posts and counter adds).
func auditOf(method, path string) (auditAction, bool) {
	rest, ok := strings.CutPrefix(path, "/v1/")
	if !ok || method == "GET" || method == "HEAD" || method == "OPTIONS" {
		return auditAction{}, false
	}
	first, rest, _ := strings.Cut(rest, "/")
	switch first {
	case "notices":
		return auditAction{name: "notice_all"}, method == "POST" && rest == ""
	case "node":
		return auditAction{name: rest}, method == "POST" && rest == "drain"
	case "bans":
		n := setName(method, "ban_global", "unban_global")
		return auditAction{name: n, target: rest}, n != "" && rest != ""
	case "viewers":
		return auditAction{name: "kick_global", target: rest}, method == "DELETE" && rest != ""
	case "rooms":
	default:
		return auditAction{}, false
	}
	room, rest, _ := strings.Cut(rest, "/")
	what, target, _ := strings.Cut(rest, "/")
	a := auditAction{room: room, target: target}
	switch {
	case what == "notices" && target == "" && method == "POST":
		a.name = "notice"
	case what == "config" && target == "" && method == "PUT":
		a.name = "config"
	case what == "bans" && target != "":
		a.name = setName(method, "ban", "unban")
	case what == "mutes" && target != "":
		a.name = setName(method, "mute", "unmute")
	case what == "whitelist" && target != "":
		a.name = setName(method, "whitelist", "unwhitelist")
	case what == "viewers" && target != "" && method == "DELETE":
		a.name = "kick"
	case what == "pins" && target != "" && method == "DELETE":
		a.name = "unpin"
	case what == "counters" && target != "" && method == "PUT":
		a.name = "counter_set"
	}
	return a, a.name != ""
}

// setName is set for PUT, unset for DELETE, "" for another method.
func setName(method, set, unset string) string {
	switch method {
	case "PUT":
		return set
	case "DELETE":
		return unset
	}
	return ""
}

// audit logs the answered admin request a, unless it came without a valid key.
func (s *Server) audit(ctx *fasthttp.RequestCtx, a auditAction) {
	role := s.auth.Role(ctx)
	if role == RoleNone {
		return
	}
	status := ctx.Response.StatusCode()
	attrs := []any{"action", a.name, "role", role.String(), "status", status, "ok", status == fasthttp.StatusOK,
		"remote", s.clientIP(ctx)}
	if a.room != "" {
		attrs = append(attrs, "room", a.room)
	}
	if a.target != "" {
		attrs = append(attrs, "target", a.target)
	}
	if b := ctx.PostBody(); len(b) > 0 {
		if len(b) > auditBody {
			b = b[:auditBody]
		}
		attrs = append(attrs, "body", string(b))
	}
	s.log.Info("audit", attrs...)
}
