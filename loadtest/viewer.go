package loadtest

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"
)

// Slow modes of a viewer.
const (
	slowNone  = iota
	slowLate  // pulls a random 0.5-3 s after each notify: exercises merging and retries
	slowNever // never pulls: gets kicked as unresponsive and comes back
	slowStop  // stops reading after joined (stall.go)
)

// viewer is one simulated client's state and its handling of the server's frames, which both
// viewer IO modes share: viewer_ws.go (a goroutine and a websocket.Conn per viewer) and
// viewer_epoll.go (small structs whose sockets wait in one epoll set per worker). The IO calls
// begin when a session starts, onFrame for each data frame, and closeSession and after when it
// ends; onFrame writes through the session's frameWriter. Fields are owned by whoever runs
// the viewer's session (its goroutine, or the epoll handler holding mu); the worker reads them
// under mu once the sessions have stopped.
type viewer struct {
	w     *worker
	mu    sync.Mutex // the epoll IO's: held while a handler, a timer or the final report touches the viewer
	id    int
	room  string // interned by the worker: viewers of a room share the string
	class int    // of its room's size (roomsizes.go)
	slow  int

	// Which node, and when to come back (follow.go).
	node       int           // the node of the current or next attempt
	avoid      int           // a node just lost: not where a stale route should send it back
	avoidUntil int64         // unix ns
	backoff    time.Duration // the next failed attempt's backoff bound
	retryMS    int64         // a kick's retry_ms: the next attempt waits a random part of it
	shutdown   bool          // this session was kicked with reason shutdown
	lostAt     int64         // unix ns when its last joined session ended (0: joined, or never)
	lostChurn  bool          // that session was ended by churn

	// The current session.
	started int64 // unix ns of the attempt's start (dial)
	joined  bool  // it got joined
	pending bool  // a pull is in flight
	pullID  int64

	since     int64  // the next pull's since (last next)
	accounted uint64 // seq accounted for so far (msgs + dropped)
	epoch     string // interned by the worker
	everIn    bool   // joined at least once
	joinedAt  int64  // room head ts at the first join: notices after it must all arrive
	notices   bits   // the system notices received, by the worker's numbering of its room's (notices.go)

	lk *likeCounts // --likes only (counters.go)
}

// frameWriter writes a viewer's frames on its current session: now (the reply to a frame) or
// after d (a late viewer's pull, on the same session only).
type frameWriter interface {
	writeFrame(b []byte) error
	writeLater(d time.Duration, b []byte)
}

// frameResult is what a frame means for the session beyond the viewer's state.
type frameResult int

const (
	frameOK      frameResult = iota
	frameJoined              // the session joined: the IO stops its join deadline
	frameRefused             // the join was refused: this attempt failed (endDial)
)

// joinTimeout bounds a session's dial-to-joined (the handshake has its own 10 s); a var for
// the tests.
var joinTimeout = 10 * time.Second

// uid is the viewer's user id (built when needed: a million viewers need not hold it).
func (v *viewer) uid() string { return v.w.cfg.uid(v.id) }

// begin starts an attempt's session.
func (v *viewer) begin(now time.Time) {
	v.started, v.joined, v.pending, v.shutdown = now.UnixNano(), false, false, false
}

// onFrame handles one data frame of the current session. The error is a failed write: the
// connection is gone.
func (v *viewer) onFrame(b []byte, f *msgsFrame, out frameWriter) (frameResult, error) {
	c := &v.w.c
	c.frames.Add(1)
	switch string(op(b)) {
	case "hello":
		return frameOK, out.writeFrame(v.joinFrame(f.scratch[:0]))
	case "joined":
		v.onJoined(b)
		return frameJoined, nil
	case "counters":
		c.counterFrames.Add(1)
		v.onLikes(b)
	case "notify":
		c.notifies.Add(1)
		return frameOK, v.onNotify(f, out)
	case "msgs":
		return frameOK, v.onMsgs(b, f, out)
	case "push":
		v.onPush(b, f)
	case "kick":
		v.onKick(b)
	case "error":
		c.countError(b)
		id, hasID := intField(b, keyID)
		if !hasID && v.lk != nil { // only adds are sent without an id
			v.refusedAdd()
		}
		switch {
		case !v.joined && id == 1: // the join was refused: this attempt failed
			return frameRefused, nil
		case v.pending && id == v.pullID: // the pull was refused: the next notify may pull again
			v.pending = false
		}
	}
	return frameOK, nil
}

