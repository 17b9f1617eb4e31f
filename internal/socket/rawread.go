package socket

import (
	"errors"
	"io"
	"sync"
	"syscall"
	"unicode/utf8"

	"github.com/fasthttp/websocket"
)

// Conn reads a session's client frames straight from its socket (RFC 6455 section 5.2)
// instead of through websocket.Conn's reader, and writes the frames a round shares without
// waiting (TryWrite); the session's other writes go through websocket.Conn. A client Conn
// (NewClientConn: the load tester's cheap viewers) reads the server's frames instead: unmasked,
// and a masked one is a protocol error (section 5.1).
//
// Why: with a reader goroutine per session, an idle viewer was a parked goroutine (a 2-4 KB
// stack and a 0.4 KB descriptor) plus websocket.Conn's read buffer. Conn never blocks: it
// reads what the socket has, returns ErrWouldBlock when a frame is not complete yet and keeps
// the partial bytes for the next call. The session then waits in an epoll set (Poller,
// poller_linux.go) holding no goroutine and no buffer: the socket buffer comes from a pool
// when bytes arrive and goes back as soon as no partial frame is left in it.
//
// One goroutine at a time may call Next (the session's owner); TryWrite is serialised by the
// caller and may run beside Next.
type Conn struct {
	rc     syscall.RawConn
	read   func(fd uintptr)                    // r.fill, bound once
	readFD func(fd int, p []byte) (int, error) // syscall.Read (a fake in FuzzRawSocket)
	max    int                                 // largest message payload
	client bool                                // reads server frames: unmasked (NewClientConn)
	// drained (only with ShortReadDrains): the last read took less than it had room for, so
	// the socket was empty then and the next read would most likely fail with EAGAIN; more
	// skips that read once. Beside client: the two bools share a word.
	drained bool

	wbuf []byte // the bytes of the write in progress (TryWrite)
	wn   int
	werr error
	wfn  func(fd uintptr) // r.writeNow, bound once

	sock *[]byte // pooled socket bytes not yet parsed; nil while idle
	off  int     // start of the unparsed bytes in *sock
	n    int     // result of the last read syscall
	err  error

	// The message being assembled from fragments, kept across ErrWouldBlock.
	op int     // its opcode; -1: none
	rp *[]byte // its payload so far (a bufPool buffer)

	// ShortReadDrains takes a read that filled less than the free buffer as having drained the
	// socket: when the next frame needs more bytes, Next returns ErrWouldBlock at once instead
	// of reading again (the call after that does read). Only for a socket re-armed in a
	// one-shot epoll set on ErrWouldBlock (Poller.Arm): re-arming reports the bytes that came
	// meanwhile at once (epoll_ctl MOD re-checks the socket). NewConn sets it (the server's
	// sessions are re-armed so), NewClientConn does not (its owner sets it before the first
	// Next). It saves the read that would find the socket empty: on the server one per client
	// frame (a pull, a tap's add), ~18k read syscalls a second with 10k viewers tapping and
	// pulling; in the load tester a third of its syscalls (a read, that read and the re-arm per
	// pushed window): at 19k viewers its worker's reads went from 6.4 to 4.2 CPU-s of a 57 s
	// profile, the whole worker from 20.6 to 16.6.
	ShortReadDrains bool

	// Next hands the control frames it reads to these, on its own goroutine; set them before
	// the first Next. The payload is valid only during the call.
	OnPing  func(payload []byte)
	OnPong  func()
	OnClose func(code int) // then Next returns an error
}

// ErrProtocol is a frame no client may send; the session closes with 1002.
var ErrProtocol = errors.New("websocket protocol error")

// errPeerClosed: the client sent a close frame (the session answers it and closes).
var errPeerClosed = errors.New("websocket closed by the client")

// ErrCloseReason: the client's close frame has a reason that is not UTF-8; the session closes
// with 1007 (RFC 6455 section 7.1.6).
var ErrCloseReason = errors.New("websocket close reason is not UTF-8")

// ErrWouldBlock: the socket has no more bytes now and the next message is not complete; the
// reader keeps what it has and is called again once the socket is readable.
var ErrWouldBlock = errors.New("no complete frame yet")

