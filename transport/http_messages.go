package transport

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/liveroom/liveroom/rooms"
	"github.com/liveroom/liveroom/wire"
)

// handlePost is `POST /v1/rooms/{room}/messages` (server or admin key).
func (s *Server) handlePost(ctx *fasthttp.RequestCtx, room string, role Role) {
	req, err := parsePost(ctx.PostBody(), s.cfg.MaxBody)
	if err != nil {
		writeError(ctx, err)
		return
	}
	req.Source = rooms.FromServer
	if role == RoleAdmin {
		req.Source = rooms.FromAdmin
	}
	s.sendAndReply(ctx, room, req)
}

// handleNotice is `POST /v1/rooms/{room}/notices` (admin key): a system message.
func (s *Server) handleNotice(ctx *fasthttp.RequestCtx, room string) {
	req, err := parseNotice(ctx.PostBody(), s.cfg.MaxBody)
	if err != nil {
		writeError(ctx, err)
		return
	}
	s.sendAndReply(ctx, room, req)
}

// sendAndReply offers req to the room and answers `{"ts","seq"}` (plus `"dup":true`) or the
// room's error.
func (s *Server) sendAndReply(ctx *fasthttp.RequestCtx, room string, req rooms.SendRequest) {
	c, cancel := reqCtx()
	defer cancel()
	st, err := s.eng.Send(c, room, req)
	if err != nil {
		writeError(ctx, err)
		return
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(wire.AppendStampBody(make([]byte, 0, 64), st.TS, st.Seq, st.Dup))
}

// handleUnpin is `DELETE /v1/rooms/{room}/pins/{ts}` (admin key): the pin ends with an unpin
// notice, answered `{"ts","seq"}` as a notice is; 404 not_found when nothing is pinned at ts.
func (s *Server) handleUnpin(ctx *fasthttp.RequestCtx, room, tsArg string) {
	ts, err := strconv.ParseInt(tsArg, 10, 64)
	if err != nil || ts < 1 {
		writeError(ctx, badRequest("the pin is named by its message's ts, an integer >= 1"))
		return
	}
	c, cancel := reqCtx()
	defer cancel()
	st, err := s.eng.Unpin(c, room, ts)
	if err != nil {
		writeError(ctx, err)
		return
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(wire.AppendStampBody(make([]byte, 0, 64), st.TS, st.Seq, st.Dup))
}

// handleNoticeAll is `POST /v1/notices` (admin key): the notice to every active room.
func (s *Server) handleNoticeAll(ctx *fasthttp.RequestCtx) {
	req, err := parseNotice(ctx.PostBody(), s.cfg.MaxBody)
	if err == nil && req.CMID != "" {
		err = badRequest("cmid applies to one room's notices, not to /v1/notices")
	}
	if err == nil && req.PinS != 0 {
		err = badRequest("pin_s applies to one room's notices, not to /v1/notices")
	}
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
	ctx.SetContentType("application/json")
	ctx.SetBody(wire.AppendRoomsBody(nil, n))
}

// handlePull is `GET /v1/rooms/{room}/messages?since=&limit=&wait=`: a viewer token allowing
// the room, or the server or admin key. With wait > 0 it first long-polls until the room has a
// message newer than since, the wait runs out or the server shuts down; then it answers the
// window (possibly empty) as `{"room","epoch","msgs","dropped","next","more"}`.
func (s *Server) handlePull(ctx *fasthttp.RequestCtx, room string) {
	var uid string
	if s.auth.Role(ctx) == RoleNone {
		v, err := s.auth.Viewer(ctx)
		if err != nil {
			writeError(ctx, err)
			return
		}
		if !s.ids(ctx, room) {
			return
		}
		if !v.Allows(room) {
			writeError(ctx, rooms.Errorf(rooms.CodeForbidden, "the token does not allow this room"))
			return
		}
		uid = v.UID
		if !s.uidRate.allow(uid, time.Now()) {
			s.metrics.ConnRejected.WithLabelValues("http_uid_rate").Inc()
			writeError(ctx, rooms.Errorf(rooms.CodeRateLimited, "too many requests for this user"))
			return
		}
	} else if !s.ids(ctx, room) {
		return
	}
	args := ctx.QueryArgs()
	q, err := parsePullQuery(args.Peek, s.cfg.DefaultPullLimit, s.cfg.PullLimit, s.cfg.MaxWait)
	if err != nil {
		writeError(ctx, err)
		return
	}
	if q.wait > 0 {
		release, ok := s.holdLongPoll(ctx, uid)
		if !ok {
			return
		}
		defer release()
		c, cancel := context.WithTimeout(s.base, q.wait)
		err := s.eng.WaitNew(c, room, uid, q.since)
		cancel()
		if err != nil && c.Err() == nil {
			writeError(ctx, err)
			return
		}
	}
	c, cancel := reqCtx()
	defer cancel()
	res, err := s.eng.Pull(c, room, uid, q.since, q.limit)
	if err != nil {
		writeError(ctx, err)
		return
	}
	bp := pullBufs.Get().(*[]byte)
	b := wire.AppendPullBody((*bp)[:0], room, res.Epoch, res.Body)
	ctx.SetContentType("application/json")
	ctx.SetBody(b) // copies into the response's own pooled buffer
	if cap(b) <= 1<<20 {
		*bp = b
		pullBufs.Put(bp)
	}
}

// holdLongPoll counts a long-poll against its IP and (for a viewer) its uid; false: over a
// cap, answered 429. release gives the places back.
func (s *Server) holdLongPoll(ctx *fasthttp.RequestCtx, uid string) (release func(), ok bool) {
	ip := s.clientIP(ctx)
	if !s.pollsIP.take(ip) {
		s.metrics.ConnRejected.WithLabelValues("long_polls_ip").Inc()
		writeError(ctx, rooms.Errorf(rooms.CodeRateLimited, "too many long-polls from this address"))
		return nil, false
	}
	if uid != "" && !s.pollsUID.take(uid) {
		s.pollsIP.give(ip)
		s.metrics.ConnRejected.WithLabelValues("long_polls_uid").Inc()
		writeError(ctx, rooms.Errorf(rooms.CodeRateLimited, "too many long-polls for this user"))
		return nil, false
	}
	return func() {
		s.pollsIP.give(ip)
		if uid != "" {
			s.pollsUID.give(uid)
		}
	}, true
}

// pullBufs are the buffers pull answers are built in. BenchmarkHTTPPull (100 messages):
// 16.3 us and 14 KB allocated per pull without them, 5.7 us and 455 B with.
var pullBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}
