package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// ViewerOptions configures a Viewer. Zero values take the documented defaults.
type ViewerOptions struct {
	// URL is the WebSocket URL (ws://host:port/v1/ws). Required unless Resolve is set.
	URL string
	// Resolve, when set, is asked for the URL before every connection attempt (e.g. through
	// API.Route, so a viewer follows its uid to another node).
	Resolve func(ctx context.Context) (string, error)
	// Dial holds the connection options (token or dev uid, timeouts, ...). Its OnNotify,
	// OnKick and OnClose are the viewer's own and are ignored; OnError is kept.
	Dial DialOptions
	// Rooms are joined on every connection. Required, no duplicates.
	Rooms []string
	// FromStart makes the first join of each room ask for since = 0 (everything retained);
	// otherwise a viewer starts at the room's latest message.
	FromStart bool
	// PullLimit is sent as pull's limit; 0 leaves it to the server (default 100).
	PullLimit int
	// RequestTimeout bounds each join and pull (default 10s).
	RequestTimeout time.Duration
	// BackoffMin and BackoffMax bound the reconnect and rejoin delays (defaults 100ms and
	// 10s). The n-th consecutive failure waits a random time in [d/2, d], d = min(Min<<n, Max);
	// refusals that retrying too soon makes worse (429, close 4029) wait about BackoffMax at
	// once. A viewer replaced or banned (a whole-session kick, close 4003, close 4029 with
	// reason replaced) or refused (401, 403, close 4001) stops: Run returns a *StoppedError.
	BackoffMin, BackoffMax time.Duration
	// OnMessage is called for every message pulled, on the Run goroutine, in order.
	OnMessage func(room string, m *Message)
}

// ViewerStats are a viewer's counters.
type ViewerStats struct {
	Connects   uint64 // sessions established (hello received)
	Reconnects uint64 // sessions that ended while the viewer was running
	DialErrors uint64 // failed connection attempts
	JoinErrors uint64 // refused or failed joins
	Msgs       uint64 // messages received
	Dropped    uint64 // messages the server skipped or had evicted (the sum of pulls' dropped)
	// Gaps counts windows whose len(msgs)+dropped did not match their seq advance: messages
	// the server lost or miscounted. The count then goes on from that window.
	Gaps         uint64
	EpochChanges uint64 // rooms that lost their history (seq restarted at 1)
}

type viewerCounters struct {
	connects, reconnects, dialErrors, joinErrors atomic.Uint64
	msgs, dropped, gaps, epochChanges            atomic.Uint64
}

// RoomState is a snapshot of what a viewer knows of one room.
type RoomState struct {
	Room    string
	Joined  bool
	Stopped error // set when a join was refused for good (banned, forbidden, ...)
	Epoch   string
	Next    int64 // the since of the next pull (the last window's next)
}

// roomState is one room of a viewer. The fields under mu are written by the Run goroutine
// and read by accessors; the atomics are set by the reader's callbacks.
type roomState struct {
	name   string
	dirty  atomic.Bool // a notify arrived: pull
	kicked atomic.Bool // a kick arrived: rejoin

	// Run goroutine only.
	acct     account
	joined   bool
	stopped  error
	attempt  int       // consecutive failed joins
	rejoinAt time.Time // zero: no rejoin scheduled

	mu   sync.Mutex
	snap RoomState
}

// Viewer is a well-behaved viewer: see the package doc and ViewerOptions.
type Viewer struct {
	o      ViewerOptions
	rooms  map[string]*roomState // fixed after NewViewer: read without lock by callbacks
	order  []*roomState
	c      viewerCounters
	wake   chan struct{}
	conn   atomic.Pointer[Conn]
	ran    atomic.Bool
	timer  *time.Timer
	kickOf atomic.Pointer[string] // reason of the last session-wide kick
}