var sockPool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// bufPool holds the buffers of messages: Next returns each message in one, the caller gives it
// back with PutBuffer. Package-level rather than a Conn's field: a field would move every
// session's Conn up a size class (176 to 192 bytes).
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// GetBuffer takes an empty message buffer from the pool Next uses: a caller that also reads
// messages another way (through websocket.Conn) shares the pool, so that buffers given back
// from either path serve both.
func GetBuffer() *[]byte { return bufPool.Get().(*[]byte) }

// PutBuffer gives back a message's buffer (from Next or GetBuffer), emptied by the caller.
func PutBuffer(b *[]byte) { bufPool.Put(b) }

// NewConn reads and writes frames on rc, with ShortReadDrains. A message over max payload
// bytes (all its fragments) ends the reading with websocket.ErrReadLimit.
func NewConn(rc syscall.RawConn, max int) *Conn {
	r := &Conn{rc: rc, max: max, op: -1, readFD: syscall.Read, ShortReadDrains: true}
	r.read = r.fill
	r.wfn = r.writeNow
	return r
}

// NewClientConn reads a client's end of a connection: the server's frames, which are never
// masked (RFC 6455 section 5.1). Everything else is as NewConn, but without ShortReadDrains
// (a client set to read so sets it itself); the client writes its own masked frames
// (ClientFrame) with TryWrite.
func NewClientConn(rc syscall.RawConn, max int) *Conn {
	r := NewConn(rc, max)
	r.client = true
	r.ShortReadDrains = false
	return r
}

// RawConn is the socket the Conn reads (for Poller.Arm).
func (r *Conn) RawConn() syscall.RawConn { return r.rc }

// TryWrite writes what of b the socket takes now, without waiting: n < len(b) when its send
// buffer is full (n may be 0). The caller serialises writes.
func (r *Conn) TryWrite(b []byte) (int, error) {
	r.wbuf, r.wn, r.werr = b, 0, nil
	err := r.rc.Control(r.wfn)
	n, werr := r.wn, r.werr
	r.wbuf = nil
	if err != nil {
		return n, err
	}
	return n, werr
}

func (r *Conn) writeNow(fd uintptr) {
	for r.wn < len(r.wbuf) {
		n, err := syscall.Write(int(fd), r.wbuf[r.wn:])
		if n > 0 {
			r.wn += n
		}
		switch err {
		case nil:
		case syscall.EINTR:
		case syscall.EAGAIN:
			return
		default:
			r.werr = err
			return
		}
	}
}

// ServerFrame encodes one unmasked, unfragmented server frame (RFC 6455 section 5.2).
func ServerFrame(op int, payload []byte) []byte {
	var b []byte
	switch n := len(payload); {
	case n < 126:
		b = make([]byte, 0, 2+n)
		b = append(b, 0x80|byte(op), byte(n))
	case n < 1<<16:
		b = make([]byte, 0, 4+n)
		b = append(b, 0x80|byte(op), 126, byte(n>>8), byte(n))
	default:
		b = make([]byte, 0, 10+n)
		b = append(b, 0x80|byte(op), 127)
		for i := 7; i >= 0; i-- {
			b = append(b, byte(uint64(n)>>(8*i)))
		}
	}
	return append(b, payload...)
}

// ClientFrame appends one masked, unfragmented client frame to dst (RFC 6455 section 5.2),
// masked with key (a client picks a new key for each frame; the load tester's needs only to
// differ from zero now and then).
func ClientFrame(dst []byte, op int, payload []byte, key uint32) []byte {
	switch n := len(payload); {
	case n < 126:
		dst = append(dst, 0x80|byte(op), 0x80|byte(n))
	case n < 1<<16:
		dst = append(dst, 0x80|byte(op), 0x80|126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 0x80|byte(op), 0x80|127)
		for i := 7; i >= 0; i-- {
			dst = append(dst, byte(uint64(n)>>(8*i)))
		}
	}
	mask := [4]byte{byte(key >> 24), byte(key >> 16), byte(key >> 8), byte(key)}
	dst = append(dst, mask[:]...)
	for i, c := range payload {
		dst = append(dst, c^mask[i&3])
	}
	return dst
}

