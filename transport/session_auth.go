package transport

import (
	"time"

	"github.com/fasthttp/websocket"

	"github.com/liveroom/liveroom/rooms"
	"github.com/liveroom/liveroom/wire"
)

// auth answers `{"op":"auth","token":T}` (PROTOCOL.md section 8.6): a new token for the same
// uid replaces the session's. Its expiry ends the session from then on, and its rooms claim
// applies at once: the rooms it no longer allows are left with kick reason forbidden. A token
// that does not verify is unauthorized and changes nothing (the session lives on until the
// old token's expiry); one for another uid is forbidden. A dev-mode session that logged in
// with ?uid= and no token may take a token this way; it then expires with it.
//
// It runs on the session's serving goroutine, the only one that reads viewer.Rooms (join).
func (s *wsSession) auth(f *inFrame) ([]byte, error) {
	if f.Token == nil || *f.Token == "" {
		return nil, rooms.Errorf(rooms.CodeBadRequest, "auth needs a token")
	}
	v, err := s.hub.s.auth.ParseToken(*f.Token)
	if err != nil {
		return nil, err
	}
	if v.UID != s.viewer.UID {
		return nil, rooms.Errorf(rooms.CodeForbidden, "the token is for another uid than the session's")
	}
	var lost []roomMember
	s.mu.Lock()
	s.viewer.Rooms, s.viewer.Exp = v.Rooms, v.Exp
	for i := 0; i < len(s.rooms); {
		if x := s.rooms[i]; !v.Allows(x.room) {
			s.rooms.remove(x.room)
			lost = append(lost, x)
			continue // remove moved the last membership to i
		}
		i++
	}
	s.mu.Unlock()
	s.hub.exp.set(s, v.Exp)
	for _, x := range lost {
		s.hub.s.eng.Leave(x.m)
		if err := s.write(wire.AppendKick(nil, x.room, "forbidden")); err != nil {
			return nil, err
		}
	}
	return wire.AppendAuthed(nil, v.Exp, f.ID), nil
}

// refuse ends a session that the engine did not register (Connect failed): a whole-session
// kick and the close, without the leave and disconnect of closeWith, which would unregister a
// session of the uid that was never registered.
func (s *wsSession) refuse(code int, reason string) {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	_ = s.write(wire.AppendKick(nil, "", reason))
	_ = s.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
	_ = s.conn.Close()
}
