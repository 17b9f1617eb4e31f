package transport

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/liveroom/liveroom/actors"
	"github.com/liveroom/liveroom/internal/socket"
	"github.com/liveroom/liveroom/rooms"
	"github.com/liveroom/liveroom/wire"
)

// wsSession is one viewer WebSocket. With a raw socket it waits in the hub's poller and a
// worker reads and answers the frames that arrive (serveReady); without, one goroutine does
// (readLoop). The replica's dispatch rounds write notifies through Notify. Writes are
// serialised by wmu; a notify that finds the session busy or its socket full is skipped (the
// round retries), every other write is bounded by a deadline.
type wsSession struct {
	hub  *wsHub
	conn *websocket.Conn
	raw  *socket.Conn // reads client frames from the socket; nil: through conn (no raw socket)
	// serveNext bound once: handed to a worker each time the socket turns readable.
	serveNext  func()
	pstate     atomic.Int32 // stServing, stArmed or stDone (see start)
	registered bool         // in the poller's set (owner only)
	viewer     Viewer
	id         uint64

	wmu sync.Mutex // serialises writes to conn

	mu     sync.Mutex // guards rooms and closed
	rooms  memberList // the joined rooms (a slice: max_rooms is small, a map cost ~400 B per session)
	closed bool

	pooled   *[]byte      // the reply being written came from replyPool (owner only)
	lastRead atomic.Int64 // unix nanos of the last frame read (pongs included): keepalive
	fullAt   atomic.Int64 // unix nanos since the socket has been full (0: it took the last write)

	expAt  int64 // the token's expiry, unix seconds (guarded by hub.exp.mu; session_expiry.go)
	expIdx int   // position in hub.exp's heap, -1: none (guarded by hub.exp.mu)
}

// Pools for the goroutines that answer frames: frames read (socket.GetBuffer), and pull replies (a window can be tens of KB;
// allocating one per pull was a fifth of the server's CPU in GC under load).
var (
	replyPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}
)

// newSession wraps an upgraded connection; rc is its socket when the listener gives one (the
// frames are then read by a socket.Conn).
func newSession(h *wsHub, conn *websocket.Conn, rc syscall.RawConn, v Viewer) *wsSession {
	s := &wsSession{hub: h, conn: conn, viewer: v, id: h.nextID.Add(1), expIdx: -1}
	s.lastRead.Store(time.Now().UnixNano())
	pong := func() { s.lastRead.Store(time.Now().UnixNano()) }
	conn.SetPongHandler(func(string) error { pong(); return nil })
	if rc != nil {
		s.serveNext = s.serveReady
		s.raw = socket.NewConn(rc, h.s.cfg.MaxFrame)
		s.raw.OnPong = pong
		s.raw.OnPing = func(p []byte) {
			s.wmu.Lock() // raw writes bypass websocket.Conn: every write takes wmu
			defer s.wmu.Unlock()
			_ = s.conn.WriteControl(websocket.PongMessage, p, time.Now().Add(time.Second))
		}
		s.raw.OnClose = func(int) {} // answered by closeWith
	}
	return s
}

// ping writes a WebSocket ping unless a write is in progress.
func (s *wsSession) ping() {
	if !s.wmu.TryLock() {
		return
	}
	if s.raw != nil {
		s.writeNow(pingFrame)
		return
	}
	defer s.wmu.Unlock()
	_ = s.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(time.Second))
}

var pingFrame = socket.ServerFrame(websocket.PingMessage, nil)

// UID implements actors.Session.
func (s *wsSession) UID() string { return s.viewer.UID }

