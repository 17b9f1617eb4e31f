package client

import (
	"encoding/json"
	"strconv"
	"sync"
)

// fakeHub is a tiny model of rooms behind the fake server, written from PROTOCOL.md sections
// 3 and 4: ts strictly increasing (also across epochs), gapless seq per epoch, pulls that keep
// every protected message and the newest normal/low ones, dropped and more as specified, and
// a notify to every member on every new message (no merging: the client must cope anyway).
type fakeHub struct {
	mu      sync.Mutex
	lastTS  int64
	rooms   map[string]*fakeRoom
	joins   []fakeJoin
	banned  map[string]bool // room + "/" + uid
	lieNext int             // the next lieNext pulls report one dropped message too many
	noNote  bool            // do not notify on new messages
}

type fakeRoom struct {
	name    string
	epoch   string
	epochs  int
	msgs    []fakeMsg // every accepted message of this epoch, ascending
	members map[*fakeSession]bool
}

type fakeMsg struct {
	Message
	evicted bool
}

type fakeJoin struct {
	UID, Room string
	Since     *int64
}

func newFakeHub() *fakeHub {
	return &fakeHub{lastTS: 1_000_000, rooms: make(map[string]*fakeRoom), banned: make(map[string]bool)}
}

func (h *fakeHub) room(name string) *fakeRoom {
	r := h.rooms[name]
	if r == nil {
		r = &fakeRoom{name: name, epoch: name + "-e1", epochs: 1, members: make(map[*fakeSession]bool)}
		h.rooms[name] = r
	}
	return r
}

func (r *fakeRoom) seq() uint64 { return uint64(len(r.msgs)) }

func (h *fakeHub) latest(r *fakeRoom) int64 {
	if n := len(r.msgs); n > 0 {
		return r.msgs[n-1].TS
	}
	return 0
}

// add accepts a message and notifies the room's members; it returns the stamped message.
func (h *fakeHub) add(room, pri, kind, uid string, body string) Message {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.addLocked(room, pri, kind, uid, "", body)
}

func (h *fakeHub) addLocked(room, pri, kind, uid, cmid, body string) Message {
	r := h.room(room)
	h.lastTS += 7
	m := Message{TS: h.lastTS, Seq: r.seq() + 1, Pri: pri, Kind: kind, UID: uid, CMID: cmid,
		Body: json.RawMessage(body)}
	r.msgs = append(r.msgs, fakeMsg{Message: m})
	if !h.noNote {
		for s := range r.members {
			_ = s.send(map[string]any{"op": "notify", "room": room, "ts": m.TS})
		}
	}
	return m
}

// evict marks every retained normal/low message with seq <= upTo as evicted from the ring.
func (h *fakeHub) evict(room string, upTo uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.room(room)
	for i := range r.msgs {
		if m := &r.msgs[i]; m.Seq <= upTo && (m.Pri == PriNormal || m.Pri == PriLow) {
			m.evicted = true
		}
	}
}

// restart loses the room's history: a new epoch, seq restarts at 1, ts keeps increasing.
func (h *fakeHub) restart(room string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.room(room)
	r.epochs++
	r.epoch = room + "-e" + strconv.Itoa(r.epochs)
	r.msgs = nil
}

// kick sends kick to uid's sessions in room and drops their membership.
func (h *fakeHub) kick(room, uid, reason string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for s := range h.room(room).members {
		if s.uid == uid {
			delete(h.room(room).members, s)
			_ = s.send(map[string]any{"op": "kick", "room": room, "reason": reason})
			n++
		}
	}
	return n
}

func (h *fakeHub) joinLog() []fakeJoin {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]fakeJoin(nil), h.joins...)
}

func (h *fakeHub) members(room string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.room(room).members)
}

func isProtected(pri string) bool { return pri == PriSystem || pri == PriHigh }