// NewViewer checks opts and returns a Viewer ready to Run.
func NewViewer(opts ViewerOptions) (*Viewer, error) {
	if opts.URL == "" && opts.Resolve == nil {
		return nil, errors.New("liveroom viewer: URL or Resolve is required")
	}
	if len(opts.Rooms) == 0 {
		return nil, errors.New("liveroom viewer: no rooms")
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 10 * time.Second
	}
	if opts.BackoffMin <= 0 {
		opts.BackoffMin = 100 * time.Millisecond
	}
	if opts.BackoffMax <= 0 {
		opts.BackoffMax = 10 * time.Second
	}
	if opts.BackoffMax < opts.BackoffMin {
		opts.BackoffMax = opts.BackoffMin
	}
	v := &Viewer{o: opts, rooms: make(map[string]*roomState, len(opts.Rooms)),
		wake: make(chan struct{}, 1)}
	for _, r := range opts.Rooms {
		if r == "" {
			return nil, errors.New("liveroom viewer: empty room id")
		}
		if _, dup := v.rooms[r]; dup {
			return nil, fmt.Errorf("liveroom viewer: room %q listed twice", r)
		}
		rs := &roomState{name: r, snap: RoomState{Room: r}}
		v.rooms[r] = rs
		v.order = append(v.order, rs)
	}
	return v, nil
}

// Stats returns the viewer's counters.
func (v *Viewer) Stats() ViewerStats {
	c := &v.c
	return ViewerStats{
		Connects: c.connects.Load(), Reconnects: c.reconnects.Load(),
		DialErrors: c.dialErrors.Load(), JoinErrors: c.joinErrors.Load(),
		Msgs: c.msgs.Load(), Dropped: c.dropped.Load(), Gaps: c.gaps.Load(),
		EpochChanges: c.epochChanges.Load(),
	}
}

// Room returns what the viewer knows of room (ok false for a room it does not watch).
func (v *Viewer) Room(room string) (RoomState, bool) {
	rs, ok := v.rooms[room]
	if !ok {
		return RoomState{}, false
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.snap, true
}

// Conn returns the current connection, or nil between connections. It may be used to send;
// the viewer owns its lifecycle.
func (v *Viewer) Conn() *Conn { return v.conn.Load() }

func (v *Viewer) signal() {
	select {
	case v.wake <- struct{}{}:
	default:
	}
}

// StoppedError is Run's answer when the server ended the viewer for good: another session of
// the uid replaced it (the per-uid cap), it is banned, or its token was refused. Reconnecting
// would only make it worse (six tabs of one uid would take turns kicking each other out), so
// the viewer stops and the app decides (a new token, a message to the user).
type StoppedError struct{ Reason string }

func (e *StoppedError) Error() string { return "liveroom viewer stopped: " + e.Reason }

// Run connects, joins, pulls on notify and reconnects until ctx is done; it then closes the
// connection and returns once its reader has ended. It returns nil then, a *StoppedError when
// the server ended the viewer for good (replaced, banned, unauthorized), and an error when
// called twice.
func (v *Viewer) Run(ctx context.Context) error {
	if !v.ran.CompareAndSwap(false, true) {
		return errors.New("liveroom viewer: Run called twice")
	}
	v.timer = time.NewTimer(time.Hour)
	v.timer.Stop()
	defer v.timer.Stop()
	attempt := 0
	for ctx.Err() == nil {
		c, err := v.connect(ctx)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			v.c.dialErrors.Add(1)
			var he *HandshakeError
			if errors.As(err, &he) && (he.Status == 401 || he.Status == 403) {
				return &StoppedError{Reason: fmt.Sprintf("refused with %d", he.Status)}
			}
			v.sleep(ctx, v.backoff(attempt, refusedHard(err)))
			attempt++
			continue
		}
		v.c.connects.Add(1)
		v.conn.Store(c)
		healthy := v.session(ctx, c)
		v.conn.Store(nil)
		if ctx.Err() != nil {
			break
		}
		v.c.reconnects.Add(1)
		if healthy {
			attempt = 0
		}
		if r := v.stopReason(c); r != "" {
			return &StoppedError{Reason: r}
		}
		code, _ := c.CloseReason()
		v.sleep(ctx, v.backoff(attempt, code == CloseTooManyConns))
		attempt++
	}
	return nil
}