// Notify implements actors.Session: write the shared frame unless a write is in progress or
// the socket's send buffer is full (the round tries again).
//
// It never waits: a replica's round writes to every member in turn, and a blocking write to
// one viewer that does not read held up a whole round (measured at 100k viewers in push mode:
// rounds stood for up to the 10 s write timeout behind one full socket).
func (s *wsSession) Notify(f *actors.SharedFrame) bool {
	if !s.wmu.TryLock() {
		return false
	}
	if s.raw == nil {
		defer s.wmu.Unlock()
		return s.writeShared(f)
	}
	wire := f.Wire.Load()
	if wire == nil {
		w := socket.ServerFrame(websocket.TextMessage, f.Data)
		if f.Then != nil { // two frames, one write (actors.SharedFrame)
			w = append(w, socket.ServerFrame(websocket.TextMessage, f.Then.Data)...)
		}
		f.Wire.Store(&w)
		wire = &w
	}
	return s.writeNow(*wire)
}

// writeNow writes frame to the raw socket without waiting and releases wmu, which the caller
// holds. When the socket takes only part of the frame, a goroutine writes the rest (the
// stream must not carry another frame in between) and releases wmu once done. False: nothing
// was written.
func (s *wsSession) writeNow(frame []byte) bool {
	n, err := s.raw.TryWrite(frame)
	switch {
	case err != nil:
		s.wmu.Unlock()
		go s.closeWith(CloseNormal, "write failed")
		return false
	case n == len(frame):
		s.wmu.Unlock()
		s.fullAt.Store(0)
		return true
	case n == 0:
		s.wmu.Unlock()
		s.socketFull()
		return false
	}
	go s.finishWrite(frame[n:])
	return true
}

// socketFull records that the socket took nothing; a viewer whose socket stays full for
// SlowKick (it does not read) is closed as unresponsive, so that it holds no round's frames
// and no kernel buffer longer than that.
func (s *wsSession) socketFull() {
	now := time.Now().UnixNano()
	since := s.fullAt.Load()
	if since == 0 {
		s.fullAt.CompareAndSwap(0, now)
		return
	}
	if now-since > int64(s.hub.s.cfg.SlowKick) && s.fullAt.CompareAndSwap(since, -1) {
		go s.kickUnresponsive()
	}
}

// kickUnresponsive closes a session whose socket did not drain for SlowKick (the kick frame
// cannot reach a peer that does not read; the close code says it).
func (s *wsSession) kickUnresponsive() {
	s.hub.s.metrics.Kicks.WithLabelValues("unresponsive").Inc()
	s.closeWith(CloseUnresponsive, "unresponsive")
}

// finishWrite writes the rest of a frame, bounded by SlowKick (the peer is not reading), then
// releases wmu.
func (s *wsSession) finishWrite(rest []byte) {
	nc := s.conn.NetConn()
	_ = nc.SetWriteDeadline(time.Now().Add(s.writeWait()))
	_, err := nc.Write(rest)
	s.wmu.Unlock()
	if err != nil {
		s.writeFailed(err)
		return
	}
	s.fullAt.Store(0)
}

// writeShared writes a frame shared by many sessions in its prepared form (built once per
// frame, whichever session writes it first), then f.Then if set, waiting for the socket. The
// caller holds wmu.
func (s *wsSession) writeShared(f *actors.SharedFrame) bool {
	if !s.writePrepared(f) {
		return false
	}
	return f.Then == nil || s.writePrepared(f.Then)
}

// writePrepared writes f's prepared message through websocket.Conn (s.wmu held).
func (s *wsSession) writePrepared(f *actors.SharedFrame) bool {
	pm, _ := f.Prepared.Load().(*websocket.PreparedMessage)
	if pm == nil {
		var err error
		if pm, err = websocket.NewPreparedMessage(websocket.TextMessage, f.Data); err != nil {
			return false
		}
		f.Prepared.Store(pm)
	}
	_ = s.conn.SetWriteDeadline(time.Now().Add(s.hub.s.cfg.WriteTimeout))
	if err := s.conn.WritePreparedMessage(pm); err != nil {
		go s.closeWith(CloseNormal, "write failed")
		return false
	}
	return true
}

