package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
)

// call is one request waiting for its reply. Calls are pooled: ch has room for the single
// reply (or failure), so the reader never blocks on it.
type call struct {
	ch  chan struct{}
	f   frame
	err error
}

var callPool = sync.Pool{New: func() any { return &call{ch: make(chan struct{}, 1)} }}

// begin registers a request and returns its id.
func (c *Conn) begin() (*call, uint64, error) {
	cl := callPool.Get().(*call)
	id := c.nextID.Add(1)
	c.pmu.Lock()
	if c.ended != nil {
		err := c.ended
		c.pmu.Unlock()
		callPool.Put(cl)
		return nil, 0, err
	}
	c.pending.add(id, cl)
	c.pmu.Unlock()
	return cl, id, nil
}

// roundTrip writes the encoded request and waits for its reply in cl.f. The caller must
// release cl.
func (c *Conn) roundTrip(ctx context.Context, cl *call, id uint64, req []byte, want string) error {
	if err := c.write(req); err != nil {
		c.abandon(cl, id)
		return err
	}
	select {
	case <-cl.ch:
	case <-ctx.Done():
		c.abandon(cl, id)
		return ctx.Err()
	}
	if cl.err != nil {
		return cl.err
	}
	switch cl.f.Op {
	case want:
		return nil
	case "error":
		return &ServerError{Code: cl.f.Code, Message: cl.f.Message, ID: cl.f.ID}
	}
	return fmt.Errorf("%w: got %q, want %q", ErrUnexpectedReply, cl.f.Op, want)
}

// abandon withdraws a request; if the reader already took it, its reply is awaited (it is
// being delivered) so that the call can be reused safely.
func (c *Conn) abandon(cl *call, id uint64) {
	c.pmu.Lock()
	mine := c.pending.take(id) != nil
	c.pmu.Unlock()
	if !mine {
		<-cl.ch
	}
}

func release(cl *call) {
	cl.f = frame{}
	cl.err = nil
	callPool.Put(cl)
}

func (c *Conn) request(ctx context.Context, want string, enc func(b []byte, id uint64) []byte) (*call, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cl, id, err := c.begin()
	if err != nil {
		return nil, err
	}
	bp := getBuf()
	*bp = enc((*bp)[:0], id)
	err = c.roundTrip(ctx, cl, id, *bp, want)
	putBuf(bp)
	if err != nil {
		release(cl)
		return nil, err
	}
	return cl, nil
}

// Join joins room. With since set, the server sends a notify at once if the room has messages
// newer than it (resume after a reconnect).
func (c *Conn) Join(ctx context.Context, room string, since *int64) (Joined, error) {
	cl, err := c.request(ctx, "joined", func(b []byte, id uint64) []byte {
		return encodeJoin(b, id, room, since)
	})
	if err != nil {
		return Joined{}, err
	}
	j := Joined{Room: cl.f.Room, Epoch: cl.f.Epoch, TS: cl.f.TS, Seq: cl.f.Seq, Online: cl.f.Online}
	release(cl)
	return j, nil
}

// Leave leaves room.
func (c *Conn) Leave(ctx context.Context, room string) error {
	cl, err := c.request(ctx, "left", func(b []byte, id uint64) []byte {
		return encodeLeave(b, id, room)
	})
	if err != nil {
		return err
	}
	release(cl)
	return nil
}

// Pull asks for the window (since, next] of room; limit <= 0 leaves it to the server
// (default 100).
func (c *Conn) Pull(ctx context.Context, room string, since int64, limit int) (Msgs, error) {
	cl, err := c.request(ctx, "msgs", func(b []byte, id uint64) []byte {
		return encodePull(b, id, room, since, limit)
	})
	if err != nil {
		return Msgs{}, err
	}
	m := Msgs{Room: cl.f.Room, Epoch: cl.f.Epoch, Msgs: cl.f.Msgs, Dropped: cl.f.Dropped,
		Next: cl.f.Next, More: cl.f.More}
	release(cl)
	return m, nil
}

// Send sends a message to room. A repeated CMID comes back with Dup set and the original
// ts/seq.
func (c *Conn) Send(ctx context.Context, room string, m Outgoing) (Sent, error) {
	if len(m.Body) > 0 && !json.Valid(m.Body) {
		return Sent{}, errors.New("liveroom client: Outgoing.Body is not valid JSON")
	}
	cl, err := c.request(ctx, "sent", func(b []byte, id uint64) []byte {
		return encodeSend(b, id, room, &m)
	})
	if err != nil {
		return Sent{}, err
	}
	s := Sent{TS: cl.f.TS, Seq: cl.f.Seq, Dup: cl.f.Dup}
	release(cl)
	return s, nil
}

// Ping asks the server for its clock (microseconds since the Unix epoch).
func (c *Conn) Ping(ctx context.Context) (serverTS int64, err error) {
	cl, err := c.request(ctx, "pong", encodePing)
	if err != nil {
		return 0, err
	}
	ts := cl.f.ServerTS
	release(cl)
	return ts, nil
}
