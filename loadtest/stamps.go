package loadtest

import "sync"

// stampLog checks that no (epoch, seq) of a room was stamped twice: every message a viewer of
// the worker receives is recorded by room, epoch and seq with its ts, and a second message at
// the same place with another ts is a conflict (Config.CheckStamps; for fault runs, whose
// message counts are small: it keeps every stamp seen). Viewers of other workers are not
// compared.
type stampLog struct {
	mu        sync.Mutex
	seen      map[stampKey]int64
	conflicts int64
}

type stampKey struct {
	room, epoch string
	seq         uint64
}

func newStampLog() *stampLog { return &stampLog{seen: make(map[stampKey]int64)} }

// see records the message at (room, epoch, seq) with ts.
func (l *stampLog) see(room, epoch string, seq uint64, ts int64) {
	k := stampKey{room, epoch, seq}
	l.mu.Lock()
	defer l.mu.Unlock()
	if prev, ok := l.seen[k]; !ok {
		l.seen[k] = ts
	} else if prev != ts {
		l.conflicts++
	}
}

func (l *stampLog) count() int64 {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.conflicts
}
