package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/liveroom/liveroom/internal/testwait"
)

// startViewer runs a viewer until the returned stop is called (or the test ends); stop
// returns once Run has returned.
func startViewer(t *testing.T, o ViewerOptions) (*Viewer, func()) {
	t.Helper()
	if o.BackoffMin == 0 {
		o.BackoffMin, o.BackoffMax = 5*time.Millisecond, 100*time.Millisecond
	}
	v, err := NewViewer(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- v.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return v, stop
}

func joinedRoom(v *Viewer, room string) func() bool {
	return func() bool { rs, _ := v.Room(room); return rs.Joined }
}

// inbox collects what a viewer's OnMessage hands over.
type inbox struct {
	mu   sync.Mutex
	msgs map[string][]Message
}

func newInbox() *inbox { return &inbox{msgs: map[string][]Message{}} }

func (in *inbox) onMessage(room string, m *Message) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.msgs[room] = append(in.msgs[room], *m)
}

// room returns a copy of the messages received in room, in order.
func (in *inbox) room(room string) []Message {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]Message(nil), in.msgs[room]...)
}

// count is the number of messages of priority pri received, all rooms.
func (in *inbox) count(pri string) int {
	in.mu.Lock()
	defer in.mu.Unlock()
	n := 0
	for _, ms := range in.msgs {
		for _, m := range ms {
			if m.Pri == pri {
				n++
			}
		}
	}
	return n
}

func protected(ms []Message) []Message {
	var out []Message
	for _, m := range ms {
		if isProtected(m.Pri) {
			out = append(out, m)
		}
	}
	return out
}

// sameMsgs fails unless got and want are the same messages (by ts and seq), in order.
func sameMsgs(t *testing.T, what string, got, want []Message) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d messages, want %d", what, len(got), len(want))
	}
	for i := range want {
		if got[i].TS != want[i].TS || got[i].Seq != want[i].Seq {
			t.Fatalf("%s[%d] = %+v, want %+v", what, i, got[i], want[i])
		}
	}
}

func TestViewerPullsAndAccounts(t *testing.T) {
	hub := newFakeHub()
	fs := newFakeServer(t, hub.serveRooms)
	in := newInbox()
	v, stop := startViewer(t, ViewerOptions{URL: fs.url, Dial: DialOptions{DevUID: "v1"},
		Rooms: []string{"R", "S"}, PullLimit: 3, OnMessage: in.onMessage})
	testwait.For(t, 10*time.Second, "joins", func() bool { return joinedRoom(v, "R")() && joinedRoom(v, "S")() })

	// One by one: every message arrives.
	var posted []Message
	for i := range 5 {
		posted = append(posted, hub.add("R", PriNormal, "chat", "u", fmt.Sprintf(`{"i":%d}`, i)))
	}
	sys := hub.add("S", PriSystem, "notice", "", `{"text":"hello"}`)
	testwait.For(t, 10*time.Second, "five chats", func() bool { return in.count(PriNormal)+int(v.Stats().Dropped) == 5 })
	testwait.For(t, 10*time.Second, "the notice", func() bool { return in.count(PriSystem) == 1 })

	// A burst behind one notify: limit 3 keeps both protected messages and the newest one.
	hub.mu.Lock()
	hub.noNote = true
	hub.mu.Unlock()
	for i := range 10 {
		hub.add("R", PriNormal, "chat", "u", fmt.Sprintf(`{"b":%d}`, i))
	}
	n1 := hub.add("R", PriSystem, "notice", "", `{"n":1}`)
	hub.add("R", PriNormal, "chat", "u", `{"late":1}`)
	n2 := hub.add("R", PriHigh, "gift", "w", `{"n":2}`)
	hub.add("R", PriNormal, "chat", "u", `{"last":1}`)
	// Protected messages beyond the limit: the viewer must pull again at once (more), since
	// nothing notifies it of the rest.
	var more []Message
	for i := range 4 {
		more = append(more, hub.add("S", PriSystem, "notice", "", fmt.Sprintf(`{"m":%d}`, i)))
	}
	hub.mu.Lock()
	hub.noNote = false
	hub.mu.Unlock()
	like := hub.add("R", PriLow, "like", "u", `{}`)
	likeS := hub.add("S", PriLow, "like", "u", `{}`)

	testwait.For(t, 10*time.Second, "the burst", func() bool { return in.count(PriLow) == 2 })
	st := v.Stats()
	if st.Gaps != 0 || st.EpochChanges != 0 || st.Connects != 1 {
		t.Fatalf("stats %+v", st)
	}
	// R's burst window: 15 accepted, 3 kept (n1, n2 and the newest, the like).
	accepted := uint64(len(posted) + 1 + 10 + 4 + 4 + 2)
	if st.Msgs+st.Dropped != accepted {
		t.Fatalf("msgs %d + dropped %d != accepted %d", st.Msgs, st.Dropped, accepted)
	}
	gotR, gotS := in.room("R"), in.room("S")
	if uint64(len(gotR)+len(gotS)) != st.Msgs {
		t.Fatalf("OnMessage saw %d, stats %d", len(gotR)+len(gotS), st.Msgs)
	}
	sameMsgs(t, "S", gotS, append(append([]Message{sys}, more...), likeS))
	sameMsgs(t, "protected in R", protected(gotR), []Message{n1, n2})
	sameMsgs(t, "R's last window", gotR[len(gotR)-3:], []Message{n1, n2, like})
	if rs, _ := v.Room("R"); rs.Next != like.TS || rs.Epoch != "R-e1" || !rs.Joined || rs.Stopped != nil {
		t.Fatalf("room state %+v", rs)
	}

	// Run returns on cancel with its connection closed and its reader gone.
	c := v.Conn()
	stop()
	select {
	case <-c.Done():
	default:
		t.Fatal("Run returned before its connection's reader ended")
	}
	if v.Conn() != nil {
		t.Fatal("Conn after Run")
	}
	if err := v.Run(context.Background()); err == nil {
		t.Fatal("second Run accepted")
	}
	testwait.For(t, 10*time.Second, "server side gone", func() bool { return hub.members("R") == 0 })
}