// Kick implements actors.Session. The caller has already removed the membership.
func (s *wsSession) Kick(room, reason string) {
	if room == "" {
		go s.kickSession(reason)
		return
	}
	s.mu.Lock()
	s.rooms.remove(room)
	s.mu.Unlock()
	frame := wire.AppendKick(nil, room, reason)
	go s.write(frame)
}

// kickSession sends a kick without room and closes the session with the reason's code.
func (s *wsSession) kickSession(reason string) {
	_ = s.write(wire.AppendKick(nil, "", reason))
	s.closeWith(closeCodeFor(reason), reason)
}

// write sends one text frame, bounded by the write timeout and by SlowKick (a peer that does
// not read for that long is unresponsive: see writeFailed).
func (s *wsSession) write(b []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_ = s.conn.SetWriteDeadline(time.Now().Add(s.writeWait()))
	return s.conn.WriteMessage(websocket.TextMessage, b)
}

func (s *wsSession) writeWait() time.Duration {
	return min(s.hub.s.cfg.WriteTimeout, s.hub.s.cfg.SlowKick)
}

// writeFailed ends the session after a failed write: as unresponsive when the peer did not
// take the frame in time, else as a broken connection.
func (s *wsSession) writeFailed(err error) {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		s.kickUnresponsive()
		return
	}
	s.closeWith(CloseNormal, "write failed")
}

// closeWith leaves every room, unregisters the session, sends a close frame and closes the
// connection; whoever reads the session then ends it. Safe to call more than once.
func (s *wsSession) closeWith(code int, text string) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	members := s.rooms
	s.rooms = nil
	s.mu.Unlock()
	eng := s.hub.s.eng
	for _, x := range members {
		eng.Leave(x.m)
	}
	eng.Disconnect(s)
	s.hub.remove(s)
	s.hub.exp.remove(s)
	// A write that holds the socket (a peer that does not read) gets a second at most.
	_ = s.conn.NetConn().SetWriteDeadline(time.Now().Add(time.Second))
	s.wmu.Lock()
	_ = s.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second))
	s.wmu.Unlock()
	_ = s.conn.Close()
	if s.pstate.CompareAndSwap(stArmed, stDone) { // parked: closing its socket took it out of the poller
		s.hub.wg.Done()
	}
}

// readLoop reads and answers frames through websocket.Conn until the connection ends: the
// path of sessions without a raw socket (TLS, test listeners, no epoll). It owns the
// request/reply half of the protocol; every reply is written from here.
func (s *wsSession) readLoop() {
	for s.serveOne() {
	}
	s.hub.wg.Done()
}

// Who owns a raw session's reading (pstate). A session is served by one goroutine at a time:
// the hijacking goroutine first, then the workers the poller hands it to. Parked in the
// poller, nobody owns it; closeWith ends a parked session, its owner ends a served one. The
// move to stDone happens once and releases the hub's wait group.
const (
	stServing int32 = iota // a goroutine reads and answers its frames
	stArmed                // waiting in the poller for bytes
	stDone                 // ended
)

// start begins reading a session that has said hello: parked in the poller with a raw
// socket, on a goroutine of its own otherwise.
func (s *wsSession) start() {
	if s.raw == nil {
		go s.readLoop()
		return
	}
	s.park()
}

// serveReady answers the frames a readable socket brought, on a worker, then parks the
// session again. A client that pipelines many frames is served 16 at a time: the rest is
// queued behind the other sessions' frames.
func (s *wsSession) serveReady() {
	for range 16 {
		typ, data, rp, err := s.raw.Next()
		if err == socket.ErrWouldBlock {
			s.park()
			return
		}
		if err != nil {
			s.closeWith(closeCodeForRead(err), "")
			s.end()
			return
		}
		s.lastRead.Store(time.Now().UnixNano())
		if !s.answer(typ, data, rp) {
			s.end()
			return
		}
	}
	s.hub.workers.Run(s.serveNext)
}

