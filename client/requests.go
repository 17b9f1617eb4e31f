package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// reply is what the reader hands to a waiting request: the reply frame, or why none will come.
type reply struct {
	f   *frame
	err error
}

// request registers a request id, writes the frame enc builds for it and waits for the reply
// with that id, for ctx or for the connection to end. A reply of op want is returned; an
// error frame is a *ServerError.
func (c *Conn) request(ctx context.Context, want string, enc func(b []byte, id uint64) []byte) (*frame, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	id := c.nextID.Add(1)
	ch := make(chan reply, 1) // room for the one reply: the reader never blocks on it
	c.pmu.Lock()
	if c.ended != nil {
		err := c.ended
		c.pmu.Unlock()
		return nil, err
	}
	c.pending[id] = ch
	c.pmu.Unlock()
	if err := c.write(enc(nil, id)); err != nil {
		c.forget(id)
		return nil, err
	}
	var r reply
	select {
	case r = <-ch:
	case <-ctx.Done():
		c.forget(id) // a reply that comes later is skipped
		return nil, ctx.Err()
	}
	if r.err != nil {
		return nil, r.err
	}
	switch r.f.Op {
	case want:
		return r.f, nil
	case "error":
		return nil, &ServerError{Code: r.f.Code, Message: r.f.Message, ID: r.f.ID}
	}
	return nil, fmt.Errorf("%w: got %q, want %q", ErrUnexpectedReply, r.f.Op, want)
}

func (c *Conn) forget(id uint64) {
	c.pmu.Lock()
	delete(c.pending, id)
	c.pmu.Unlock()
}

// Join joins room. With since set, the server sends a notify at once if the room has messages
// newer than it (resume after a reconnect).
func (c *Conn) Join(ctx context.Context, room string, since *int64) (Joined, error) {
	f, err := c.request(ctx, "joined", func(b []byte, id uint64) []byte {
		return encodeJoin(b, id, room, since)
	})
	if err != nil {
		return Joined{}, err
	}
	return Joined{Room: f.Room, Epoch: f.Epoch, TS: f.TS, Seq: f.Seq, Online: f.Online, Pinned: f.Pinned}, nil
}

// Leave leaves room.
func (c *Conn) Leave(ctx context.Context, room string) error {
	_, err := c.request(ctx, "left", func(b []byte, id uint64) []byte {
		return encodeLeave(b, id, room)
	})
	return err
}

// Pull asks for the window (since, next] of room; limit <= 0 leaves it to the server
// (default 100).
func (c *Conn) Pull(ctx context.Context, room string, since int64, limit int) (Msgs, error) {
	f, err := c.request(ctx, "msgs", func(b []byte, id uint64) []byte {
		return encodePull(b, id, room, since, limit)
	})
	if err != nil {
		return Msgs{}, err
	}
	return Msgs{Room: f.Room, Epoch: f.Epoch, Msgs: f.Msgs, Dropped: f.Dropped, Next: f.Next,
		NextSeq: f.NextSeq, More: f.More}, nil
}

// Send sends a message to room. A repeated CMID comes back with Dup set and the original
// ts/seq.
func (c *Conn) Send(ctx context.Context, room string, m Outgoing) (Sent, error) {
	if len(m.Body) > 0 && !json.Valid(m.Body) {
		return Sent{}, errors.New("liveroom client: Outgoing.Body is not valid JSON")
	}
	f, err := c.request(ctx, "sent", func(b []byte, id uint64) []byte {
		return encodeSend(b, id, room, &m)
	})
	if err != nil {
		return Sent{}, err
	}
	return Sent{TS: f.TS, Seq: f.Seq, Dup: f.Dup}, nil
}

// Ping asks the server for its clock (microseconds since the Unix epoch).
func (c *Conn) Ping(ctx context.Context) (serverTS int64, err error) {
	f, err := c.request(ctx, "pong", encodePing)
	if err != nil {
		return 0, err
	}
	return f.ServerTS, nil
}
