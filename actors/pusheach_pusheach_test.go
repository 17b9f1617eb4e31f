//go:build pusheach

package actors

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/liveroom/liveroom/actors/pb"
	"github.com/liveroom/liveroom/ring"
)

// pushSession records the frames the replica writes to it.
type pushSession struct {
	mu              sync.Mutex
	pushed, notifys []string
}

func (s *pushSession) UID() string { return "v" }
func (s *pushSession) Notify(f *SharedFrame) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notifys = append(s.notifys, string(f.Data))
	if f.Then != nil {
		s.notifys = append(s.notifys, string(f.Then.Data))
	}
	return true
}
func (s *pushSession) Push(f *SharedFrame) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pushed = append(s.pushed, string(f.Data))
	return true
}
func (s *pushSession) Kick(room, reason string) {}

// The baseline writes every message of a delta to every member as its own push frame, in
// order, and leaves nothing for the notify round; without PushEach it writes nothing.
func TestPushEachPushesEveryMessage(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run(fmt.Sprint("PushEach=", on), func(t *testing.T) {
			a, _ := benchReplica(0)
			a.ready = true
			a.r.node.cfg.PushEach = on
			var sessions []*pushSession
			for range 3 {
				s := &pushSession{}
				sessions = append(sessions, s)
				a.add(&Member{r: a.r, sess: s})
			}
			d := &pb.Delta{Epoch: a.r.epoch}
			var want []string
			for i := range 5 {
				m := &ring.Message{TS: int64(1000 + i), Seq: uint64(i + 1), Pri: ring.Normal, Kind: "chat", UID: "u1",
					Body: []byte(fmt.Sprintf(`{"n":%d}`, i))}
				d.Msgs = append(d.Msgs, toPB(m))
				want = append(want, `{"op":"push","room":"bench","msg":`+string(m.Encode())+`}`)
			}
			a.apply(nil, d)
			a.round(time.Now())
			for i, s := range sessions {
				s.mu.Lock()
				pushed, notifys := s.pushed, s.notifys
				s.mu.Unlock()
				if !on {
					if len(pushed) != 0 || len(notifys) != 1 {
						t.Errorf("member %d without PushEach: %d pushed, %d notifies; want 0 and 1", i, len(pushed), len(notifys))
					}
					continue
				}
				if fmt.Sprint(pushed) != fmt.Sprint(want) || len(notifys) != 0 {
					t.Errorf("member %d: pushed %q and %d notifies, want %q and none", i, pushed, len(notifys), want)
				}
			}
		})
	}
}