// joinFrame appends the session's join to b: with since when resuming.
func (v *viewer) joinFrame(b []byte) []byte {
	b = append(b, `{"op":"join","room":"`...)
	b = append(b, v.room...)
	b = append(b, `","id":1`...)
	if v.w.cfg.Push {
		b = append(b, `,"push":true`...)
	}
	if v.epoch != "" {
		b = append(b, `,"since":`...)
		b = strconv.AppendInt(b, v.since, 10)
	}
	return append(b, '}')
}

// onJoined starts the accounting at the first join, restarts it in a new epoch, and counts
// the join and the resumption it ends.
func (v *viewer) onJoined(b []byte) {
	c := &v.w.c
	v.joined = true
	c.connected.Add(1)
	if !v.everIn {
		c.firstJoins.Add(1)
		c.connectNs.Add(time.Now().UnixNano() - v.started)
	}
	if v.lostAt != 0 {
		if v.lostChurn {
			v.w.churnResume.record(time.Now().UnixNano() - v.lostAt)
		} else {
			v.w.resume.record(time.Now().UnixNano() - v.lostAt)
		}
		v.lostAt = 0
	}
	epoch := strField(b, keyEpoch)
	ts, _ := intField(b, keyTS)
	seq, _ := intField(b, []byte(`"seq":`))
	switch {
	case v.epoch == "": // first join: the accounting starts at the room's head
		v.since, v.accounted, v.joinedAt, v.everIn = ts, uint64(seq), ts, true
	case string(epoch) != v.epoch: // the room lost its history: seq restarts, since stays valid
		v.accounted = 0
	}
	v.setEpoch(epoch)
	v.onLikes(b)
}

// setEpoch keeps the epoch, interned.
func (v *viewer) setEpoch(epoch []byte) {
	if string(epoch) != v.epoch {
		v.epoch = v.w.intern(epoch)
	}
}

// onKick counts a kick; a shutdown kick's retry_ms spreads the reconnections (PROTOCOL.md 8.8).
func (v *viewer) onKick(b []byte) {
	v.w.c.countKick(b)
	if bytes.Contains(b, []byte(`"reason":"shutdown"`)) {
		v.shutdown = true
	}
	if ms, ok := intField(b, keyRetryMS); ok && ms > 0 {
		v.retryMS = ms
	}
}

func (v *viewer) onNotify(f *msgsFrame, out frameWriter) error {
	if v.pending {
		return nil
	}
	switch v.slow {
	case slowNever:
		return nil
	case slowLate:
		// The delayed write uses only values taken now: no other pull is sent while this
		// one is pending.
		delay := 500*time.Millisecond + time.Duration(rand.Int64N(int64(2500*time.Millisecond)))
		out.writeLater(delay, v.pullFrame(nil))
		return nil
	}
	return out.writeFrame(v.pullFrame(f.scratch[:0]))
}

// pullFrame marks a pull in flight and appends its frame to b.
func (v *viewer) pullFrame(b []byte) []byte {
	v.pending = true
	v.pullID++
	v.w.c.pulls.Add(1)
	b = append(b, `{"op":"pull","room":"`...)
	b = append(b, v.room...)
	b = append(b, `","since":`...)
	b = strconv.AppendInt(b, v.since, 10)
	b = append(b, `,"limit":`...)
	b = strconv.AppendInt(b, int64(v.w.cfg.PullLimit), 10)
	b = append(b, `,"id":`...)
	b = strconv.AppendInt(b, v.pullID, 10)
	return append(b, '}')
}

// onMsgs accounts a pull answer or a pushed window, decoded into f (the caller's scratch).
// v.accounted is the seq at v.since: the joined seq at the first join, 0 in a new epoch (its
// seq starts after any since), then each frame's end. A frame with next_seq (PROTOCOL.md 8.1)
// must cover exactly len(msgs) + dropped == next_seq - v.accounted; a frame without it, as
// before v1.1: the advance must end at its last message's seq when that message is at next.
func (v *viewer) onMsgs(b []byte, f *msgsFrame, out frameWriter) error {
	recv := time.Now().UnixMicro()
	if !parseMsgs(b, f) {
		v.w.c.acctErrors.Add(1)
		v.pending = false
		return nil
	}
	if string(f.epoch) != v.epoch {
		v.setEpoch(f.epoch)
		v.accounted = 0
	}
	covered := uint64(len(f.msgs)) + f.dropped
	if f.hasNextSeq {
		if f.nextSeq != v.accounted+covered {
			v.acctError(f, "next_seq")
		}
		v.accounted = f.nextSeq
	} else {
		prev := v.accounted
		v.accounted += covered
		if n := len(f.msgs); n > 0 && f.msgs[n-1].ts == f.next && f.msgs[n-1].seq != v.accounted {
			v.accounted = prev
			v.acctError(f, "last seq")
			v.accounted = f.msgs[n-1].seq
		}
	}
	v.deliver(f.msgs, recv)
	if v.w.cfg.Push && v.onLikes(b) { // a pushed window may carry the counters (PROTOCOL.md 8.4)
		v.w.c.counterFrames.Add(1) // an update as a counters frame is
	}
	v.w.c.dropped.Add(int64(f.dropped))
	if f.next > v.since {
		v.since = f.next
	}
	v.pending = false
	if f.more && !v.w.cfg.Push { // a push session gets the rest in the next round (PROTOCOL.md 8.2)
		return out.writeFrame(v.pullFrame(f.scratch[:0]))
	}
	return nil
}