// fill is the RawConn.Control callback: one non-blocking read into the free part of the
// socket buffer (r.err is ErrWouldBlock when the socket is empty). An idle reader takes its
// buffer from the pool only for the read and gives it back when nothing came.
func (r *Conn) fill(fd uintptr) {
	idle := r.sock == nil
	if idle {
		r.sock = sockPool.Get().(*[]byte)
		r.off = 0
	}
	b := *r.sock
	free := cap(b) - len(b)
	n, err := r.readFD(int(fd), b[len(b):cap(b)])
	r.drained = r.ShortReadDrains && err == nil && n > 0 && n < free
	if err == syscall.EAGAIN || err == syscall.EINTR {
		if idle {
			sockPool.Put(r.sock)
			r.sock = nil
		}
		r.n, r.err = 0, ErrWouldBlock
		return
	}
	if n > 0 {
		*r.sock = b[:len(b)+n]
	}
	r.n, r.err = n, err
}

// more reads what the socket has into the socket buffer (ErrWouldBlock: nothing). need is
// how many unparsed bytes the caller wants to hold in all. The read runs under
// RawConn.Control, which keeps the descriptor from being closed (and its number reused)
// meanwhile; on a closed connection Control fails.
func (r *Conn) more(need int) error {
	if r.drained {
		r.drained = false
		return ErrWouldBlock
	}
	if r.sock != nil {
		b := *r.sock
		if r.off > 0 && (len(b) == cap(b) || r.off+need > cap(b)) { // compact
			k := copy(b, b[r.off:])
			b = b[:k]
			r.off = 0
		}
		if need > cap(b) {
			nb := make([]byte, len(b), need)
			copy(nb, b)
			b = nb
		}
		*r.sock = b
	}
	if err := r.rc.Control(r.read); err != nil {
		return err
	}
	if r.err != nil {
		return r.err
	}
	if r.n == 0 {
		return io.EOF
	}
	return nil
}

// release returns the socket buffer to the pool when it holds no unparsed byte.
func (r *Conn) release() {
	if r.sock != nil && r.off == len(*r.sock) {
		b := *r.sock
		if cap(b) <= 64<<10 {
			*r.sock = b[:0]
			sockPool.Put(r.sock)
		}
		r.sock = nil
	}
}

// unparsed is the socket bytes not consumed yet.
func (r *Conn) unparsed() []byte {
	if r.sock == nil {
		return nil
	}
	return (*r.sock)[r.off:]
}

