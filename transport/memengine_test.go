package transport_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/liveroom/liveroom/actors"
	"github.com/liveroom/liveroom/ring"
	"github.com/liveroom/liveroom/rooms"
	"github.com/liveroom/liveroom/transport"
	"github.com/liveroom/liveroom/wire"
)

// memEngine is a whole transport.Engine in one process without protoactor, so that the
// session tests run under -race. Each room is a rooms.Room (validation, moderation, limits,
// cmid de-dup, stamping) and a ring.Set under one lock; a round goroutine notifies members
// (or pushes windows to them) as a replica's round does: one notify until the member pulls,
// a busy session tried again next round. What it leaves out belongs to the actors' own tests:
// pacing, notify retries and the unresponsive kick, replicas and their caches, the store.
type memEngine struct {
	pushLimit int // the limit of pushed windows
	perUID    int // sessions per uid; the oldest is kicked "replaced" beyond

	mu       sync.Mutex
	rooms    map[string]*memRoom
	sessions []actors.Session // connected, oldest first
	banned   map[string]bool  // uids banned from every room

	stop chan struct{}
	done chan struct{}
}

type memRoom struct {
	id      string
	room    *rooms.Room
	set     *ring.Set
	members []*memMember
	changed chan struct{} // closed and replaced on every new message
}

// memMember is one session's membership of a memRoom.
type memMember struct {
	e        *memEngine
	r        *memRoom
	sess     actors.Session
	push     bool
	pulledTS atomic.Int64 // newest ts the session has covered
	marked   atomic.Bool  // notified, not pulled since
}

var (
	_ transport.Engine  = (*memEngine)(nil)
	_ actors.Membership = (*memMember)(nil)
)

// newMemEngine starts the engine's rounds every interval; close stops them.
func newMemEngine(interval time.Duration) *memEngine {
	e := &memEngine{pushLimit: 100, perUID: 5, rooms: map[string]*memRoom{}, stop: make(chan struct{}), done: make(chan struct{})}
	go e.rounds(interval)
	return e
}

func (e *memEngine) close() {
	close(e.stop)
	<-e.done
}

// room returns the room, made on first use; the caller holds e.mu.
func (e *memEngine) room(id string) *memRoom {
	r := e.rooms[id]
	if r == nil {
		rm := rooms.NewRoom(id, rooms.DefaultConfig())
		r = &memRoom{id: id, room: rm, set: ring.NewSet(rm.Config().Caps()), changed: make(chan struct{})}
		e.rooms[id] = r
	}
	return r
}

func (e *memEngine) Send(_ context.Context, room string, req rooms.SendRequest) (rooms.Stamp, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.room(room)
	m, st, err := r.room.Accept(req, time.Now())
	return e.appended(r, m, st, err)
}

func (e *memEngine) Unpin(_ context.Context, room string, ts int64) (rooms.Stamp, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.room(room)
	m, st, err := r.room.Unpin(ts, time.Now())
	return e.appended(r, m, st, err)
}

// appended puts a message the room stamped into its rings and wakes the waiting pulls.
// Called with e.mu held.
func (e *memEngine) appended(r *memRoom, m *ring.Message, st rooms.Stamp, err error) (rooms.Stamp, error) {
	if err != nil || m == nil {
		return st, err
	}
	if _, err := r.set.Append(m); err != nil {
		return rooms.Stamp{}, err
	}
	close(r.changed)
	r.changed = make(chan struct{})
	return st, nil
}

