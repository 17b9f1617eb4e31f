package transport_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/fasthttp/websocket"
)

// FuzzSessionFrames sends arbitrary text frames to one WebSocket session (over the in-memory
// engine, so that it runs under -race) and checks every frame the server writes back: a text
// frame of valid UTF-8 holding a JSON object with a server op, one reply per frame (echoing
// the frame's id when it is an integer), and the session still open (nothing a client writes
// in a frame within max_frame closes it: PROTOCOL.md section 3). A panic in the session's
// handler ends the process, which fails the target. The room "fz" holds messages (some from
// the backend, some sent by the fuzzed frames), so pulls and pushed windows carry real ones.
func FuzzSessionFrames(f *testing.F) {
	for _, s := range sessionSeeds() {
		f.Add([]byte(s))
	}
	s := startFake(f, nil)
	for i, body := range []string{`{"t":"hello"}`, `"直播 😀"`, `["\u2028",null,1.5e300]`} {
		req, _ := http.NewRequest("POST", "http://"+s.addr+"/v1/rooms/fz/messages",
			strings.NewReader(fmt.Sprintf(`{"uid":"bob","kind":"k%d","body":%s}`, i, body)))
		req.Header.Set("Authorization", "Bearer "+apiKey)
		if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != 200 {
			f.Fatalf("post: %v %v", r, err)
		}
	}
	var c *fuzzConn
	var sentinel int64 = 1 << 60
	f.Fuzz(func(t *testing.T, frame []byte) {
		if len(frame) > 8000 { // max_frame (8 KiB) closes with 1009: FuzzRawSocket's part
			t.Skip()
		}
		if c == nil {
			c = dialFuzz(t, s.addr)
		}
		sentinel++
		for _, b := range [][]byte{frame, fmt.Appendf(nil, `{"op":"ping","id":%d}`, sentinel)} {
			if err := c.conn.WriteMessage(websocket.TextMessage, b); err != nil {
				c = nil
				t.Fatalf("write: %v", err)
			}
		}
		wantID, hasID := integerID(frame)
		replies, windows := 0, 0 // replies, and msgs frames without id (a pull's reply or a pushed window)
		timeout := time.After(10 * time.Second)
		for {
			var fr wsFrame
			select {
			case fr = <-c.frames:
			case <-timeout:
				t.Fatalf("no answer to %q", frame)
			}
			if fr.err != nil {
				c = nil
				t.Fatalf("the session ended after %q: %v", frame, fr.err)
			}
			op, id, ok := serverFrame(fr)
			switch {
			case !ok:
				t.Fatalf("after %q the server wrote %q (type %d)", frame, fr.data, fr.typ)
			case op == "pong" && id == fmt.Sprint(sentinel):
				if replies > 1 || replies+windows == 0 {
					t.Fatalf("%q got %d replies", frame, replies)
				}
				return
			case op == "notify":
			case op == "msgs" && id == "":
				windows++
			case hasID && id != wantID:
				t.Fatalf("%q (id %s) answered with id %q: %q", frame, wantID, id, fr.data)
			case !hasID && id != "":
				t.Fatalf("%q (no integer id) answered with id %s: %q", frame, id, fr.data)
			default:
				replies++
			}
		}
	})
}

type wsFrame struct {
	typ  int
	data []byte
	err  error
}

type fuzzConn struct {
	conn   *websocket.Conn
	frames chan wsFrame
}

func dialFuzz(t *testing.T, addr string) *fuzzConn {
	conn, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/v1/ws?uid=fuzz", nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c := &fuzzConn{conn: conn, frames: make(chan wsFrame, 1024)}
	go func() {
		for {
			typ, data, err := conn.ReadMessage()
			c.frames <- wsFrame{typ, data, err}
			if err != nil {
				return
			}
		}
	}()
	if fr := <-c.frames; fr.err != nil || !strings.HasPrefix(string(fr.data), `{"op":"hello"`) {
		t.Fatalf("hello: %q %v", fr.data, fr.err)
	}
	return c
}