func TestViewerEpochChangeAndEviction(t *testing.T) {
	hub := newFakeHub()
	fs := newFakeServer(t, hub.serveRooms)
	in := newInbox()
	v, _ := startViewer(t, ViewerOptions{URL: fs.url, Dial: DialOptions{DevUID: "v1"}, Rooms: []string{"R"},
		OnMessage: in.onMessage})
	testwait.For(t, 10*time.Second, "join", joinedRoom(v, "R"))
	hub.add("R", PriNormal, "chat", "u", `1`)
	testwait.For(t, 10*time.Second, "first", func() bool { return v.Stats().Msgs == 1 })

	// Evicted before the viewer pulls: counted as dropped, no gap.
	hub.mu.Lock()
	hub.noNote = true
	hub.mu.Unlock()
	for range 5 {
		hub.add("R", PriNormal, "chat", "u", `2`)
	}
	hub.evict("R", 4)
	hub.mu.Lock()
	hub.noNote = false
	hub.mu.Unlock()
	hub.add("R", PriNormal, "chat", "u", `3`)
	testwait.For(t, 10*time.Second, "after eviction", func() bool { return v.Stats().Msgs+v.Stats().Dropped == 7 })
	if st := v.Stats(); st.Dropped != 3 || st.Gaps != 0 {
		t.Fatalf("stats %+v", st)
	}

	// The room loses its history: seq restarts, the viewer's since stays valid.
	hub.restart("R")
	hub.add("R", PriNormal, "chat", "u", `4`)
	hub.add("R", PriSystem, "notice", "", `5`)
	testwait.For(t, 10*time.Second, "new epoch", func() bool { return in.count(PriSystem) == 1 })
	if st := v.Stats(); st.EpochChanges != 1 || st.Gaps != 0 {
		t.Fatalf("stats %+v", st)
	}
	if rs, _ := v.Room("R"); rs.Epoch != "R-e2" {
		t.Fatalf("epoch %q", rs.Epoch)
	}
	if got := in.room("R"); got[len(got)-2].Seq != 1 || got[len(got)-1].Seq != 2 {
		t.Fatalf("new epoch's seqs %+v", got[len(got)-2:])
	}
}

func TestViewerCountsGap(t *testing.T) {
	hub := newFakeHub()
	fs := newFakeServer(t, hub.serveRooms)
	v, _ := startViewer(t, ViewerOptions{URL: fs.url, Dial: DialOptions{DevUID: "v1"}, Rooms: []string{"R"}})
	testwait.For(t, 10*time.Second, "join", joinedRoom(v, "R"))
	hub.mu.Lock()
	hub.lieNext = 1 // one window claims a drop that never happened
	hub.mu.Unlock()
	hub.add("R", PriNormal, "chat", "u", `1`)
	testwait.For(t, 10*time.Second, "first", func() bool { return v.Stats().Msgs == 1 })
	for i := range 3 {
		hub.add("R", PriNormal, "chat", "u", fmt.Sprint(i))
		testwait.For(t, 10*time.Second, "next", func() bool { return v.Stats().Msgs == uint64(2+i) })
	}
	if st := v.Stats(); st.Gaps != 1 {
		t.Fatalf("stats %+v, want exactly one gap", st)
	}
}

