package loadtest

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/fasthttp/websocket"
)

// A viewer with --slow-mode stop joins, then stops reading its socket entirely (no reads, no
// pulls): its TCP buffers fill and the server must deal with it (kick it, close it). It never
// counts in the loss check or the latency. When the run ends (before the loss check) it reads
// what is there until EOF or stallRead and records how its session ended:
//
//	"kick <reason>"  a kick frame (the first one read)
//	"close <code>"   a close frame without a kick before it
//	"eof"            the connection ended without either (a dead node, a reset)
//	"open"           still open after stallRead: the server did not deal with it
//	"not joined"     never got as far as joined (counted by the worker)
//	"no report"      joined and stalled, but did not report in time (a starved worker)
const stallRead = 2 * time.Second

// stalls is a worker's stalled viewers. The worker's finish ends the stalls and waits for
// their reports; a viewer that would stall after that does not (the run is over).
type stalls struct {
	mu      sync.Mutex
	end     chan struct{} // closed by finish: read what is there
	ending  bool
	active  int           // stalled viewers that have not reported yet
	entered int           // viewers that stalled
	done    chan struct{} // closed when ending and active is 0
	outcome map[string]int64
}

func newStalls() *stalls {
	return &stalls{end: make(chan struct{}), done: make(chan struct{}), outcome: map[string]int64{}}
}

// enter registers a stalling viewer; false: the run is ending, do not stall.
func (s *stalls) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ending {
		return false
	}
	s.active++
	s.entered++
	return true
}

// leave records how a stalled viewer's session ended.
func (s *stalls) leave(how string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outcome[how]++
	s.active--
	if s.ending && s.active == 0 {
		close(s.done)
	}
}

// finish ends the stalls and returns their outcomes once every stalled viewer has reported
// (at most timeout: the rest are not counted; nil when none stalled).
func (s *stalls) finish(timeout time.Duration) map[string]int64 {
	s.mu.Lock()
	s.ending = true
	close(s.end)
	if s.active == 0 {
		close(s.done)
	}
	s.mu.Unlock()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-s.done:
	case <-t.C:
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.entered == 0 {
		return nil
	}
	out := make(map[string]int64, len(s.outcome)+1)
	var reported int64
	for k, n := range s.outcome {
		out[k] = n
		reported += n
	}
	if missing := int64(s.entered) - reported; missing > 0 {
		out["no report"] = missing
	}
	return out
}

// stall is a stopped viewer's joined session: no reads until the run ends (or ctx does), then
// what is there until EOF or stallRead. Nothing is recorded when the run was already ending.
func (v *wsViewer) stall(ctx context.Context, conn *websocket.Conn) {
	st := v.w.stalls
	if !st.enter() {
		return
	}
	select {
	case <-st.end:
	case <-ctx.Done():
		st.leave("open") // not reached: the worker ends the stalls before ctx
		return
	}
	_ = conn.SetReadDeadline(time.Now().Add(stallRead))
	st.leave(readToEnd(conn))
}

// readToEnd reads frames until a kick, a close, EOF or the read deadline, and says which.
func readToEnd(conn *websocket.Conn) string {
	for {
		_, r, err := conn.NextReader()
		if err != nil {
			var ce *websocket.CloseError
			var ne net.Error
			switch {
			case errors.As(err, &ce) && ce.Code != websocket.CloseAbnormalClosure: // 1006: EOF without a close frame
				return "close " + strconv.Itoa(ce.Code)
			case errors.As(err, &ne) && ne.Timeout():
				return "open"
			}
			return "eof"
		}
		bp := bufPool.Get().(*[]byte)
		b, err := readAll((*bp)[:0], r)
		how := ""
		if err == nil && string(op(b)) == "kick" {
			how = "kick " + string(strField(b, keyReason))
		}
		*bp = b[:0]
		bufPool.Put(bp)
		if how != "" {
			return how
		}
	}
}
