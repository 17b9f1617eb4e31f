package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
)

// DialOptions configures Dial. Zero values take the documented defaults.
type DialOptions struct {
	// Token is the viewer JWT, sent as ?token=.
	Token string
	// DevUID logs in as this uid on a --dev server, sent as ?uid=.
	DevUID string
	// Header holds extra headers for the upgrade request (e.g. Authorization).
	Header http.Header

	// HandshakeTimeout bounds the upgrade and the wait for hello (default 10s).
	HandshakeTimeout time.Duration
	// WriteTimeout is the deadline of each frame write (default 10s).
	WriteTimeout time.Duration
	// CloseTimeout is how long Close lets the server answer the close frame before the
	// connection is torn down (default 1s).
	CloseTimeout time.Duration
	// MaxFrameSize is the largest frame accepted from the server (default 4 MiB: a full
	// window of 200 messages with 4 KiB bodies is ~0.9 MiB). A larger one ends the connection.
	MaxFrameSize int64

	// OnNotify is called for each notify frame.
	OnNotify func(room string, ts int64)
	// OnKick is called for each kick frame; room is "" when the whole session is kicked (the
	// server then closes it, and OnClose follows).
	OnKick func(room, reason string)
	// OnClose is called once when the connection has ended, with the server's close code and
	// text, CloseNormal after a local Close the server did not answer, or CloseAbnormal.
	OnClose func(code int, text string)
	// OnError is called for an error frame that answers no pending request (no id, or the
	// request already gave up).
	OnError func(err *ServerError)
}

func (o *DialOptions) withDefaults() DialOptions {
	d := *o
	if d.HandshakeTimeout <= 0 {
		d.HandshakeTimeout = 10 * time.Second
	}
	if d.WriteTimeout <= 0 {
		d.WriteTimeout = 10 * time.Second
	}
	if d.CloseTimeout <= 0 {
		d.CloseTimeout = time.Second
	}
	if d.MaxFrameSize <= 0 {
		d.MaxFrameSize = 4 << 20
	}
	return d
}

// Conn is one WebSocket session. See the package doc for its concurrency contract.
type Conn struct {
	ws    *websocket.Conn
	hello Hello

	onNotify     func(room string, ts int64)
	onKick       func(room, reason string)
	onClose      func(code int, text string)
	onError      func(err *ServerError)
	writeTimeout time.Duration
	closeTimeout time.Duration

	nextID atomic.Uint64

	pmu     sync.Mutex
	pending map[uint64]chan reply // by request id, under pmu
	ended   *CloseError           // set under pmu when the reader has ended

	wmu     sync.Mutex
	closing bool // under wmu: no more frames may be written
	byUser  bool // under wmu: Close sent a close frame

	badFrames atomic.Uint64
	done      chan struct{}
	end       CloseError // valid once done is closed
}

// Dial opens a session: it upgrades wsURL (ws:// or wss://, normally ending in /v1/ws), reads
// the hello frame and starts the reader. A refused upgrade is a *HandshakeError; a session
// closed before hello is a *CloseError.
func Dial(ctx context.Context, wsURL string, opts DialOptions) (*Conn, error) {
	o := opts.withDefaults()
	u, err := url.Parse(wsURL)
	if err != nil {
		return nil, fmt.Errorf("liveroom client: bad url: %w", err)
	}
	if u.Scheme != "ws" && u.Scheme != "wss" {
		return nil, fmt.Errorf("liveroom client: bad url %q: scheme must be ws or wss", wsURL)
	}
	if o.Token != "" || o.DevUID != "" {
		q := u.Query()
		if o.Token != "" {
			q.Set("token", o.Token)
		}
		if o.DevUID != "" {
			q.Set("uid", o.DevUID)
		}
		u.RawQuery = q.Encode()
	}
	d := websocket.Dialer{HandshakeTimeout: o.HandshakeTimeout}
	ws, resp, err := d.DialContext(ctx, u.String(), o.Header)
	if err != nil {
		if errors.Is(err, websocket.ErrBadHandshake) && resp != nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			return nil, &HandshakeError{Status: resp.StatusCode, Body: string(body)}
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("liveroom client: dial %s: %w", u.Redacted(), err)
	}
	hello, err := readHello(ctx, ws, o.HandshakeTimeout)
	if err != nil {
		_ = ws.Close()
		return nil, err
	}
	ws.SetReadLimit(o.MaxFrameSize)
	c := &Conn{
		ws:           ws,
		hello:        hello,
		onNotify:     o.OnNotify,
		onKick:       o.OnKick,
		onClose:      o.OnClose,
		onError:      o.OnError,
		writeTimeout: o.WriteTimeout,
		closeTimeout: o.CloseTimeout,
		pending:      make(map[uint64]chan reply),
		done:         make(chan struct{}),
	}
	go c.readLoop()
	return c, nil
}