// stopReason says why the end of session c ends the viewer, "" when it should reconnect: a
// whole-session kick replaced or banned, or a close 4001, 4003, or 4029 with reason replaced
// (the session cap: docs/decisions.md, "Kicks and close codes").
func (v *Viewer) stopReason(c *Conn) string {
	if r := v.kickOf.Swap(nil); r != nil && (*r == "replaced" || *r == "banned") {
		return *r
	}
	switch code, text := c.CloseReason(); {
	case code == CloseUnauthorized:
		return "unauthorized"
	case code == CloseBanned:
		return "banned"
	case code == CloseTooManyConns && text == "replaced":
		return "replaced"
	}
	return ""
}

func refusedHard(err error) bool {
	var he *HandshakeError
	if errors.As(err, &he) {
		return he.Status == 401 || he.Status == 403 || he.Status == 429
	}
	var ce *CloseError
	if errors.As(err, &ce) {
		return ce.Code == CloseUnauthorized || ce.Code == CloseBanned || ce.Code == CloseTooManyConns
	}
	return false
}

// backoff is the delay before retry number attempt: uniform in [d/2, d].
func (v *Viewer) backoff(attempt int, hard bool) time.Duration {
	d := v.o.BackoffMax
	if !hard && attempt < 30 {
		if x := v.o.BackoffMin << attempt; x < d {
			d = x
		}
	}
	return d/2 + rand.N(d/2+1)
}

// sleep waits d or until ctx is done, on the viewer's one timer.
func (v *Viewer) sleep(ctx context.Context, d time.Duration) {
	v.timer.Reset(d)
	select {
	case <-ctx.Done():
		v.timer.Stop() // Go 1.23+ timers: no stale tick survives Stop or Reset
	case <-v.timer.C:
	}
}

func (v *Viewer) connect(ctx context.Context) (*Conn, error) {
	url := v.o.URL
	if v.o.Resolve != nil {
		var err error
		if url, err = v.o.Resolve(ctx); err != nil {
			return nil, err
		}
	}
	do := v.o.Dial
	do.OnNotify = func(room string, _ int64) {
		if rs, ok := v.rooms[room]; ok {
			rs.dirty.Store(true)
			v.signal()
		}
	}
	do.OnKick = func(room, reason string) {
		if room == "" {
			v.kickOf.Store(&reason)
			return // the server closes the session
		}
		if rs, ok := v.rooms[room]; ok {
			rs.kicked.Store(true)
			v.signal()
		}
	}
	do.OnClose = func(int, string) { v.signal() }
	return Dial(ctx, url, do)
}

// session runs one connection until it ends or ctx is done, and returns whether it got as
// far as joining (a healthy session resets the reconnect backoff).
func (v *Viewer) session(ctx context.Context, c *Conn) (healthy bool) {
	defer func() {
		_ = c.Close()
		<-c.Done()
		for _, rs := range v.order {
			rs.joined = false
			rs.rejoinAt = time.Time{}
			rs.kicked.Store(false)
			rs.setJoined(false)
		}
	}()
	now := time.Now()
	for _, rs := range v.order {
		if rs.stopped == nil {
			rs.rejoinAt = now
		}
	}
	for {
		v.rejoinDue(ctx, c)
		for _, rs := range v.order {
			if rs.joined {
				healthy = true
			}
			if rs.kicked.Swap(false) && rs.joined {
				rs.joined = false
				rs.setJoined(false)
				rs.rejoinAt = time.Now().Add(v.backoff(rs.attempt, false))
				rs.attempt++
			}
			if rs.joined && rs.dirty.Swap(false) {
				v.pull(ctx, c, rs)
			}
		}
		// Wait for a notify or kick, the next rejoin, the end of the conn or of ctx.
		next := time.Time{}
		for _, rs := range v.order {
			if !rs.rejoinAt.IsZero() && (next.IsZero() || rs.rejoinAt.Before(next)) {
				next = rs.rejoinAt
			}
		}
		var tc <-chan time.Time
		if !next.IsZero() {
			v.timer.Reset(time.Until(next))
			tc = v.timer.C
		}
		select {
		case <-ctx.Done():
		case <-c.Done():
		case <-v.wake:
		case <-tc:
		}
		if tc != nil {
			v.timer.Stop()
		}
		if ctx.Err() != nil {
			return healthy
		}
		select {
		case <-c.Done():
			return healthy
		default:
		}
	}
}

