package wire

import "strconv"

// The frames and bodies of token refresh and global moderation (PROTOCOL.md sections 8.6 and
// 8.7).

// AppendAuthed appends `{"op":"authed","exp":E,"id":I}`: a token refresh was accepted; exp is
// the new token's expiry in unix seconds.
func AppendAuthed(b []byte, exp int64, id *int64) []byte {
	b = append(b, `{"op":"authed","exp":`...)
	b = strconv.AppendInt(b, exp, 10)
	b = appendID(b, id)
	return append(b, '}')
}

// ListItem is one entry of a moderation list: a uid and when its entry ends (unix seconds,
// 0 = forever).
type ListItem struct {
	UID   string
	Until int64
}

// AppendListBody appends `{"items":[{"uid":U,"until":T},...],"next":C}`; next "" is the last
// page and is written as "".
func AppendListBody(b []byte, items []ListItem, next string) []byte {
	b = append(b, `{"items":[`...)
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"uid":`...)
		b = AppendStringKeepHTML(b, it.UID)
		b = append(b, `,"until":`...)
		b = strconv.AppendInt(b, it.Until, 10)
		b = append(b, '}')
	}
	b = append(b, `],"next":`...)
	b = AppendStringKeepHTML(b, next)
	return append(b, '}')
}

// RoomItem is one active room and its cluster-wide viewer count.
type RoomItem struct {
	Room   string
	Online int64
}

// AppendRoomListBody appends `{"items":[{"room":R,"online":N},...],"next":C}`.
func AppendRoomListBody(b []byte, items []RoomItem, next string) []byte {
	b = append(b, `{"items":[`...)
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"room":`...)
		b = AppendStringKeepHTML(b, it.Room)
		b = append(b, `,"online":`...)
		b = strconv.AppendInt(b, it.Online, 10)
		b = append(b, '}')
	}
	b = append(b, `],"next":`...)
	b = AppendStringKeepHTML(b, next)
	return append(b, '}')
}