// pull computes the window (since, next] as section 4 says.
func (h *fakeHub) pull(r *fakeRoom, since int64, limit int) Msgs {
	if limit <= 0 {
		limit = 100
	}
	var window []*fakeMsg
	for i := range r.msgs {
		if r.msgs[i].TS > since {
			window = append(window, &r.msgs[i])
		}
	}
	out := Msgs{Room: r.name, Epoch: r.epoch, Next: since, Msgs: []Message{}}
	if len(window) == 0 {
		return out
	}
	nprot := 0
	for i, m := range window {
		if isProtected(m.Pri) {
			nprot++
			if nprot == limit && hasProtectedAfter(window[i+1:]) {
				window, out.More = window[:i+1], true
				break
			}
		}
	}
	room := limit - min(nprot, limit)
	keep := make(map[*fakeMsg]bool)
	for i := len(window) - 1; i >= 0; i-- {
		m := window[i]
		switch {
		case isProtected(m.Pri):
			keep[m] = true
		case m.evicted:
		case room > 0:
			keep[m] = true
			room--
		}
	}
	for _, m := range window {
		if keep[m] {
			out.Msgs = append(out.Msgs, m.Message)
		}
	}
	out.Next = window[len(window)-1].TS
	out.NextSeq = window[len(window)-1].Seq
	out.Dropped = uint64(len(window) - len(out.Msgs))
	if h.lieNext > 0 {
		h.lieNext--
		out.Dropped++
	}
	return out
}

func hasProtectedAfter(ms []*fakeMsg) bool {
	for _, m := range ms {
		if isProtected(m.Pri) {
			return true
		}
	}
	return false
}

// serveRooms is a fake session handler backed by the hub.
func (h *fakeHub) serveRooms(s *fakeSession) {
	defer func() {
		h.mu.Lock()
		for _, r := range h.rooms {
			delete(r.members, s)
		}
		h.mu.Unlock()
	}()
	for {
		req, err := s.read()
		if err != nil {
			return
		}
		if err := h.answer(s, req); err != nil {
			return
		}
	}
}

func (h *fakeHub) answer(s *fakeSession, req fakeReq) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch req.Op {
	case "join":
		h.joins = append(h.joins, fakeJoin{UID: s.uid, Room: req.Room, Since: req.Since})
		if h.banned[req.Room+"/"+s.uid] {
			return replyError(s, req.ID, CodeBanned, "banned from "+req.Room)
		}
		r := h.room(req.Room)
		r.members[s] = true
		err := s.send(map[string]any{"op": "joined", "room": req.Room, "epoch": r.epoch,
			"ts": h.latest(r), "seq": r.seq(), "online": len(r.members), "id": req.ID})
		if err == nil && req.Since != nil && h.latest(r) > *req.Since {
			err = s.send(map[string]any{"op": "notify", "room": req.Room, "ts": h.latest(r)})
		}
		return err
	case "leave":
		delete(h.room(req.Room).members, s)
		return s.send(map[string]any{"op": "left", "room": req.Room, "id": req.ID})
	case "pull":
		r := h.room(req.Room)
		if !r.members[s] {
			return replyError(s, req.ID, CodeNotJoined, "join first")
		}
		if req.Since == nil {
			return replyError(s, req.ID, CodeBadRequest, "since is required")
		}
		m := h.pull(r, *req.Since, req.Limit)
		return s.send(map[string]any{"op": "msgs", "room": m.Room, "id": req.ID, "epoch": m.Epoch,
			"msgs": m.Msgs, "dropped": m.Dropped, "next": m.Next, "next_seq": m.NextSeq, "more": m.More})
	case "send":
		r := h.room(req.Room)
		if !r.members[s] {
			return replyError(s, req.ID, CodeNotJoined, "join first")
		}
		if req.CMID != "" {
			for _, m := range r.msgs {
				if m.UID == s.uid && m.CMID == req.CMID {
					return s.send(map[string]any{"op": "sent", "room": req.Room, "ts": m.TS,
						"seq": m.Seq, "dup": true, "id": req.ID})
				}
			}
		}
		pri := req.Pri
		if pri == "" {
			pri = PriNormal
		}
		m := h.addLocked(req.Room, pri, req.Kind, s.uid, req.CMID, string(req.Body))
		return s.send(map[string]any{"op": "sent", "room": req.Room, "ts": m.TS, "seq": m.Seq,
			"id": req.ID})
	case "ping":
		return s.send(map[string]any{"op": "pong", "id": req.ID, "server_ts": h.lastTS})
	}
	return replyError(s, req.ID, CodeBadRequest, "unknown op "+strconv.Quote(req.Op))
}