func TestViewerRejoinsAfterKickAndStopsWhenBanned(t *testing.T) {
	hub := newFakeHub()
	fs := newFakeServer(t, hub.serveRooms)
	in := newInbox()
	v, _ := startViewer(t, ViewerOptions{URL: fs.url, Dial: DialOptions{DevUID: "v1"},
		Rooms: []string{"R", "S"}, OnMessage: in.onMessage})
	testwait.For(t, 10*time.Second, "joins", func() bool { return joinedRoom(v, "R")() && joinedRoom(v, "S")() })
	hub.add("R", PriNormal, "chat", "u", `1`)
	testwait.For(t, 10*time.Second, "first", func() bool { return v.Stats().Msgs == 1 })
	before, _ := v.Room("R")

	hub.mu.Lock()
	hub.noNote = true // nothing tells the viewer: it must find these by its resume
	hub.mu.Unlock()
	notice := hub.add("R", PriSystem, "notice", "", `"while kicked"`)
	if hub.kick("R", "v1", "kicked") != 1 {
		t.Fatal("kick missed")
	}
	hub.mu.Lock()
	hub.noNote = false
	hub.mu.Unlock()
	testwait.For(t, 10*time.Second, "notice after rejoin", func() bool { return in.count(PriSystem) == 1 })
	sameMsgs(t, "protected in R", protected(in.room("R")), []Message{notice})
	var rejoin *fakeJoin
	log := hub.joinLog()
	for _, j := range log {
		if j.Room == "R" && j.Since != nil {
			rejoin = &j
		}
	}
	if rejoin == nil || *rejoin.Since != before.Next {
		t.Fatalf("rejoin %+v, want since %d", rejoin, before.Next)
	}
	if st := v.Stats(); len(log) != 3 || st.Gaps != 0 || st.Connects != 1 {
		t.Fatalf("%d joins, stats %+v", len(log), st)
	}

	// Banned: the rejoin is refused and the viewer stops asking.
	hub.mu.Lock()
	hub.banned["S/v1"] = true
	hub.mu.Unlock()
	hub.kick("S", "v1", "banned")
	testwait.For(t, 10*time.Second, "stopped", func() bool { rs, _ := v.Room("S"); return rs.Stopped != nil })
	if rs, _ := v.Room("S"); !IsCode(rs.Stopped, CodeBanned) || rs.Joined {
		t.Fatalf("room S %+v", rs)
	}
	joins := len(hub.joinLog())
	hub.add("R", PriNormal, "chat", "u", `2`) // R goes on
	testwait.For(t, 10*time.Second, "R still watched", func() bool { return in.count(PriNormal) == 2 })
	if len(hub.joinLog()) != joins || v.Stats().JoinErrors != 1 {
		t.Fatalf("joins after a ban: %d -> %d, join errors %d", joins, len(hub.joinLog()), v.Stats().JoinErrors)
	}
}

func TestViewerReconnectsAndResumes(t *testing.T) {
	hub := newFakeHub()
	fs := newFakeServer(t, hub.serveRooms)
	in := newInbox()
	var resolves atomic.Int32
	v, _ := startViewer(t, ViewerOptions{
		Resolve: func(context.Context) (string, error) { resolves.Add(1); return fs.url, nil },
		Dial:    DialOptions{DevUID: "v1"}, Rooms: []string{"R"}, OnMessage: in.onMessage})
	testwait.For(t, 10*time.Second, "join", joinedRoom(v, "R"))
	hub.add("R", PriNormal, "chat", "u", `1`)
	testwait.For(t, 10*time.Second, "first", func() bool { return in.count(PriNormal) == 1 })
	before, _ := v.Room("R")

	// The network drops and the server refuses the next 3 attempts.
	fs.refuse.Store(3)
	fs.sessionList()[0].ws.NetConn().Close()
	testwait.For(t, 10*time.Second, "refusals", func() bool {
		fs.mu.Lock()
		defer fs.mu.Unlock()
		return fs.refused == 3
	})
	notice := hub.add("R", PriSystem, "notice", "", `"during the outage"`)
	hub.add("R", PriNormal, "chat", "u", `2`)
	testwait.For(t, 10*time.Second, "resumed", func() bool { return in.count(PriSystem) == 1 && in.count(PriNormal) == 2 })

	st := v.Stats()
	if st.Reconnects != 1 || st.Connects != 2 || st.DialErrors != 3 || st.Gaps != 0 || st.Dropped != 0 {
		t.Fatalf("stats %+v", st)
	}
	if resolves.Load() != 5 {
		t.Fatalf("Resolve called %d times, want 5 (1 + 3 refused + 1)", resolves.Load())
	}
	log := hub.joinLog()
	if last := log[len(log)-1]; last.Since == nil || *last.Since != before.Next {
		t.Fatalf("resume join %+v, want since %d", last, before.Next)
	}
	sameMsgs(t, "protected in R", protected(in.room("R")), []Message{notice})
}