func (e *memEngine) NoticeAll(ctx context.Context, kind string, body json.RawMessage) (int, error) {
	e.mu.Lock()
	ids := make([]string, 0, len(e.rooms))
	for id := range e.rooms {
		ids = append(ids, id)
	}
	e.mu.Unlock()
	for _, id := range ids {
		if _, err := e.Send(ctx, id, rooms.SendRequest{Kind: kind, Pri: ring.System, Body: body, Source: rooms.FromAdmin}); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

var errMemBanned = rooms.Errorf(rooms.CodeBanned, "banned from this room")

// window returns the encoded window (since, next]; the caller holds e.mu.
func (r *memRoom) window(since int64, limit int) actors.PullResult {
	var w ring.Window
	r.set.Window(since, limit, &w)
	return actors.PullResult{Epoch: r.room.Epoch(), Body: w.Encode(nil), Next: w.Next, Dropped: w.Dropped, Count: len(w.Msgs)}
}

func (e *memEngine) Pull(_ context.Context, room, uid string, since int64, limit int) (actors.PullResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.room(room)
	if uid != "" && r.room.Banned(uid, time.Now()) {
		return actors.PullResult{}, errMemBanned
	}
	return r.window(since, limit), nil
}

func (e *memEngine) WaitNew(ctx context.Context, room, uid string, since int64) error {
	for {
		e.mu.Lock()
		r := e.room(room)
		banned, ts, ch := uid != "" && r.room.Banned(uid, time.Now()), r.set.LastTS(), r.changed
		e.mu.Unlock()
		switch {
		case banned:
			return errMemBanned
		case ts > since:
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (e *memEngine) Info(_ context.Context, room string) (rooms.Info, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.room(room)
	return rooms.Info{Room: room, Epoch: r.room.Epoch(), Online: int64(len(r.members)), TS: r.set.LastTS(), Seq: r.set.LastSeq(),
		Config: r.room.Config(), Stats: r.room.Stats()}, nil
}

func (e *memEngine) SetConfig(_ context.Context, room string, patch rooms.ConfigPatch) (rooms.Config, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.room(room)
	cfg, err := patch.Apply(r.room.Config())
	if err != nil {
		return rooms.Config{}, rooms.Errorf(rooms.CodeBadRequest, err.Error())
	}
	r.room.SetConfig(cfg, time.Now())
	r.set.Resize(cfg.Caps())
	return cfg, nil
}

func (e *memEngine) Moderate(_ context.Context, room string, op rooms.ModOp) error {
	e.mu.Lock()
	r := e.room(room)
	err := r.room.Moderate(op, time.Now())
	e.mu.Unlock()
	if err == nil && op.List == rooms.Bans && op.Set {
		e.kick(room, op.UID, "banned")
	}
	return err
}

func (e *memEngine) KickViewer(_ context.Context, room, uid string) error {
	e.kick(room, uid, "kicked")
	return nil
}

// kick removes uid's memberships of room and tells their sessions, as a replica does.
func (e *memEngine) kick(room, uid, reason string) {
	e.mu.Lock()
	r := e.room(room)
	var kicked []*memMember
	r.members = slices.DeleteFunc(r.members, func(m *memMember) bool {
		if m.sess.UID() == uid {
			kicked = append(kicked, m)
			return true
		}
		return false
	})
	e.mu.Unlock()
	for _, m := range kicked {
		m.sess.Kick(room, reason)
	}
}

// kickSession tells every session of uid that it must close, with reason (the whole-session
// kicks: unresponsive, replaced, banned, shutdown).
func (e *memEngine) kickSession(uid, reason string) {
	e.mu.Lock()
	var kicked []actors.Session
	for _, s := range e.sessions {
		if s.UID() == uid {
			kicked = append(kicked, s)
		}
	}
	e.mu.Unlock()
	for _, s := range kicked {
		s.Kick("", reason)
	}
}

func (e *memEngine) Ready(context.Context) error { return nil }

// The global moderation of the fake: bans without expiry, no list pages (the actors' tests and
// the real node's cover those).

func (e *memEngine) BanUser(_ context.Context, uid string, _ time.Duration) error {
	e.mu.Lock()
	if e.banned == nil {
		e.banned = map[string]bool{}
	}
	e.banned[uid] = true
	e.mu.Unlock()
	e.kickSession(uid, "banned")
	return nil
}

func (e *memEngine) UnbanUser(_ context.Context, uid string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.banned, uid)
	return nil
}

func (e *memEngine) KickUser(_ context.Context, uid string) error {
	e.kickSession(uid, "kicked")
	return nil
}

func (e *memEngine) UserBanned(uid string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.banned[uid]
}

var (
	errMemNoPages    = errors.New("the in-memory engine keeps no list pages")
	errMemNoCounters = errors.New("the in-memory engine keeps no counters")
)

func (e *memEngine) AddCounter(context.Context, string, string, int64) (int64, error) {
	return 0, errMemNoCounters
}

func (e *memEngine) SetCounter(context.Context, string, string, int64) (int64, error) {
	return 0, errMemNoCounters
}

func (e *memEngine) GlobalBanPage(context.Context, string, int) ([]wire.ListItem, bool, error) {
	return nil, false, errMemNoPages
}

func (e *memEngine) ModerationPage(context.Context, string, rooms.List, string, int) ([]wire.ListItem, bool, error) {
	return nil, false, errMemNoPages
}

func (e *memEngine) RoomsPage(context.Context, string, int) ([]wire.RoomItem, bool, error) {
	return nil, false, errMemNoPages
}

func (e *memEngine) Route(context.Context, string) (string, string, error) { return "", "", nil }

// Drain has no route directory to leave.
func (e *memEngine) Drain() {}

// Connect registers the session; beyond perUID sessions of its uid the oldest is kicked
// "replaced", as the user actor does.
func (e *memEngine) Connect(sess actors.Session) error {
	e.mu.Lock()
	e.sessions = append(e.sessions, sess)
	var oldest actors.Session
	n := 0
	for _, s := range e.sessions {
		if s.UID() == sess.UID() {
			if n == 0 {
				oldest = s
			}
			n++
		}
	}
	if n <= e.perUID {
		oldest = nil
	}
	e.mu.Unlock()
	if oldest != nil {
		oldest.Kick("", "replaced")
	}
	return nil
}

func (e *memEngine) Disconnect(sess actors.Session) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sessions = slices.DeleteFunc(e.sessions, func(s actors.Session) bool { return s == sess })
}

// Join honours Since and Push; Recent and pins are the actors' (tested with a real node).
func (e *memEngine) Join(_ context.Context, sess actors.Session, room string, opt actors.JoinOptions) (actors.JoinResult, error) {
	since, push := opt.Since, opt.Push
	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.room(room)
	if r.room.Banned(sess.UID(), time.Now()) {
		return actors.JoinResult{}, errMemBanned
	}
	m := &memMember{e: e, r: r, sess: sess, push: push}
	res := actors.JoinResult{Member: m, Epoch: r.room.Epoch(), TS: r.set.LastTS(), Seq: r.set.LastSeq()}
	if since >= 0 {
		m.pulledTS.Store(since)
		if since < res.TS && !push {
			res.NotifyNow = true
			m.marked.Store(true)
		}
	} else {
		m.pulledTS.Store(res.TS)
	}
	r.members = append(r.members, m)
	res.Online = int64(len(r.members))
	return res, nil
}

func (e *memEngine) Leave(ms actors.Membership) {
	m := ms.(*memMember)
	e.mu.Lock()
	defer e.mu.Unlock()
	m.r.members = slices.DeleteFunc(m.r.members, func(x *memMember) bool { return x == m })
}

func (m *memMember) Room() string { return m.r.id }

func (m *memMember) Pull(_ context.Context, since int64, limit int) actors.PullResult {
	m.e.mu.Lock()
	res := m.r.window(since, limit)
	m.e.mu.Unlock()
	if res.Next > m.pulledTS.Load() {
		m.pulledTS.Store(res.Next)
	}
	m.marked.Store(false)
	return res
}

// Sent needs nothing here: the engine's rooms hold a message before Send answers, so a pull
// after a send sees it without waiting.
func (m *memMember) Sent() {}

// Add: the fake keeps no counters (the actors' conflation is tested with a real node).
func (m *memMember) Add(context.Context, string, int64, bool) error { return errMemNoCounters }

// rounds runs a round every interval until close.
func (e *memEngine) rounds(every time.Duration) {
	defer close(e.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
			e.round()
		}
	}
}

// delivery is one frame of a round for one member; next is the pushed window's next.
type delivery struct {
	m     *memMember
	frame *actors.SharedFrame
	next  int64
}

// round writes one notify to each member behind the room's newest ts that holds no
// unanswered one, and to each push member its window: the frames are built under the lock
// and written outside it (Notify never waits).
func (e *memEngine) round() {
	var out []delivery
	e.mu.Lock()
	for _, r := range e.rooms {
		latest := r.set.LastTS()
		var notify *actors.SharedFrame
		pushed := map[int64]*delivery{}
		for _, m := range r.members {
			since := m.pulledTS.Load()
			switch {
			case since >= latest:
			case m.push:
				d := pushed[since]
				if d == nil {
					w := r.window(since, e.pushLimit)
					d = &delivery{frame: &actors.SharedFrame{Data: wire.AppendMsgs(nil, r.id, nil, w.Epoch, w.Body)}, next: w.Next}
					pushed[since] = d
				}
				out = append(out, delivery{m: m, frame: d.frame, next: d.next})
			case m.marked.CompareAndSwap(false, true):
				if notify == nil {
					notify = &actors.SharedFrame{Data: wire.AppendNotify(nil, r.id, latest)}
				}
				out = append(out, delivery{m: m, frame: notify})
			}
		}
	}
	e.mu.Unlock()
	for _, d := range out {
		ok := d.m.sess.Notify(d.frame)
		switch {
		case d.m.push && ok:
			d.m.pulledTS.Store(d.next)
		case !d.m.push && !ok:
			d.m.marked.Store(false) // busy: again next round
		}
	}
}
