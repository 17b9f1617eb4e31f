package wire

import "strconv"

// AppendJoinedWith appends AppendJoined's frame with the members a late joiner needs
// (PROTOCOL.md section 8.3): `"since":T` when since is not nil (the join asked for recent
// messages: the ts the session starts from), and `"pinned":[...]`, the encodings of the
// room's pinned messages in force, oldest first (an empty list when there are none).
// It is a separate function so that AppendJoined's v1 frame stays as it is.
func AppendJoinedWith(b []byte, room, epoch string, ts int64, seq uint64, online int64, id *int64, since *int64, pinned [][]byte) []byte {
	b = AppendJoined(b, room, epoch, ts, seq, online, id)
	b = b[:len(b)-1] // AppendJoined ends with the object's '}'
	if since != nil {
		b = append(b, `,"since":`...)
		b = strconv.AppendInt(b, *since, 10)
	}
	b = append(b, `,"pinned":[`...)
	for i, m := range pinned {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, m...)
	}
	return append(b, "]}"...)
}