// deliver counts messages received at recv (unix us): deliveries, the system notices for the
// loss check, stamps, latencies.
func (v *viewer) deliver(msgs []msgInfo, recv int64) {
	w := v.w
	for _, m := range msgs {
		w.c.deliveries[m.pri].Add(1)
		if m.pri == 3 {
			v.notices.set(w.notices.number(v.room, m.ts))
		}
		if w.stamps != nil {
			w.stamps.see(v.room, v.epoch, m.seq, m.ts)
		}
	}
	if len(msgs) > 0 {
		w.lat.record(v.id, msgs, recv)
		if w.classes != nil {
			w.classes.record(v.class, msgs, recv)
		}
	}
}

// acctError counts a frame whose accounting does not hold, described with what the viewer
// expected (v.accounted and v.since still hold the values before the frame).
func (v *viewer) acctError(f *msgsFrame, check string) {
	v.w.c.acctError(func() string {
		first, last := uint64(0), uint64(0)
		if n := len(f.msgs); n > 0 {
			first, last = f.msgs[0].seq, f.msgs[n-1].seq
		}
		return fmt.Sprintf("%s: viewer %d room %s epoch %s node %d: since %d accounted %d; frame msgs %d (seq %d..%d) dropped %d next %d next_seq %d",
			check, v.id, v.room, v.epoch, v.node, v.since, v.accounted, len(f.msgs), first, last, f.dropped, f.next, f.nextSeq)
	})
}

// onPush handles the push-each baseline's frames: one message each.
func (v *viewer) onPush(b []byte, f *msgsFrame) {
	recv := time.Now().UnixMicro()
	i := bytes.Index(b, []byte(`"msg":`))
	if i < 0 {
		return
	}
	body := append(append(f.scratch[:0], b[i+6:len(b)-1]...), `],"dropped":0,"next":0,"more":false`...)
	f.scratch = body[:0]
	if !parseMsgs(body, f) || len(f.msgs) != 1 {
		return
	}
	m := f.msgs[0]
	if v.accounted != 0 && m.seq != v.accounted+1 {
		v.w.c.acctErrors.Add(1)
	}
	v.accounted = m.seq
	v.since = m.ts
	v.deliver(f.msgs, recv)
}

// closeSession ends the current session's share of the counters.
func (v *viewer) closeSession() {
	if v.joined {
		v.w.c.connected.Add(-1)
	}
}

// after records how the session ended (joined or not) and returns how long to wait before
// the next attempt (follow.go: the node is picked when the wait is over, with nextNode).
func (v *viewer) after(how ending) time.Duration {
	if v.joined {
		v.lostAt, v.lostChurn = time.Now().UnixNano(), how == endChurn
	} else {
		v.w.c.dialFails.Add(1)
	}
	return v.pause(how, v.joined)
}

// endingOf tells how a session ended: whether it had joined, whether it was kicked with reason
// shutdown, the close code of the server's close frame (0: none, the connection just ended)
// and whether a read deadline ended it (a join that was never answered). Churn is the IO's
// to tell.
func endingOf(joined, shutdown bool, closeCode int, timeout bool, c *counters) ending {
	switch {
	case !joined:
		if timeout {
			c.joinTimeouts.Add(1)
		}
		return endDial
	case shutdown || closeCode == 1001: // a shutdown kick, or going away
		return endShutdown
	case closeCode != 0:
		return endClosed
	}
	return endLost
}

// lostOf counts the notices (by ts) this viewer should have received and did not.
func (v *viewer) lostOf(notices []int64) int64 {
	if !v.everIn {
		return 0
	}
	var lost int64
	for _, ts := range notices {
		if ts > v.joinedAt {
			if k, ok := v.w.notices.lookup(v.room, ts); !ok || !v.notices.has(k) {
				lost++
			}
		}
	}
	return lost
}