// park hands the session to the poller until its socket is readable. The owner gives up
// the session with the store: everything it wrote before is seen by the next owner.
func (s *wsSession) park() {
	first := !s.registered
	s.registered = true
	s.pstate.Store(stArmed)
	if s.isClosed() || s.hub.poll.Arm(s.raw.RawConn(), s.id, first) != nil {
		// Closed meanwhile (arm fails on a closed socket): whoever moves it to stDone ends it.
		if s.pstate.CompareAndSwap(stArmed, stDone) {
			s.closeWith(CloseNormal, "")
			s.hub.wg.Done()
		}
	}
}

// end is the owner ending a raw session that closeWith has closed.
func (s *wsSession) end() {
	s.pstate.Store(stDone)
	s.hub.wg.Done()
}

func (s *wsSession) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// closeCodeForRead is the close code for a read that ended the session.
func closeCodeForRead(err error) int {
	switch {
	case errors.Is(err, websocket.ErrReadLimit):
		return CloseTooLarge
	case errors.Is(err, socket.ErrProtocol):
		return websocket.CloseProtocolError
	case errors.Is(err, socket.ErrCloseReason):
		return websocket.CloseInvalidFramePayloadData
	}
	return CloseNormal
}

// sayHello sets the read limit and writes the hello frame (on the hijacking goroutine, before
// the reader starts).
func (s *wsSession) sayHello() bool {
	s.conn.SetReadLimit(int64(s.hub.s.cfg.MaxFrame))
	cfg := &s.hub.s.cfg
	hello := wire.AppendHello(nil, s.viewer.UID, cfg.Node, time.Now().UnixMicro(),
		wire.Limits{MaxBody: cfg.MaxBody, MaxRooms: cfg.MaxRooms, PullLimit: cfg.PullLimit})
	if err := s.write(hello); err != nil {
		s.closeWith(CloseNormal, "")
		return false
	}
	return true
}

// serveOne reads one frame through websocket.Conn and answers it; false once the session
// ended.
func (s *wsSession) serveOne() bool {
	typ, data, rp, err := s.read()
	if err != nil {
		s.closeWith(closeCodeForRead(err), "")
		return false
	}
	return s.answer(typ, data, rp)
}

// answer answers one client message; false once the session ended.
func (s *wsSession) answer(typ int, data []byte, rp *[]byte) bool {
	// Pulls, pings and counter adds, the hot frames, are parsed with the shallow parser.
	if typ == websocket.TextMessage {
		if f, ok := parseFlat(data); ok && (f.Op == "pull" || f.Op == "ping" || f.Op == "add") {
			return s.finish(s.handleFrame(f), data, rp)
		}
	}
	var reply []byte
	if typ != websocket.TextMessage {
		reply = errorFrame(nil, rooms.Errorf(rooms.CodeBadRequest, "frames must be JSON text"))
	} else {
		reply = s.handle(data)
	}
	return s.finish(reply, data, rp)
}

// finish returns the read buffer, writes the reply and recycles a pooled reply buffer.
func (s *wsSession) finish(reply, data []byte, rp *[]byte) bool {
	*rp = data[:0]
	socket.PutBuffer(rp)
	if reply == nil {
		return true
	}
	err := s.write(reply)
	if bp := s.pooled; bp != nil {
		s.pooled = nil
		*bp = (*bp)[:0]
		if cap(*bp) <= 64<<10 { // do not keep the rare huge buffer
			replyPool.Put(bp)
		}
	}
	if err != nil {
		s.writeFailed(err)
		return false
	}
	return true
}

// read reads one message through websocket.Conn into a pooled buffer; the caller puts rp
// back.
func (s *wsSession) read() (int, []byte, *[]byte, error) {
	typ, r, err := s.conn.NextReader()
	if err != nil {
		return 0, nil, nil, err
	}
	s.lastRead.Store(time.Now().UnixNano())
	rp := socket.GetBuffer()
	b := (*rp)[:0]
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return typ, b, rp, nil
		}
		if err != nil {
			*rp = b[:0]
			socket.PutBuffer(rp)
			return 0, nil, nil, err
		}
	}
}

