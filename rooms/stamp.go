package rooms

import (
	"crypto/rand"
	"encoding/hex"
	"time"
)

// Stamper hands out a room's ts and seq: ts strictly increasing even if the clock steps back,
// seq gapless from 1.
type Stamper struct {
	lastTS  int64
	lastSeq uint64
}

// Next returns the stamp of the next accepted message.
func (s *Stamper) Next(now time.Time) (ts int64, seq uint64) {
	ts = max(now.UnixMicro(), s.lastTS+1)
	s.lastTS, s.lastSeq = ts, s.lastSeq+1
	return ts, s.lastSeq
}

// Restore continues after a stored last ts and seq.
func (s *Stamper) Restore(lastTS int64, lastSeq uint64) { s.lastTS, s.lastSeq = lastTS, lastSeq }

// Last returns the last stamp handed out.
func (s *Stamper) Last() (int64, uint64) { return s.lastTS, s.lastSeq }

// NewEpoch returns a short random string naming a new history of a room.
func NewEpoch() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
