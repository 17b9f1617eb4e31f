package transport

import (
	"context"

	"github.com/liveroom/liveroom/rooms"
	"github.com/liveroom/liveroom/wire"
)

// addIn is the fields of the `add` op (PROTOCOL.md section 8.4). Wrong JSON types make the
// whole frame a bad_request (an integer delta: 1.5, 1e2 and "1" are refused by the decoder).
type addIn struct {
	Counter *string `json:"counter"`
	Delta   *int64  `json:"delta"`
}

// checkAdd validates an add's counter and delta (1..100).
func checkAdd(in addIn) (string, int64, error) {
	if in.Counter == nil || !rooms.ValidCounterName(*in.Counter) {
		return "", 0, badRequest("counter must be a string matching [a-z0-9_]{1,32}")
	}
	if in.Delta == nil || *in.Delta < 1 || *in.Delta > rooms.MaxViewerDelta {
		return "", 0, badRequest("delta must be an integer from 1 to 100")
	}
	return *in.Counter, *in.Delta, nil
}

// add is `{"op":"add","room":R,"counter":C,"delta":D,"id"?}`: without id no reply unless it is
// refused; with id `added` once the room accepted it.
func (s *wsSession) add(ctx context.Context, f *inFrame) ([]byte, error) {
	room, err := s.roomArg(f)
	if err != nil {
		return nil, err
	}
	name, delta, err := checkAdd(f.addIn)
	if err != nil {
		return nil, err
	}
	m := s.member(room)
	if m == nil {
		return nil, rooms.Errorf(rooms.CodeNotJoined, "join the room before adding to its counters")
	}
	if err := m.Add(ctx, name, delta, f.ID != nil); err != nil {
		return nil, err
	}
	if f.ID == nil {
		return nil, nil
	}
	return wire.AppendAdded(make([]byte, 0, 48+len(room)), room, f.ID), nil
}