// Next returns the next data message (text or binary), unmasked, in rp, a buffer the caller
// gives back with PutBuffer; control frames in between are handed to
// the On* callbacks. It returns ErrWouldBlock when the socket is drained before a message is
// complete: the partial frame (and the fragments of a message) are kept for the next call.
// Any other error ends the reading: ErrProtocol, ErrCloseReason, websocket.ErrReadLimit, the
// client's close (after OnClose), io.EOF, or the socket's error.
func (r *Conn) Next() (typ int, data []byte, rp *[]byte, err error) {
	defer r.release()
	for {
		d := r.unparsed()
		// Header: 2 bytes, then the extended length, then the 4-byte mask (clients always mask,
		// servers never).
		if len(d) < 2 {
			if err := r.more(2); err != nil {
				return r.fail(err)
			}
			continue
		}
		fin, rsv, code := d[0]&0x80 != 0, d[0]&0x70, int(d[0]&0x0f)
		masked, n := d[1]&0x80 != 0, uint64(d[1]&0x7f)
		control := code >= 8
		switch { // what the first two bytes tell
		case rsv != 0 || masked == r.client || !knownOpcode(code):
			return r.fail(ErrProtocol) // reserved bits (no extension is negotiated), unmasked from a client (masked from a server), unknown
		case control && (!fin || n > 125):
			return r.fail(ErrProtocol) // a fragmented or long control frame
		case !control && (code == 0) != (r.op != -1):
			return r.fail(ErrProtocol) // a continuation of nothing, or a new message inside one
		}
		hdr := 2
		switch n {
		case 126:
			hdr = 4
		case 127:
			hdr = 10
		}
		ml := 4 // the mask's length
		if r.client {
			ml = 0
		}
		if len(d) < hdr+ml {
			if err := r.more(hdr + ml); err != nil {
				return r.fail(err)
			}
			continue
		}
		switch n {
		case 126:
			n = uint64(d[2])<<8 | uint64(d[3])
			if n < 126 {
				return r.fail(ErrProtocol) // not the minimal length encoding (section 5.2)
			}
		case 127:
			n = 0
			for _, c := range d[2:10] {
				n = n<<8 | uint64(c)
			}
			if n < 1<<16 || n >= 1<<63 {
				return r.fail(ErrProtocol) // not minimal, or the most significant bit set
			}
		}
		have := 0
		if r.rp != nil {
			have = len(*r.rp)
		}
		if !control && n > uint64(r.max-have) {
			return r.fail(websocket.ErrReadLimit)
		}
		total := hdr + ml + int(n)
		if len(d) < total {
			if err := r.more(total); err != nil {
				return r.fail(err)
			}
			continue
		}
		payload := d[hdr+ml : total]
		if !r.client {
			mask := d[hdr : hdr+4]
			for i := range payload {
				payload[i] ^= mask[i&3]
			}
		}
		r.off += total
		switch {
		case code == websocket.PingMessage:
			r.OnPing(payload)
		case code == websocket.PongMessage:
			r.OnPong()
		case code == websocket.CloseMessage:
			status, err := closeStatus(payload)
			if err != nil {
				return r.fail(err)
			}
			r.OnClose(status)
			return r.fail(errPeerClosed)
		case code == websocket.TextMessage || code == websocket.BinaryMessage:
			r.op = code
			r.rp = bufPool.Get().(*[]byte)
			*r.rp = append((*r.rp)[:0], payload...)
		default: // a continuation (checked above: a message is being assembled)
			*r.rp = append(*r.rp, payload...)
		}
		if r.op != -1 && fin && !control {
			typ, rp = r.op, r.rp
			r.op, r.rp = -1, nil
			return typ, *rp, rp, nil
		}
	}
}

// knownOpcode: continuation, text, binary, close, ping, pong (RFC 6455 section 5.2).
func knownOpcode(code int) bool { return code <= 2 || (code >= 8 && code <= 10) }

// closeStatus reads the payload of a client's close frame: empty (no status: 1005), or a
// status code a peer may send followed by a UTF-8 reason (RFC 6455 sections 5.5.1, 7.4).
func closeStatus(payload []byte) (int, error) {
	switch {
	case len(payload) == 0:
		return websocket.CloseNoStatusReceived, nil
	case len(payload) == 1:
		return 0, ErrProtocol
	}
	status := int(payload[0])<<8 | int(payload[1])
	if !validCloseStatus(status) {
		return 0, ErrProtocol
	}
	if !utf8.Valid(payload[2:]) {
		return 0, ErrCloseReason
	}
	return status, nil
}

// validCloseStatus: the status codes a close frame may carry (RFC 6455 section 7.4.1 and the
// IANA registry): 1000-1003, 1007-1014, and 3000-4999 for libraries and applications. 1005,
// 1006 and 1015 are never sent; the rest is reserved.
func validCloseStatus(c int) bool {
	return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999)
}

// fail returns err. ErrWouldBlock keeps the reader's state; any other error ends the
// session: the partly assembled message and the socket bytes are dropped.
func (r *Conn) fail(err error) (int, []byte, *[]byte, error) {
	if err == ErrWouldBlock {
		return 0, nil, nil, err
	}
	if r.rp != nil {
		*r.rp = (*r.rp)[:0]
		bufPool.Put(r.rp)
	}
	r.op, r.rp = -1, nil
	r.off = 0
	if r.sock != nil {
		*r.sock = (*r.sock)[:0]
	}
	return 0, nil, nil, err
}