// readHello reads the first frame on the dialing goroutine, before the reader starts.
func readHello(ctx context.Context, ws *websocket.Conn, timeout time.Duration) (Hello, error) {
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = ws.SetReadDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = ws.SetReadDeadline(time.Unix(1, 0)) })
	_, b, err := ws.ReadMessage()
	if !stop() {
		// ctx ended: the deadline is (or is about to be) in the past, the conn is unusable.
		return Hello{}, ctx.Err()
	}
	if err != nil {
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return Hello{}, &CloseError{Code: ce.Code, Text: ce.Text}
		}
		return Hello{}, fmt.Errorf("liveroom client: waiting for hello: %w", err)
	}
	var f frame
	if err := json.Unmarshal(b, &f); err != nil {
		return Hello{}, fmt.Errorf("liveroom client: bad hello frame: %w", err)
	}
	switch f.Op {
	case "hello":
	case "error":
		return Hello{}, &ServerError{Code: f.Code, Message: f.Message, ID: f.ID}
	default:
		return Hello{}, fmt.Errorf("liveroom client: first frame is %q, want hello", f.Op)
	}
	_ = ws.SetReadDeadline(time.Time{})
	return Hello{UID: f.UID, Node: f.Node, ServerTS: f.ServerTS, Limits: f.Limits}, nil
}

// Hello returns the server's hello frame.
func (c *Conn) Hello() Hello { return c.hello }

// Done is closed when the connection has ended and OnClose has returned.
func (c *Conn) Done() <-chan struct{} { return c.done }

// CloseReason returns how the connection ended (code and text as given to OnClose). It is
// valid once Done is closed; before that it returns 0, "".
func (c *Conn) CloseReason() (code int, text string) {
	select {
	case <-c.done:
		return c.end.Code, c.end.Text
	default:
		return 0, ""
	}
}

// BadFrames counts server frames that were not valid JSON objects (they are skipped).
func (c *Conn) BadFrames() uint64 { return c.badFrames.Load() }

// readLoop reads frames until the connection ends. Each frame is decoded into a fresh value:
// a reply's frame is handed to its caller as is.
func (c *Conn) readLoop() {
	var err error
	for {
		var b []byte
		if _, b, err = c.ws.ReadMessage(); err != nil {
			break
		}
		f := new(frame)
		if json.Unmarshal(b, f) != nil {
			c.badFrames.Add(1)
			continue
		}
		c.dispatch(f)
	}
	c.finish(err)
}

func (c *Conn) dispatch(f *frame) {
	if f.ID != 0 && c.complete(f) {
		return
	}
	switch f.Op {
	case "notify":
		if c.onNotify != nil {
			c.onNotify(f.Room, f.TS)
		}
	case "kick":
		if c.onKick != nil {
			c.onKick(f.Room, f.Reason)
		}
	case "error":
		if c.onError != nil {
			c.onError(&ServerError{Code: f.Code, Message: f.Message, ID: f.ID})
		}
	}
	// Anything else (a late reply, an op this client does not know) is skipped.
}

// complete hands a reply to the request waiting for its id.
func (c *Conn) complete(f *frame) bool {
	c.pmu.Lock()
	ch, ok := c.pending[f.ID]
	delete(c.pending, f.ID)
	c.pmu.Unlock()
	if ok {
		ch <- reply{f: f}
	}
	return ok
}

func (c *Conn) finish(err error) {
	end := CloseError{Code: CloseAbnormal}
	var ce *websocket.CloseError
	switch {
	case errors.As(err, &ce):
		end = CloseError{Code: ce.Code, Text: ce.Text}
	case c.closedByUser():
		end = CloseError{Code: CloseNormal, Text: "closed by client"}
	case err != nil:
		end.Text = err.Error()
	}
	c.pmu.Lock()
	c.ended = &end
	for id, ch := range c.pending {
		ch <- reply{err: c.ended}
		delete(c.pending, id)
	}
	c.pmu.Unlock()
	_ = c.ws.Close()
	c.end = end
	if c.onClose != nil {
		c.onClose(end.Code, end.Text)
	}
	close(c.done)
}

func (c *Conn) closedByUser() bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.byUser
}

// Close sends a normal close frame and lets the server answer it for up to CloseTimeout; it
// does not wait for the reader (watch Done for that), so a callback may call it. Requests
// made after Close fail with ErrClosed. Close is idempotent.
func (c *Conn) Close() error {
	c.wmu.Lock()
	if c.closing {
		c.wmu.Unlock()
		return nil
	}
	c.closing = true
	select {
	case <-c.done:
		c.wmu.Unlock()
		return nil
	default:
	}
	c.byUser = true
	err := c.ws.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(CloseNormal, ""), time.Now().Add(c.writeTimeout))
	c.wmu.Unlock()
	if err != nil {
		_ = c.ws.Close() // the reader ends at once
		return nil
	}
	// The reader ends when the server answers the close, or at this deadline. An error here
	// means the connection is already gone, which is what Close wants.
	_ = c.ws.SetReadDeadline(time.Now().Add(c.closeTimeout))
	return nil
}

// write sends one text frame. A failed write (deadline, broken pipe) leaves the WebSocket
// unusable, so it ends the connection: the reader stops and OnClose reports it.
func (c *Conn) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closing {
		return ErrClosed
	}
	err := c.ws.SetWriteDeadline(time.Now().Add(c.writeTimeout))
	if err == nil {
		err = c.ws.WriteMessage(websocket.TextMessage, b)
	}
	if err != nil {
		c.closing = true
		_ = c.ws.Close()
		return fmt.Errorf("liveroom client: write: %w", err)
	}
	return nil
}