// handle answers one client frame; it returns the reply frame to write.
func (s *wsSession) handle(data []byte) []byte {
	f, err := parseFrame(data)
	if err != nil {
		return errorFrame(f.ID, err)
	}
	return s.handleFrame(f)
}

// handleFrame answers a decoded frame.
func (s *wsSession) handleFrame(f inFrame) []byte {
	var err error
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var reply []byte
	switch f.Op {
	case "ping":
		reply = wire.AppendPong(make([]byte, 0, 64), f.ID, time.Now().UnixMicro())
	case "join":
		reply, err = s.join(ctx, &f)
	case "leave":
		reply, err = s.leave(&f)
	case "pull":
		reply, err = s.pull(ctx, &f)
	case "send":
		reply, err = s.send(ctx, &f)
	case "auth":
		reply, err = s.auth(&f)
	case "add":
		reply, err = s.add(ctx, &f)
	case "":
		err = rooms.Errorf(rooms.CodeBadRequest, "missing op")
	default:
		err = rooms.Errorf(rooms.CodeBadRequest, "unknown op "+quoteShort(f.Op))
	}
	if err != nil {
		return errorFrame(f.ID, err)
	}
	return reply
}

func (s *wsSession) roomArg(f *inFrame) (string, error) {
	if f.Room == nil || !ValidID(*f.Room) {
		return "", rooms.Errorf(rooms.CodeBadRequest, "room must match [A-Za-z0-9_.:-]{1,128}")
	}
	return *f.Room, nil
}

func (s *wsSession) member(room string) actors.Membership {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rooms.get(room)
}

// memberList is a session's memberships, one per room. Each entry keeps its room id beside
// the membership, so that finding a room's membership (every pull and send) calls no method.
type memberList []roomMember

type roomMember struct {
	room string
	m    actors.Membership
}

func (l memberList) get(room string) actors.Membership {
	for _, x := range l {
		if x.room == room {
			return x.m
		}
	}
	return nil
}

// set adds m as room's membership, or replaces the one it had and returns it.
func (l *memberList) set(room string, m actors.Membership) (old actors.Membership) {
	for i, x := range *l {
		if x.room == room {
			(*l)[i].m = m
			return x.m
		}
	}
	*l = append(*l, roomMember{room: room, m: m})
	return nil
}

// remove drops the membership of room and returns it (nil if none).
func (l *memberList) remove(room string) actors.Membership {
	for i, x := range *l {
		if x.room == room {
			last := len(*l) - 1
			(*l)[i] = (*l)[last]
			(*l)[last] = roomMember{}
			*l = (*l)[:last]
			return x.m
		}
	}
	return nil
}

func (s *wsSession) join(ctx context.Context, f *inFrame) ([]byte, error) {
	room, err := s.roomArg(f)
	if err != nil {
		return nil, err
	}
	if !s.viewer.Allows(room) {
		return nil, rooms.Errorf(rooms.CodeForbidden, "the token does not allow this room")
	}
	opt := actors.JoinOptions{Since: -1, Push: f.Push != nil && *f.Push}
	if f.Since != nil {
		if *f.Since < 0 {
			return nil, rooms.Errorf(rooms.CodeBadRequest, "since must be >= 0")
		}
		opt.Since = *f.Since
	}
	if f.Recent != nil {
		if *f.Recent < 0 || *f.Recent > int64(s.hub.s.cfg.PullLimit) {
			return nil, rooms.Errorf(rooms.CodeBadRequest, "recent must be an integer from 0 to pull_limit ("+
				strconv.Itoa(s.hub.s.cfg.PullLimit)+")")
		}
		opt.Recent = int(*f.Recent)
	}
	s.mu.Lock()
	already := s.rooms.get(room) != nil
	n := len(s.rooms)
	s.mu.Unlock()
	if !already && n >= s.hub.s.cfg.MaxRooms {
		return nil, rooms.Errorf(rooms.CodeTooManyRooms, "a session may join at most max_rooms rooms")
	}
	res, err := s.hub.s.eng.Join(ctx, s, room, opt)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.hub.s.eng.Leave(res.Member)
		return nil, rooms.Errorf(rooms.CodeUnavailable, "session closed")
	}
	old := s.rooms.set(room, res.Member)
	s.mu.Unlock()
	if old != nil { // a repeated join replaces the membership (new since)
		s.hub.s.eng.Leave(old)
	}
	joined := wire.WithCounters(joinedFrame(room, &res, f), res.Counters)
	if !res.NotifyNow {
		return joined, nil
	}
	if err := s.write(joined); err != nil {
		return nil, err
	}
	return wire.AppendNotify(nil, room, res.TS), nil
}

