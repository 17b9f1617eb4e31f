package wire

import (
	"encoding/json"
	"testing"
)

func TestListBodies(t *testing.T) {
	f := func(got []byte, want string) { t.Helper(); wantJSON(t, got, want) }
	id := int64(3)
	f(AppendAuthed(nil, 1732280000, &id), `{"op":"authed","exp":1732280000,"id":3}`)
	f(AppendAuthed(nil, 1732280000, nil), `{"op":"authed","exp":1732280000}`)
	f(AppendListBody(nil, nil, ""), `{"items":[],"next":""}`)
	f(AppendListBody(nil, []ListItem{{"u1", 0}, {"u.2", 1732280000}}, "dTI"),
		`{"items":[{"uid":"u1","until":0},{"uid":"u.2","until":1732280000}],"next":"dTI"}`)
	f(AppendRoomListBody(nil, nil, ""), `{"items":[],"next":""}`)
	f(AppendRoomListBody(nil, []RoomItem{{"r1", 3}, {"r:2", 0}}, "x"),
		`{"items":[{"room":"r1","online":3},{"room":"r:2","online":0}],"next":"x"}`)
}

// wantJSON checks that got is exactly want and valid JSON.
func wantJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if !json.Valid(got) {
		t.Errorf("not valid JSON: %s", got)
	}
}
