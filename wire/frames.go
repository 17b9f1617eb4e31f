package wire

import "strconv"

// The server's WebSocket frames (PROTOCOL.md section 3), one object each. An id is the one of
// the client frame answered: nil leaves it out (the client sent none, or one that is not an
// integer). The msgs frame is AppendMsgs (window.go).

// Limits are the session's limits that hello announces.
type Limits struct {
	MaxBody   int
	MaxRooms  int
	PullLimit int
}

// AppendHello appends `{"op":"hello","uid":U,"node":N,"server_ts":T,"limits":{...}}`.
func AppendHello(b []byte, uid, node string, serverTS int64, l Limits) []byte {
	b = append(b, `{"op":"hello","uid":`...)
	b = AppendString(b, uid)
	b = append(b, `,"node":`...)
	b = AppendString(b, node)
	b = append(b, `,"server_ts":`...)
	b = strconv.AppendInt(b, serverTS, 10)
	b = append(b, `,"limits":{"max_body":`...)
	b = strconv.AppendInt(b, int64(l.MaxBody), 10)
	b = append(b, `,"max_rooms":`...)
	b = strconv.AppendInt(b, int64(l.MaxRooms), 10)
	b = append(b, `,"pull_limit":`...)
	b = strconv.AppendInt(b, int64(l.PullLimit), 10)
	return append(b, "}}"...)
}

// AppendJoined appends `{"op":"joined","room":R,"epoch":E,"ts":T,"seq":S,"online":O,"id":I}`.
func AppendJoined(b []byte, room, epoch string, ts int64, seq uint64, online int64, id *int64) []byte {
	b = append(b, `{"op":"joined","room":`...)
	b = AppendString(b, room)
	b = append(b, `,"epoch":`...)
	b = AppendString(b, epoch)
	b = append(b, `,"ts":`...)
	b = strconv.AppendInt(b, ts, 10)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, `,"online":`...)
	b = strconv.AppendInt(b, online, 10)
	b = appendID(b, id)
	return append(b, '}')
}

// AppendNotify appends `{"op":"notify","room":R,"ts":T}`.
func AppendNotify(b []byte, room string, ts int64) []byte {
	b = append(b, `{"op":"notify","room":`...)
	b = AppendString(b, room)
	b = append(b, `,"ts":`...)
	b = strconv.AppendInt(b, ts, 10)
	return append(b, '}')
}

// AppendLeft appends `{"op":"left","room":R,"id":I}`.
func AppendLeft(b []byte, room string, id *int64) []byte {
	b = append(b, `{"op":"left","room":`...)
	b = AppendString(b, room)
	b = appendID(b, id)
	return append(b, '}')
}

// AppendPush appends `{"op":"push","room":R,"msg":M}`; msg is the message's encoding
// (AppendMessage).
func AppendPush(b []byte, room string, msg []byte) []byte {
	b = append(b, `{"op":"push","room":`...)
	b = AppendString(b, room)
	b = append(b, `,"msg":`...)
	b = append(b, msg...)
	return append(b, '}')
}

// AppendSent appends `{"op":"sent","room":R,"ts":T,"seq":S,"id":I}`, with `"dup":true` for a
// repeated cmid.
func AppendSent(b []byte, room string, ts int64, seq uint64, id *int64, dup bool) []byte {
	b = append(b, `{"op":"sent","room":`...)
	b = AppendString(b, room)
	b = append(b, `,"ts":`...)
	b = strconv.AppendInt(b, ts, 10)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, seq, 10)
	b = appendID(b, id)
	if dup {
		b = append(b, `,"dup":true`...)
	}
	return append(b, '}')
}

// AppendPong appends `{"op":"pong","id":I,"server_ts":T}`.
func AppendPong(b []byte, id *int64, serverTS int64) []byte {
	b = append(b, `{"op":"pong"`...)
	b = appendID(b, id)
	b = append(b, `,"server_ts":`...)
	b = strconv.AppendInt(b, serverTS, 10)
	return append(b, '}')
}

// AppendKick appends `{"op":"kick","room":R,"reason":X}`; with room "" the frame has no room:
// the whole session is closed after it.
func AppendKick(b []byte, room, reason string) []byte {
	b = append(b, `{"op":"kick"`...)
	if room != "" {
		b = append(b, `,"room":`...)
		b = AppendString(b, room)
	}
	b = append(b, `,"reason":`...)
	b = AppendString(b, reason)
	return append(b, '}')
}

// AppendKickRetry appends a whole-session `{"op":"kick","reason":R,"retry_ms":M}`: the client
// reconnects after a random delay in [0, M] (PROTOCOL.md section 8.8).
func AppendKickRetry(b []byte, reason string, retryMs int64) []byte {
	b = AppendKick(b, "", reason)
	b = append(b[:len(b)-1], `,"retry_ms":`...)
	b = strconv.AppendInt(b, retryMs, 10)
	return append(b, '}')
}

// AppendError appends `{"op":"error","id":I,"code":C,"message":M}`.
func AppendError(b []byte, id *int64, code, message string) []byte {
	b = append(b, `{"op":"error"`...)
	b = appendID(b, id)
	b = append(b, `,"code":`...)
	b = AppendString(b, code)
	b = append(b, `,"message":`...)
	b = AppendString(b, message)
	return append(b, '}')
}
