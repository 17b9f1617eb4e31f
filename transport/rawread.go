package transport

import (
	"errors"
	"io"
	"sync"
	"syscall"

	"github.com/fasthttp/websocket"
)

// rawReader reads a session's client frames straight from its socket (RFC 6455 section 5.2)
// instead of through websocket.Conn's reader, which writes nothing and only reads.
//
// Why: an idle viewer is a parked reader goroutine, and Go keeps a parked goroutine's stack
// at the size its depth at the park needs (it halves a stack at GC only while under a quarter
// of it is used). Parked inside websocket.Conn.NextReader -> bufio -> net.Conn.Read the
// reader held a 4 KB stack and a 256-byte read buffer; parked in syscall.RawConn.Read from
// the session's loop it holds 2 KB and no buffer: the socket buffer comes from a pool when
// bytes arrive and goes back as soon as no partial frame is left in it.
type rawReader struct {
	rc   syscall.RawConn
	read func(fd uintptr) bool // r.fill, bound once
	max  int                   // largest message payload (MaxFrame)

	sock *[]byte // pooled socket bytes not yet parsed; nil while idle
	off  int     // start of the unparsed bytes in *sock
	n    int     // result of the last read syscall
	err  error

	// Control frames are answered through these (the session writes them under its lock).
	onPing  func(payload []byte)
	onPong  func()
	onClose func(code int)
}

// errProtocol is a frame no client may send; the session closes with 1002.
var errProtocol = errors.New("websocket protocol error")

// errPeerClosed: the client sent a close frame (the session answers it and closes).
var errPeerClosed = errors.New("websocket closed by the client")

var sockPool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

func newRawReader(rc syscall.RawConn, max int) *rawReader {
	r := &rawReader{rc: rc, max: max}
	r.read = r.fill
	return r
}

// fill is the RawConn.Read callback: one non-blocking read into the free part of the socket
// buffer. It returns false (park until readable) on EAGAIN. An idle reader takes its buffer
// from the pool only for the read and gives it back before parking.
func (r *rawReader) fill(fd uintptr) bool {
	idle := r.sock == nil
	if idle {
		r.sock = sockPool.Get().(*[]byte)
		r.off = 0
	}
	b := *r.sock
	n, err := syscall.Read(int(fd), b[len(b):cap(b)])
	if err == syscall.EAGAIN || err == syscall.EINTR {
		if idle {
			sockPool.Put(r.sock)
			r.sock = nil
		}
		return false
	}
	if n > 0 {
		*r.sock = b[:len(b)+n]
	}
	r.n, r.err = n, err
	return true
}

// more reads at least one byte more into the socket buffer, parking until the socket is
// readable. need is how many unparsed bytes the caller wants to hold in all.
func (r *rawReader) more(need int) error {
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
	if err := r.rc.Read(r.read); err != nil {
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
func (r *rawReader) release() {
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
func (r *rawReader) unparsed() []byte {
	if r.sock == nil {
		return nil
	}
	return (*r.sock)[r.off:]
}

// wait parks until the socket has bytes, holding no buffer. It returns at once when bytes
// are already buffered.
func (r *rawReader) wait() error {
	if len(r.unparsed()) > 0 {
		return nil
	}
	r.release()
	return r.more(1)
}

// next returns the next data message (text or binary), unmasked, in a readPool buffer the
// caller puts back; control frames in between are handed to the callbacks.
func (r *rawReader) next() (typ int, data []byte, rp *[]byte, err error) {
	defer r.release()
	op := -1 // opcode of the message being assembled; -1: none
	for {
		if err := r.wait(); err != nil {
			return r.fail(rp, err)
		}
		d := r.unparsed()
		// Header: 2 bytes, then the extended length, then the 4-byte mask (clients always mask).
		if len(d) < 2 {
			if err := r.more(2); err != nil {
				return r.fail(rp, err)
			}
			continue
		}
		fin, rsv, code := d[0]&0x80 != 0, d[0]&0x70, int(d[0]&0x0f)
		masked, n := d[1]&0x80 != 0, uint64(d[1]&0x7f)
		control := code >= 8
		if rsv != 0 || !masked || (control && (!fin || n > 125)) {
			return r.fail(rp, errProtocol) // known from the first two bytes
		}
		hdr := 2
		switch n {
		case 126:
			hdr = 4
		case 127:
			hdr = 10
		}
		if len(d) < hdr+4 {
			if err := r.more(hdr + 4); err != nil {
				return r.fail(rp, err)
			}
			continue
		}
		switch n {
		case 126:
			n = uint64(d[2])<<8 | uint64(d[3])
		case 127:
			n = 0
			for _, c := range d[2:10] {
				n = n<<8 | uint64(c)
			}
		}
		have := 0
		if rp != nil {
			have = len(*rp)
		}
		if !control && n > uint64(r.max-have) {
			return r.fail(rp, websocket.ErrReadLimit)
		}
		total := hdr + 4 + int(n)
		if len(d) < total {
			if err := r.more(total); err != nil {
				return r.fail(rp, err)
			}
			continue
		}
		mask := d[hdr : hdr+4]
		payload := d[hdr+4 : total]
		for i := range payload {
			payload[i] ^= mask[i&3]
		}
		r.off += total
		switch {
		case code == websocket.PingMessage:
			r.onPing(payload)
		case code == websocket.PongMessage:
			r.onPong()
		case code == websocket.CloseMessage:
			status := websocket.CloseNoStatusReceived
			if len(payload) >= 2 {
				status = int(payload[0])<<8 | int(payload[1])
			}
			r.onClose(status)
			return r.fail(rp, errPeerClosed)
		case code == websocket.TextMessage || code == websocket.BinaryMessage:
			if op != -1 {
				return r.fail(rp, errProtocol) // a new message inside a fragmented one
			}
			op = code
			rp = readPool.Get().(*[]byte)
			*rp = append((*rp)[:0], payload...)
		case code == 0: // continuation
			if op == -1 {
				return r.fail(rp, errProtocol)
			}
			*rp = append(*rp, payload...)
		default:
			return r.fail(rp, errProtocol)
		}
		if op != -1 && fin && !control {
			return op, *rp, rp, nil
		}
	}
}

// fail puts back a partly assembled message and returns err.
func (r *rawReader) fail(rp *[]byte, err error) (int, []byte, *[]byte, error) {
	if rp != nil {
		*rp = (*rp)[:0]
		readPool.Put(rp)
	}
	r.off = 0
	if r.sock != nil {
		*r.sock = (*r.sock)[:0]
	}
	return 0, nil, nil, err
}
