//go:build pusheach

// The push-each baseline: a plain push broadcaster (one `push` frame per message per viewer,
// no notify, no merging), built only into the load test's comparison binary
// (`go build -tags pusheach`; scripts/loadtest.sh with PUSH_EACH=1). Operators never see it.

package actors

import (
	"github.com/liveroom/liveroom/ring"
	"github.com/liveroom/liveroom/wire"
)

type baselineConfig struct {
	// PushEach turns the replica into a plain push broadcaster: one `push` frame per message
	// to every member, no notify, no merging. Default false.
	PushEach bool
}

// Pusher is a Session that can write a frame and wait for the write: what the baseline
// writes through (transport's sessions are Pushers in this build).
type Pusher interface {
	Push(f *SharedFrame) bool
}

// baseline pushes the messages a delta brought to every member, when PushEach is set.
func (a *replicaActor) baseline(msgs []*ring.Message) {
	if a.r.node.cfg.PushEach {
		a.pushEach(msgs)
	}
}

// pushEach is the baseline broadcaster: every message to every member, one frame each.
func (a *replicaActor) pushEach(msgs []*ring.Message) {
	for _, m := range msgs {
		f := pushFrame(a.r.room, m)
		for _, mem := range a.members {
			if p, ok := mem.sess.(Pusher); ok {
				p.Push(f)
			}
		}
	}
	for _, mem := range a.members {
		mem.pulledTS.Store(a.lastTS) // nothing left to notify
	}
}

func pushFrame(room string, m *ring.Message) *SharedFrame {
	return &SharedFrame{Data: wire.AppendPush(make([]byte, 0, 32+len(room)+len(m.Encoded)), room, m.Encoded)}
}
