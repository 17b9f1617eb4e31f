package loadtest

import (
	"bytes"
	"strconv"
)

// msgInfo is what a viewer keeps of a delivered message.
type msgInfo struct {
	ts  int64
	seq uint64
	pri int // 0 low, 1 normal, 2 high, 3 system
}

// msgsFrame is a decoded `msgs` reply, and the scratch its decoder's caller writes its replies
// in: one per viewer goroutine, or per epoll handler (not per viewer: a window's messages).
type msgsFrame struct {
	scratch    []byte // the caller's: a reply being built
	epoch      []byte
	msgs       []msgInfo
	dropped    uint64
	next       int64
	more       bool
	nextSeq    uint64 // PROTOCOL.md 8.1: the seq of the message at next (0: the room has none)
	hasNextSeq bool   // the frame carries next_seq (wire contract v1.1)
}

var (
	keyOp      = []byte(`"op":"`)
	keyEpoch   = []byte(`"epoch":"`)
	keyMsgTS   = []byte(`{"ts":`)
	keyDropped = []byte(`],"dropped":`)
	keyNext    = []byte(`"next":`)
	keyNextSeq = []byte(`"next_seq":`)
	keyMsgs    = []byte(`"msgs":[`)
	keyMoreT   = []byte(`"more":true`)
	keyTS      = []byte(`"ts":`)
	keyReason  = []byte(`"reason":"`)
	keyRetryMS = []byte(`"retry_ms":`)
	keyID      = []byte(`"id":`)
	keyCode    = []byte(`"code":"`)
)

// op returns the frame's op (the server always writes it first).
func op(b []byte) []byte { return strField(b, keyOp) }

func strField(b, key []byte) []byte {
	i := bytes.Index(b, key)
	if i < 0 {
		return nil
	}
	b = b[i+len(key):]
	if j := bytes.IndexByte(b, '"'); j >= 0 {
		return b[:j]
	}
	return nil
}

func intField(b, key []byte) (int64, bool) {
	i := bytes.Index(b, key)
	if i < 0 {
		return 0, false
	}
	b = b[i+len(key):]
	j := 0
	for j < len(b) && (b[j] == '-' || (b[j] >= '0' && b[j] <= '9')) {
		j++
	}
	n, err := strconv.ParseInt(string(b[:j]), 10, 64)
	return n, err == nil
}

func priOf(p []byte) int {
	switch string(p) {
	case "system":
		return 3
	case "high":
		return 2
	case "normal":
		return 1
	}
	return 0
}

// parseMsgs decodes a `msgs` frame into f, reusing f.msgs.
func parseMsgs(b []byte, f *msgsFrame) bool {
	f.msgs = f.msgs[:0]
	f.epoch = strField(b, keyEpoch)
	// The tail `],"dropped":D,"next":N,"next_seq":S,"more":B}` is short: look for it in the
	// last bytes first (LastIndex over the whole frame costs more than the rest of the parse),
	// over the whole frame only when a longer tail (a pushed window's counters) hides it.
	from := max(0, len(b)-128)
	end := bytes.LastIndex(b[from:], keyDropped)
	if end >= 0 {
		end += from
	} else if end = bytes.LastIndex(b[:min(len(b), from+len(keyDropped)-1)], keyDropped); end < 0 {
		return false
	}
	tail := b[end:]
	d, ok1 := intField(tail, keyDropped)
	n, ok2 := intField(tail, keyNext)
	if !ok1 || !ok2 {
		return false
	}
	f.dropped, f.next, f.more = uint64(d), n, bytes.Contains(tail, keyMoreT)
	// next_seq is in the tail, or in the head before the messages (the server's order is its own).
	ns, ok := intField(tail, keyNextSeq)
	if !ok {
		if h := bytes.Index(b, keyMsgs); h >= 0 {
			ns, ok = intField(b[:h], keyNextSeq)
		}
	}
	f.nextSeq, f.hasNextSeq = uint64(max(ns, 0)), ok && ns >= 0
	body := b[:end]
	for {
		i := bytes.Index(body, keyMsgTS)
		if i < 0 {
			return true
		}
		body = body[i+len(keyMsgTS):]
		// The server's encoding is fixed: {"ts":N,"seq":N,"pri":"P",...
		ts, n := digits(body)
		body = body[n:]
		if !bytes.HasPrefix(body, []byte(`,"seq":`)) {
			return false
		}
		body = body[7:]
		seq, n := digits(body)
		body = body[n:]
		if !bytes.HasPrefix(body, []byte(`,"pri":"`)) {
			return false
		}
		body = body[8:]
		j := bytes.IndexByte(body, '"')
		if j < 0 {
			return false
		}
		f.msgs = append(f.msgs, msgInfo{ts: ts, seq: uint64(seq), pri: priOf(body[:j])})
		body = body[j:]
	}
}

// digits parses a non-negative decimal prefix of b and returns it and its length.
func digits(b []byte) (int64, int) {
	var v int64
	i := 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		v = v*10 + int64(b[i]-'0')
		i++
	}
	return v, i
}