var serverOps = map[string]bool{"hello": true, "joined": true, "left": true, "msgs": true, "sent": true, "pong": true,
	"notify": true, "kick": true, "error": true}

// serverFrame checks a frame the server wrote and returns its op and id (as written, "" if
// none).
func serverFrame(fr wsFrame) (op, id string, ok bool) {
	var v struct {
		Op string          `json:"op"`
		ID json.RawMessage `json:"id"`
	}
	if fr.typ != websocket.TextMessage || !utf8.Valid(fr.data) || !json.Valid(fr.data) || json.Unmarshal(fr.data, &v) != nil ||
		!serverOps[v.Op] || fr.data[0] != '{' {
		return "", "", false
	}
	return v.Op, string(v.ID), true
}

var integerRE = regexp.MustCompile(`^-?(0|[1-9][0-9]{0,18})$`)

// integerID is the frame's id as the reply must echo it, when it is an integer within int64.
func integerID(frame []byte) (string, bool) {
	var v struct{ ID json.RawMessage }
	if json.Unmarshal(frame, &v) != nil || !integerRE.Match(v.ID) {
		return "", false
	}
	var n int64
	if err := json.Unmarshal(v.ID, &n); err != nil {
		return "", false
	}
	return fmt.Sprint(n), true
}

// sessionSeeds: every op with good and bad arguments, every JSON type in every field, bytes
// that are not UTF-8, lone surrogates, deep nesting, huge numbers.
func sessionSeeds() []string {
	seeds := []string{
		`{"op":"ping","id":1}`, `{"op":"ping"}`,
		`{"op":"join","room":"fz","since":0,"id":2}`, `{"op":"join","room":"fz","push":true,"since":0,"id":3}`,
		`{"op":"pull","room":"fz","since":0,"limit":200,"id":4}`, `{"op":"pull","room":"fz"}`,
		`{"op":"send","room":"fz","kind":"chat","body":{"t":"hi"},"cmid":"c1","id":5}`,
		`{"op":"send","room":"fz","kind":"chat","pri":"high","body":1,"id":6}`,
		`{"op":"send","room":"fz","kind":"chat","pri":"system","body":1,"id":7}`,
		`{"op":"send","room":"fz","kind":"chat","body":"\ud800","id":8}`,
		"{\"op\":\"send\",\"room\":\"fz\",\"kind\":\"\xff\",\"body\":1,\"id\":9}",
		`{"op":"send","room":"fz","kind":"chat","body":` + strings.Repeat("[", 3000) + strings.Repeat("]", 3000) + `,"id":10}`,
		`{"op":"leave","room":"fz","id":11}`, `{"op":"leave","room":"nope","id":12}`,
		`{"op":"dance","id":13}`, `{"op":"` + strings.Repeat("o", 31) + `é","id":14}`, `{"id":15}`,
		`{"op":"ping","id":"x"}`, `{"op":"ping","id":1.5}`, `{"op":"ping","id":99999999999999999999}`, `{"op":"ping","id":-0}`,
		"\xff\xfe", `[]`, `null`, `{`, ``, `{"op":"ping"} {}`,
		`{"op":"auth","token":"a.b.c","id":16}`, `{"op":"auth","id":17}`, `{"op":"auth","token":"","id":18}`,
	}
	values := []string{`"fz"`, `""`, `"é"`, `"\ud800"`, "\"\xff\"", `0`, `-0`, `-1`, `1.5`, `1e3`, `9223372036854775808`,
		`true`, `null`, `[]`, `{}`, `{"a":[1]}`}
	for _, op := range []string{"join", "pull", "send", "leave", "ping", "auth"} {
		for _, key := range []string{"op", "id", "room", "since", "limit", "push", "kind", "pri", "body", "cmid", "token"} {
			for _, v := range values {
				seeds = append(seeds, `{"op":"`+op+`","room":"fz","kind":"k","body":1,"id":1,"`+key+`":`+v+`}`)
			}
		}
	}
	return seeds
}