// rejoinDue joins every room whose rejoin time has come.
func (v *Viewer) rejoinDue(ctx context.Context, c *Conn) {
	now := time.Now()
	for _, rs := range v.order {
		if rs.rejoinAt.IsZero() || rs.rejoinAt.After(now) || ctx.Err() != nil {
			continue
		}
		rs.rejoinAt = time.Time{}
		v.join(ctx, c, rs)
	}
}

func (v *Viewer) join(ctx context.Context, c *Conn, rs *roomState) {
	var since *int64
	fromStart := false
	switch {
	case rs.acct.started:
		s := rs.acct.since
		since = &s
	case v.o.FromStart:
		var zero int64
		since, fromStart = &zero, true
	}
	jctx, cancel := context.WithTimeout(ctx, v.o.RequestTimeout)
	j, err := c.Join(jctx, rs.name, since)
	cancel()
	if err != nil {
		if errors.Is(err, ErrClosed) || ctx.Err() != nil {
			return // the session is over; the next one joins again
		}
		v.c.joinErrors.Add(1)
		var se *ServerError
		if errors.As(err, &se) {
			switch se.Code {
			case CodeBanned, CodeForbidden, CodeUnauthorized, CodeBadRequest, CodeTooManyRooms:
				rs.stopped = err
				rs.mu.Lock()
				rs.snap.Stopped = err
				rs.mu.Unlock()
				return
			}
		}
		rs.rejoinAt = time.Now().Add(v.backoff(rs.attempt, false))
		rs.attempt++
		return
	}
	rs.attempt = 0
	rs.joined = true
	if rs.acct.joined(j, fromStart) {
		v.c.epochChanges.Add(1)
	}
	rs.mu.Lock()
	rs.snap.Joined = true
	rs.snap.Epoch = rs.acct.epoch
	rs.snap.Next = rs.acct.since
	rs.mu.Unlock()
	if since != nil {
		// A resume: the server notifies if there is news; pulling once more covers a notify
		// that raced the join.
		rs.dirty.Store(true)
	}
}

func (rs *roomState) setJoined(j bool) {
	rs.mu.Lock()
	rs.snap.Joined = j
	rs.mu.Unlock()
}

// pull pulls room until the window is complete (more false), accounting every window.
func (v *Viewer) pull(ctx context.Context, c *Conn, rs *roomState) {
	for {
		pctx, cancel := context.WithTimeout(ctx, v.o.RequestTimeout)
		m, err := c.Pull(pctx, rs.name, rs.acct.since, v.o.PullLimit)
		cancel()
		if err != nil {
			if errors.Is(err, ErrClosed) || ctx.Err() != nil {
				return
			}
			if IsCode(err, CodeNotJoined) && rs.joined {
				rs.joined = false
				rs.setJoined(false)
				rs.rejoinAt = time.Now()
			}
			return
		}
		v.window(rs, &m)
		if !m.More {
			return
		}
	}
}

// window accounts one pulled window and hands its messages on.
func (v *Viewer) window(rs *roomState, m *Msgs) {
	v.c.msgs.Add(uint64(len(m.Msgs)))
	v.c.dropped.Add(m.Dropped)
	epochChanged, gap := rs.acct.window(m)
	if epochChanged {
		v.c.epochChanges.Add(1)
	}
	if gap {
		v.c.gaps.Add(1)
	}
	rs.mu.Lock()
	rs.snap.Epoch = rs.acct.epoch
	rs.snap.Next = rs.acct.since
	rs.mu.Unlock()
	if v.o.OnMessage != nil {
		for i := range m.Msgs {
			v.o.OnMessage(rs.name, &m.Msgs[i])
		}
	}
}
