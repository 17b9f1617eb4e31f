package actors

import (
	"context"

	"github.com/liveroom/liveroom/actors/pb"
	"github.com/liveroom/liveroom/rooms"
)

// AddCounter adds delta to the room's counter name (the backend's add: any int64) and returns
// the new total; with a shared store it returns once the total is in the store. It is sent to
// the grain once: repeated after a timeout it could count twice.
func (n *Node) AddCounter(ctx context.Context, room, name string, delta int64) (int64, error) {
	v, err := n.counterRequest(ctx, room, &pb.CounterRequest{Name: name, Delta: delta})
	if err == nil {
		n.metrics.CounterAdds.WithLabelValues("accepted").Inc()
	}
	return v, err
}

// SetCounter sets the room's counter name to value (an admin's set) and returns it.
func (n *Node) SetCounter(ctx context.Context, room, name string, value int64) (int64, error) {
	return n.counterRequest(ctx, room, &pb.CounterRequest{Name: name, Delta: value, Set: true})
}

func (n *Node) counterRequest(ctx context.Context, room string, req *pb.CounterRequest) (int64, error) {
	if !rooms.ValidCounterName(req.Name) {
		return 0, rooms.Errorf(rooms.CodeBadRequest, rooms.CounterNameRule)
	}
	res, err := n.request(ctx, room, req)
	if err != nil {
		return 0, unavailable(err)
	}
	reply, ok := res.(*pb.CounterReply)
	if !ok {
		return 0, errUnexpected(res)
	}
	return reply.Value, errFromPB(reply.Error)
}
