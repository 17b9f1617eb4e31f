package wire

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// window builds a Window of the given message encodings.
func window(msgs [][]byte, dropped uint64, next int64, nextSeq uint64, more bool) Window {
	w := StartWindow([]byte("dropped by StartWindow"))
	for _, m := range msgs {
		w.Msg(m)
	}
	return w.End(dropped, next, nextSeq, more)
}

func TestWindow(t *testing.T) {
	a := AppendMessage(nil, &Message{TS: 5, Seq: 1, Pri: "normal", Kind: "c", Body: []byte(`{}`)})
	b := AppendMessage(nil, &Message{TS: 9, Seq: 3, Pri: "system", Kind: "n", UID: "adm", CMID: "x"})
	f := func(w Window, want string) {
		t.Helper()
		if string(w) != want {
			t.Errorf("got  %s\nwant %s", w, want)
		}
		if !json.Valid([]byte("{" + string(w))) {
			t.Errorf("not a JSON object's members: %s", w)
		}
	}
	f(window([][]byte{a}, 3, 5, 4, false),
		`"msgs":[{"ts":5,"seq":1,"pri":"normal","kind":"c","uid":"","body":{}}],"dropped":3,"next":5,"next_seq":4,"more":false}`)
	f(window([][]byte{a, b}, 1, 9, 3, false),
		`"msgs":[{"ts":5,"seq":1,"pri":"normal","kind":"c","uid":"","body":{}},`+
			`{"ts":9,"seq":3,"pri":"system","kind":"n","uid":"adm","cmid":"x","body":null}],"dropped":1,"next":9,"next_seq":3,"more":false}`)
	f(window(nil, 0, 7, 0, false), `"msgs":[],"dropped":0,"next":7,"next_seq":0,"more":false}`)
	f(window([][]byte{b}, 18446744073709551615, 9, 18446744073709551615, true),
		`"msgs":[{"ts":9,"seq":3,"pri":"system","kind":"n","uid":"adm","cmid":"x","body":null}],"dropped":18446744073709551615,"next":9,"next_seq":18446744073709551615,"more":true}`)
	f(window(nil, 0, -1, 0, true), `"msgs":[],"dropped":0,"next":-1,"next_seq":0,"more":true}`)

	buf := make([]byte, 0, 512)
	if allocs := testing.AllocsPerRun(100, func() {
		w := StartWindow(buf)
		w.Msg(a)
		w.Msg(b)
		buf = w.End(12, 9, 14, false)
	}); allocs != 0 {
		t.Errorf("a window allocated %v times into a big enough buffer", allocs)
	}
}

func TestMsgsAndPullBody(t *testing.T) {
	m := AppendMessage(nil, &Message{TS: 5, Seq: 1, Pri: "normal", Kind: "chat", UID: "u1", Body: []byte(`{"text":"hi"}`)})
	w := window([][]byte{m}, 2, 5, 3, false)
	id := int64(-7)
	f := func(got []byte, want string) {
		t.Helper()
		if string(got) != "x"+want {
			t.Errorf("got  %s\nwant x%s", got, want)
		}
	}
	f(AppendMsgs([]byte("x"), "room-1", nil, "e1abc", w),
		`{"op":"msgs","room":"room-1","epoch":"e1abc","msgs":[{"ts":5,"seq":1,"pri":"normal","kind":"chat","uid":"u1","body":{"text":"hi"}}],"dropped":2,"next":5,"next_seq":3,"more":false}`)
	f(AppendMsgs([]byte("x"), "room-1", &id, "e1abc", w),
		`{"op":"msgs","room":"room-1","id":-7,"epoch":"e1abc","msgs":[{"ts":5,"seq":1,"pri":"normal","kind":"chat","uid":"u1","body":{"text":"hi"}}],"dropped":2,"next":5,"next_seq":3,"more":false}`)
	f(AppendPullBody([]byte("x"), "room-1", "e1abc", w),
		`{"room":"room-1","epoch":"e1abc","msgs":[{"ts":5,"seq":1,"pri":"normal","kind":"chat","uid":"u1","body":{"text":"hi"}}],"dropped":2,"next":5,"next_seq":3,"more":false}`)

	buf := make([]byte, 0, 512)
	if n := testing.AllocsPerRun(100, func() { buf = AppendMsgs(buf[:0], "room-1", &id, "e1abc", w) }); n != 0 {
		t.Errorf("AppendMsgs allocated %v times into a big enough buffer", n)
	}
}