// joinedFrame is the joined reply: since when the join asked for recent messages, and the
// room's pinned messages.
func joinedFrame(room string, res *actors.JoinResult, f *inFrame) []byte {
	var since *int64
	if f.Recent != nil {
		since = &res.Since
	}
	var pinned [][]byte
	for _, m := range res.Pinned {
		pinned = append(pinned, m.Encode())
	}
	return wire.AppendJoinedWith(nil, room, res.Epoch, res.TS, res.Seq, res.Online, f.ID, since, pinned)
}

func (s *wsSession) leave(f *inFrame) ([]byte, error) {
	room, err := s.roomArg(f)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	m := s.rooms.remove(room)
	s.mu.Unlock()
	if m == nil {
		return nil, rooms.Errorf(rooms.CodeNotJoined, "not joined to "+room)
	}
	s.hub.s.eng.Leave(m)
	return wire.AppendLeft(nil, room, f.ID), nil
}

func (s *wsSession) pull(ctx context.Context, f *inFrame) ([]byte, error) {
	room, err := s.roomArg(f)
	if err != nil {
		return nil, err
	}
	cfg := &s.hub.s.cfg
	var since int64
	if f.Since != nil {
		if *f.Since < 0 {
			return nil, rooms.Errorf(rooms.CodeBadRequest, "since must be >= 0")
		}
		since = *f.Since
	}
	limit := cfg.DefaultPullLimit
	if f.Limit != nil {
		if *f.Limit < 1 {
			return nil, rooms.Errorf(rooms.CodeBadRequest, "limit must be >= 1")
		}
		limit = min(*f.Limit, cfg.PullLimit)
	}
	m := s.member(room)
	if m == nil {
		return nil, rooms.Errorf(rooms.CodeNotJoined, "not joined to "+room)
	}
	res := m.Pull(ctx, since, limit)
	bp := replyPool.Get().(*[]byte)
	b := wire.AppendMsgs((*bp)[:0], room, f.ID, res.Epoch, res.Body)
	*bp = b
	s.pooled = bp // finish returns it to the pool once written
	return b, nil
}

func (s *wsSession) send(ctx context.Context, f *inFrame) ([]byte, error) {
	room, err := s.roomArg(f)
	if err != nil {
		return nil, err
	}
	if !isAbsent(f.Name) || !isAbsent(f.Meta) {
		return nil, rooms.Errorf(rooms.CodeBadRequest, "name and meta come from the token, not from send")
	}
	req, err := checkMessage(f.messageIn, s.hub.s.cfg.MaxBody)
	if err != nil {
		return nil, err
	}
	req.UID, req.Source = s.viewer.UID, rooms.FromViewer
	req.Name, req.Meta = s.viewer.Name, s.viewer.Meta
	if s.member(room) == nil {
		return nil, rooms.Errorf(rooms.CodeNotJoined, "join the room before sending")
	}
	st, err := s.hub.s.eng.Send(ctx, room, req)
	if err != nil {
		return nil, err
	}
	if m := s.member(room); m != nil && !st.Dup {
		m.Sent() // the session's next pull sees its own message
	}
	return wire.AppendSent(make([]byte, 0, 96), room, st.TS, st.Seq, f.ID, st.Dup), nil
}