func TestViewerBackoff(t *testing.T) {
	v, err := NewViewer(ViewerOptions{URL: "ws://x", Rooms: []string{"R"},
		BackoffMin: 10 * time.Millisecond, BackoffMax: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	f := func(attempt int, hard bool, lo, hi time.Duration) {
		t.Helper()
		for range 200 {
			if d := v.backoff(attempt, hard); d < lo || d > hi {
				t.Fatalf("backoff(%d, %v) = %v, want [%v, %v]", attempt, hard, d, lo, hi)
			}
		}
	}
	f(0, false, 5*time.Millisecond, 10*time.Millisecond)
	f(1, false, 10*time.Millisecond, 20*time.Millisecond)
	f(3, false, 40*time.Millisecond, 80*time.Millisecond)
	f(10, false, 500*time.Millisecond, time.Second)
	f(1000, false, 500*time.Millisecond, time.Second)
	f(0, true, 500*time.Millisecond, time.Second)

	if !refusedHard(&HandshakeError{Status: 429}) || refusedHard(&HandshakeError{Status: 503}) ||
		!refusedHard(&CloseError{Code: CloseTooManyConns}) || refusedHard(errors.New("x")) {
		t.Fatal("refusedHard")
	}
}

func TestNewViewerBadOptions(t *testing.T) {
	f := func(o ViewerOptions) {
		t.Helper()
		if _, err := NewViewer(o); err == nil {
			t.Fatalf("NewViewer(%+v) accepted", o)
		}
	}
	f(ViewerOptions{Rooms: []string{"R"}})
	f(ViewerOptions{URL: "ws://x"})
	f(ViewerOptions{URL: "ws://x", Rooms: []string{"R", "R"}})
	f(ViewerOptions{URL: "ws://x", Rooms: []string{""}})
}

// A viewer replaced by another session of its uid, banned or refused stops instead of
// reconnecting (six tabs of one uid would otherwise take turns kicking each other out); a
// connection rate limit (4029 without reason replaced) is retried.
func TestViewerStopsWhenReplacedOrBanned(t *testing.T) {
	for _, c := range []struct {
		name, kick string // kick: the whole-session kick's reason sent first, if any
		code       int
		text       string
		stop       string // the StoppedError's reason; "": the viewer reconnects
	}{
		{"kick-replaced", "replaced", CloseTooManyConns, "replaced", "replaced"},
		{"kick-banned", "banned", CloseBanned, "banned", "banned"},
		{"close-replaced", "", CloseTooManyConns, "replaced", "replaced"},
		{"close-unauthorized", "", CloseUnauthorized, "token expired", "unauthorized"},
		{"close-rate-limited", "", CloseTooManyConns, "too many connections", ""},
		{"kick-shutdown", "shutdown", CloseGoingAway, "shutdown", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			hub := newFakeHub()
			fs := newFakeServer(t, hub.serveRooms)
			v, err := NewViewer(ViewerOptions{URL: fs.url, Dial: DialOptions{DevUID: "tab"}, Rooms: []string{"R"},
				BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() { done <- v.Run(ctx) }()
			testwait.For(t, 10*time.Second, "join", joinedRoom(v, "R"))
			s := fs.sessionList()[0]
			if c.kick != "" {
				_ = s.send(map[string]any{"op": "kick", "reason": c.kick})
			}
			s.closeWith(c.code, c.text)
			if c.stop == "" {
				testwait.For(t, 10*time.Second, "a reconnect", func() bool { return v.Stats().Connects == 2 })
				return
			}
			select {
			case err := <-done:
				var se *StoppedError
				if !errors.As(err, &se) || se.Reason != c.stop {
					t.Fatalf("Run returned %v, want a StoppedError %q", err, c.stop)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the viewer did not stop")
			}
			if n := fs.dialCount(); n != 1 {
				t.Fatalf("%d connections, want 1 (no reconnect)", n)
			}
		})
	}
}
