package actors

import (
	"errors"
	"time"

	"github.com/liveroom/liveroom/actors/pb"
	"github.com/liveroom/liveroom/ring"
	"github.com/liveroom/liveroom/rooms"
)

func toPB(m *ring.Message) *pb.Msg {
	return &pb.Msg{Ts: m.TS, Seq: m.Seq, Pri: int32(m.Pri), Kind: m.Kind, Uid: m.UID, Cmid: m.CMID, Body: m.Body,
		Name: m.Name(), Meta: m.Meta(), PinUntil: m.PinUntil()}
}

// fromPB builds an encoded ring.Message; the body bytes are shared, not copied.
func fromPB(p *pb.Msg) *ring.Message {
	m := &ring.Message{TS: p.Ts, Seq: p.Seq, Pri: ring.Priority(p.Pri), Kind: p.Kind, UID: p.Uid, CMID: p.Cmid, Body: p.Body,
		Extra: ring.NewExtra(p.Name, p.Meta, p.PinUntil)}
	m.Encode()
	return m
}

func capsToPB(c [ring.NumPriorities]int) []int32 {
	out := make([]int32, ring.NumPriorities)
	for i, v := range c {
		out[i] = int32(v)
	}
	return out
}

func capsFromPB(c []int32) (out [ring.NumPriorities]int, ok bool) {
	if len(c) != ring.NumPriorities {
		return out, false
	}
	for i, v := range c {
		out[i] = int(v)
	}
	return out, true
}

func errToPB(err error) *pb.Error {
	if err == nil {
		return nil
	}
	var e *rooms.Error
	if errors.As(err, &e) {
		return &pb.Error{Code: string(e.Code), Message: e.Message}
	}
	return &pb.Error{Code: string(rooms.CodeInternal), Message: err.Error()}
}

func errFromPB(e *pb.Error) error {
	if e == nil || e.Code == "" {
		return nil
	}
	return rooms.Errorf(rooms.Code(e.Code), e.Message)
}

func snapshotToPB(epoch string, sn ring.Snapshot, caps [ring.NumPriorities]int) *pb.Snapshot {
	out := &pb.Snapshot{Epoch: epoch, LastTs: sn.LastTS, LastSeq: sn.LastSeq, IndexFirstSeq: sn.IndexFirstSeq,
		IndexTs: sn.IndexTS, Caps: capsToPB(caps), Msgs: make([]*pb.Msg, len(sn.Msgs))}
	for i, m := range sn.Msgs {
		out.Msgs[i] = toPB(m)
	}
	return out
}

func snapshotFromPB(p *pb.Snapshot) ring.Snapshot {
	sn := ring.Snapshot{LastTS: p.LastTs, LastSeq: p.LastSeq, IndexFirstSeq: p.IndexFirstSeq, IndexTS: p.IndexTs,
		Msgs: make([]*ring.Message, len(p.Msgs))}
	for i, m := range p.Msgs {
		sn.Msgs[i] = fromPB(m)
	}
	return sn
}

// banToPB is one ban list change; a zero until is forever.
func banToPB(uid string, until time.Time, set bool) *pb.Ban {
	b := &pb.Ban{Uid: uid, Set: set}
	if !until.IsZero() {
		b.UntilMs = until.UnixMilli()
	}
	return b
}
