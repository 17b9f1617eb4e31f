//go:build pusheach

package transport

import "github.com/liveroom/liveroom/actors"

var _ actors.Pusher = (*wsSession)(nil)

// Push implements actors.Pusher for the push-each baseline (a `-tags pusheach` build only): a
// blocking write of f.
func (s *wsSession) Push(f *actors.SharedFrame) bool {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.writeShared(f)
}
