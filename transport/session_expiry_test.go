package transport

import (
	"sync"
	"testing"
	"time"

	"github.com/liveroom/liveroom/internal/testwait"
)

// The expiry heap kicks each session once its expiry has come, in order, never one that was
// removed or moved later, and keeps no entry of a kicked or removed session.
func TestExpiries(t *testing.T) {
	var mu sync.Mutex
	var kicked []*wsSession
	e := newExpiries(func(s *wsSession) {
		mu.Lock()
		kicked = append(kicked, s)
		mu.Unlock()
	})
	defer e.close()
	now := time.Now().Unix()
	ss := make([]*wsSession, 5)
	for i := range ss {
		ss[i] = &wsSession{expIdx: -1}
	}
	e.set(ss[0], now-1)    // already expired: at once
	e.set(ss[1], now+1)    // within two seconds
	e.set(ss[2], now+1)    // removed (it closed)
	e.set(ss[3], now+1)    // refreshed to an hour later
	e.set(ss[4], now+3600) // not due
	e.remove(ss[2])
	e.set(ss[3], now+3600)
	e.set(ss[2], 0) // removing twice is harmless
	testwait.For(t, 5*time.Second, "two kicks", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(kicked) == 2
	})
	mu.Lock()
	got := append([]*wsSession(nil), kicked...)
	mu.Unlock()
	if !(got[0] == ss[0] && got[1] == ss[1] || got[0] == ss[1] && got[1] == ss[0]) {
		t.Fatalf("kicked %p, want %p and %p", got, ss[0], ss[1])
	}
	e.mu.Lock()
	left := len(e.h)
	e.mu.Unlock()
	if left != 2 || ss[0].expIdx != -1 || ss[1].expIdx != -1 || ss[2].expIdx != -1 {
		t.Fatalf("%d entries left (want 2: the refreshed and the late one)", left)
	}
}