// decodedMsgs is a msgs frame or pull body as a client decodes it.
type decodedMsgs struct {
	Op    string `json:"op"`
	Room  string `json:"room"`
	ID    *int64 `json:"id"`
	Epoch string `json:"epoch"`
	Msgs  []struct {
		TS   int64           `json:"ts"`
		Seq  uint64          `json:"seq"`
		Pri  string          `json:"pri"`
		Kind string          `json:"kind"`
		UID  string          `json:"uid"`
		CMID *string         `json:"cmid"`
		Body json.RawMessage `json:"body"`
	} `json:"msgs"`
	Dropped uint64  `json:"dropped"`
	Next    int64   `json:"next"`
	NextSeq *uint64 `json:"next_seq"`
	More    bool    `json:"more"`
}

// FuzzMsgsFrame: messages with any strings, numbers and body, in a window with any counts,
// framed as a msgs frame and as a pull body, are valid UTF-8 JSON that decodes to what was
// encoded (strings with invalid bytes replaced).
func FuzzMsgsFrame(f *testing.F) {
	f.Add("room-1", "e1", int64(3), true, "chat", "u1", "c-7", []byte(`{"text":"hi"}`), int64(1732280000123456), uint64(42), "normal", uint8(2), uint64(5), int64(99), false)
	f.Add("r<\xff", "\u2028", int64(-1), false, "k\"\n", "", "", []byte(`null`), int64(-5), uint64(0), "system", uint8(0), uint64(1<<63), int64(-1), true)
	f.Add("", "", int64(0), false, "\x00\\", "é", "\xc3", []byte("[1,\"\\ud800\"]"), int64(0), uint64(18446744073709551615), "", uint8(7), uint64(0), int64(0), true)
	f.Fuzz(func(t *testing.T, room, epoch string, id int64, hasID bool, kind, uid, cmid string, body []byte,
		ts int64, seq uint64, pri string, n uint8, dropped uint64, next int64, more bool) {
		var compact bytes.Buffer
		if !utf8.Valid(body) || json.Compact(&compact, body) != nil {
			compact.Reset() // messages carry valid compact JSON (transport checks it): none here
		}
		n %= 8
		w := StartWindow(nil)
		for i := range n {
			w.Msg(AppendMessage(nil, &Message{TS: ts + int64(i), Seq: seq + uint64(i), Pri: pri, Kind: kind, UID: uid, CMID: cmid, Body: compact.Bytes()}))
		}
		win := w.End(dropped, next, seq+uint64(n), more)
		var idp *int64
		if hasID {
			idp = &id
		}
		for _, out := range [][]byte{AppendMsgs(nil, room, idp, epoch, win), AppendPullBody(nil, room, epoch, win)} {
			var d decodedMsgs
			if !utf8.Valid(out) || json.Unmarshal(out, &d) != nil {
				t.Fatalf("not valid UTF-8 JSON: %q", out)
			}
			frame := d.Op != ""
			if (frame && (d.Op != "msgs" || (d.ID == nil) != !hasID || (hasID && *d.ID != id))) || (!frame && d.ID != nil) {
				t.Fatalf("op/id wrong in %s", out)
			}
			if d.Room != valid(room) || d.Epoch != valid(epoch) || d.Dropped != dropped || d.Next != next || d.NextSeq == nil || *d.NextSeq != seq+uint64(n) || d.More != more || len(d.Msgs) != int(n) {
				t.Fatalf("%s does not decode to what was encoded", out)
			}
			wantBody := compact.String()
			if wantBody == "" {
				wantBody = "null"
			}
			for i, m := range d.Msgs {
				if m.TS != ts+int64(i) || m.Seq != seq+uint64(i) || m.Pri != valid(pri) || m.Kind != valid(kind) || m.UID != valid(uid) ||
					(m.CMID == nil) != (cmid == "") || (m.CMID != nil && *m.CMID != valid(cmid)) || string(m.Body) != wantBody {
					t.Fatalf("message %d of %s does not decode to what was encoded", i, out)
				}
			}
		}
	})
}
