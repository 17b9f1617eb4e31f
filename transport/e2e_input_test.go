// Hostile input against a server over the in-memory engine (the findings of an attacker's probe): every
// message is judged by the same rules on the WebSocket and over HTTP, ids are never made up,
// and nothing the server writes to a viewer is anything but valid UTF-8 JSON.

package transport_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/fasthttp/websocket"
)

// rawClient keeps every frame the server sent, as bytes.
type rawClient struct {
	conn   *websocket.Conn
	frames chan []byte
	mu     sync.Mutex
	all    [][]byte // every data frame received, in order
	types  []int
}

func (s *testServer) dialRaw(t *testing.T, query string) *rawClient {
	t.Helper()
	conn, _, err := websocket.DefaultDialer.Dial("ws://"+s.addr+"/v1/ws?"+query, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", query, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	c := &rawClient{conn: conn, frames: make(chan []byte, 1<<14)}
	go func() {
		defer close(c.frames)
		for {
			typ, data, err := conn.ReadMessage()
			if err != nil {
				return
			}
			c.mu.Lock()
			c.all, c.types = append(c.all, data), append(c.types, typ)
			c.mu.Unlock()
			c.frames <- data
		}
	}()
	c.next(t, "hello")
	return c
}

// next returns the next frame whose op is op, skipping others.
func (c *rawClient) next(t *testing.T, op string) map[string]any {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case b, ok := <-c.frames:
			if !ok {
				t.Fatalf("closed while waiting for %q", op)
			}
			var f map[string]any
			if err := json.Unmarshal(b, &f); err != nil {
				t.Fatalf("server sent non-JSON %q", b)
			}
			if f["op"] == op {
				return f
			}
		case <-deadline:
			t.Fatalf("no %q frame", op)
		}
	}
}

// reply writes frame and returns the next frame that answers a request, raw: frames are
// answered in order; notifies, counters frames and pushed windows (no id) are skipped.
func (c *rawClient) reply(t *testing.T, frame []byte) []byte {
	t.Helper()
	if err := c.conn.WriteMessage(websocket.TextMessage, frame); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(5 * time.Second)
	for {
		select {
		case b := <-c.frames:
			var f struct {
				Op string          `json:"op"`
				ID json.RawMessage `json:"id"`
			}
			_ = json.Unmarshal(b, &f)
			if f.Op == "notify" || f.Op == "counters" || (f.Op == "msgs" && f.ID == nil) {
				continue
			}
			return b
		case <-deadline:
			t.Fatalf("no reply to %q", frame)
			return nil
		}
	}
}

// checkFrames fails the test for any frame received that is not a text frame of valid UTF-8
// JSON; it returns how many were checked.
func (c *rawClient) checkFrames(t *testing.T, who string) int {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, b := range c.all {
		if c.types[i] != websocket.TextMessage || !utf8.Valid(b) || !json.Valid(b) {
			t.Errorf("%s: frame %d (type %d) is not valid UTF-8 JSON: %q", who, i, c.types[i], b)
		}
	}
	return len(c.all)
}

// outcome is "ok" or the error code of an answer (WebSocket reply or HTTP body).
func outcome(t *testing.T, b []byte) string {
	t.Helper()
	var r struct {
		Op    string `json:"op"`
		Code  string `json:"code"`
		Seq   uint64 `json:"seq"`
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("answer %q: %v", b, err)
	}
	switch {
	case r.Op == "sent" || (r.Op == "" && r.Error.Code == "" && r.Seq > 0):
		return "ok"
	case r.Code != "":
		return r.Code
	}
	return r.Error.Code
}

// The same message fields are accepted or refused alike by `POST /v1/rooms/{room}/messages` and
// a WebSocket send, with the same code: one function judges both (the probe found a null body
// accepted on the WebSocket only, and sizes measured differently).
func TestMessageChecksSameOnWSAndHTTP(t *testing.T) {
	s := startFake(t, nil)
	c := s.dialRaw(t, "uid=alice")
	c.reply(t, []byte(`{"op":"join","room":"same","id":1}`))
	spaced := `{"t":"` + strings.Repeat("x", 4000) + `"}`                              // 4,008 bytes compact
	spaced = strings.Replace(spaced, `{"t":`, `{`+strings.Repeat(" ", 200)+`"t" :`, 1) // 4,209 as written
	f := func(name, fields, want string) {
		t.Helper()
		viaHTTP := untilNotLimited(func() string {
			_, body := s.apiRaw(t, "POST", "/v1/rooms/same/messages", apiKey, `{"uid":"alice",`+fields+`}`)
			return outcome(t, body)
		})
		viaWS := untilNotLimited(func() string {
			return outcome(t, c.reply(t, []byte(`{"op":"send","room":"same","id":2,`+fields+`}`)))
		})
		if viaHTTP != want || viaWS != want {
			t.Errorf("%s: HTTP %s, WebSocket %s, want %s", name, viaHTTP, viaWS, want)
		}
	}
	f("plain", `"kind":"chat","body":{"t":"hi"}`, "ok")
	f("unicode", `"kind":"直播","body":{"t":"😀 \ud83d\ude00 \u2028"}`, "ok")
	f("invalid UTF-8 in body", "\"kind\":\"chat\",\"body\":{\"t\":\"\xff\xfe\"}", "bad_request")
	f("truncated UTF-8 in body", "\"kind\":\"chat\",\"body\":\"\xe6\x97\"", "bad_request")
	f("invalid UTF-8 in kind", "\"kind\":\"ch\xc3t\",\"body\":1", "bad_request")
	f("invalid UTF-8 in cmid", "\"kind\":\"chat\",\"body\":1,\"cmid\":\"\xff\"", "bad_request")
	f("lone surrogate in body", `"kind":"chat","body":{"t":"\ud800"}`, "bad_request")
	f("lone low surrogate in body", `"kind":"chat","body":["\udc00"]`, "bad_request")
	f("lone surrogate in kind", `"kind":"\ud800","body":1`, "bad_request")
	f("body null", `"kind":"chat","body":null`, "bad_request")
	f("body missing", `"kind":"chat"`, "bad_request")
	f("body not JSON", `"kind":"chat","body":}`, "bad_request")
	f("kind 33 bytes", `"kind":"`+strings.Repeat("k", 33)+`","body":1`, "bad_request")
	f("kind not a string", `"kind":7,"body":1`, "bad_request")
	f("pri unknown", `"kind":"chat","pri":"urgent","body":1`, "bad_request")
	f("cmid 129 bytes", `"kind":"chat","body":1,"cmid":"`+strings.Repeat("c", 129)+`"`, "bad_request")
	f("4,008 bytes compact written as 4,209", `"kind":"chat","body":`+spaced, "ok")
	f("4,096 bytes compact", `"kind":"chat","body":"`+strings.Repeat("x", 4094)+`"`, "ok")
	f("4,097 bytes compact", `"kind":"chat","body":"`+strings.Repeat("x", 4095)+`"`, "too_large")
	c.checkFrames(t, "sender")
}

// untilNotLimited calls try again, after a pause, while it answers rate_limited (a room's
// limits on one sender are not what these tests are about), at most for 10 s.
func untilNotLimited(try func() string) string {
	for i := 0; ; i++ {
		if got := try(); got != "rate_limited" || i == 40 {
			return got
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// apiRaw is api without decoding: the status and the body as sent.
func (s *testServer) apiRaw(t *testing.T, method, path, key, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+s.addr+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// A request id that is not an integer within int64 is never echoed: the error has no id at
// all (the probe found every wrong-typed id echoed as 0, answering some other request).
func TestWrongTypedIDNotEchoed(t *testing.T) {
	s := startFake(t, nil)
	c := s.dialRaw(t, "uid=alice")
	for _, id := range []string{`"5"`, `""`, `1.5`, `1.0`, `1e3`, `-1E2`, `true`, `false`, `[1]`, `{}`, `{"id":1}`,
		`99999999999999999999`, `9223372036854775808`, `-9223372036854775809`} {
		for _, frame := range []string{`{"op":"ping","id":` + id + `}`, `{"id":` + id + `,"op":"pull","room":"r","since":1}`,
			`{"op":"send","room":"r","kind":"chat","body":1,"id":` + id + `}`} {
			b := c.reply(t, []byte(frame))
			var r map[string]any
			_ = json.Unmarshal(b, &r)
			if _, echoed := r["id"]; echoed || r["op"] != "error" || r["code"] != "bad_request" {
				t.Errorf("%s: %s", frame, b)
			}
		}
	}
	// Integers are echoed exactly, -0 as 0.
	for id, want := range map[string]string{`-0`: `"id":0`, `0`: `"id":0`, `9223372036854775807`: `"id":9223372036854775807`,
		`-9223372036854775808`: `"id":-9223372036854775808`, `null`: ``} {
		for _, frame := range []string{`{"op":"ping","id":` + id + `}`, `{"op":"ping","pad":"\u0041","id":` + id + `}`} {
			b := string(c.reply(t, []byte(frame)))
			if !strings.HasPrefix(b, `{"op":"pong"`) || (want != "" && !strings.Contains(b, want)) || (want == "" && strings.Contains(b, `"id"`)) {
				t.Errorf("%s: %s, want %s", frame, b, want)
			}
		}
	}
	c.checkFrames(t, "alice")
}

// Whatever viewers and the backend send, every frame the server writes to a viewer (notify and
// push mode, replies, errors, kicks) is a text frame of valid UTF-8 JSON, and so is every HTTP
// pull: browsers close the WebSocket on the first frame that is not (the probe's one message
// took a room down).
func TestEveryFrameToViewersIsValidUTF8(t *testing.T) {
	s := startFake(t, nil)
	pull := s.dialRaw(t, "uid=puller")
	push := s.dialRaw(t, "uid=pusher")
	sender := s.dialRaw(t, "uid=sender")
	pull.reply(t, []byte(`{"op":"join","room":"utf","since":0,"id":1}`))
	push.reply(t, []byte(`{"op":"join","room":"utf","since":0,"push":true,"id":1}`))
	sender.reply(t, []byte(`{"op":"join","room":"utf","id":1}`))

	good := []string{`"plain"`, `{"t":"直播 😀"}`, `"\ud83d\ude00"`, `"\u2028\u2029"`, `"\u0000\u001f"`, `"<&>"`,
		`["é","\u00e9",{"ß":null}]`, `"` + strings.Repeat("界", 1000) + `"`}
	bad := []string{"\"\xff\"", "\"\xc3\"", "\"\xed\xa0\x80\"", "{\"\xf0\x9f\x98\":1}", `"\ud800"`, `"\ude00"`, `"\ud83d\u0041"`}
	want := 0
	for i, b := range good {
		code, body := s.api(t, "POST", "/v1/rooms/utf/messages", apiKey, fmt.Sprintf(`{"uid":"bob","kind":"k%d","body":%s}`, i, b))
		if code != 200 {
			t.Fatalf("post %s: %d %v", b, code, body)
		}
		var r []byte
		if untilNotLimited(func() string {
			r = sender.reply(t, []byte(fmt.Sprintf(`{"op":"send","room":"utf","kind":"直%d","body":%s,"cmid":"ü%d","id":2}`, i, b, i)))
			return outcome(t, r)
		}) != "ok" {
			t.Fatalf("send %s: %s", b, r)
		}
		want += 2
	}
	for _, b := range bad {
		if code, _ := s.api(t, "POST", "/v1/rooms/utf/messages", apiKey, `{"kind":"k","body":`+b+`}`); code != 400 {
			t.Errorf("post %q: %d", b, code)
		}
		if code, _ := s.api(t, "POST", "/v1/rooms/utf/notices", adminKey, `{"body":`+b+`}`); code != 400 {
			t.Errorf("notice %q: %d", b, code)
		}
		if r := sender.reply(t, []byte(`{"op":"send","room":"utf","kind":"k","body":`+b+`,"id":3}`)); outcome(t, r) != "bad_request" {
			t.Errorf("send %q: %s", b, r)
		}
	}
	// Input the server quotes back in errors, cut where a character does not end; frames that
	// are not UTF-8 are bad_request (their integer id echoed) and the session goes on.
	sender.reply(t, []byte(`{"op":"`+strings.Repeat("o", 31)+`é","id":4}`))
	if r := string(sender.reply(t, []byte("{\"op\":\"\xff\",\"id\":5}"))); !strings.HasPrefix(r, `{"op":"error","id":5,"code":"bad_request"`) {
		t.Errorf("a frame that is not UTF-8: %s", r)
	}
	sender.reply(t, []byte(`{"op":"join","room":"`+strings.Repeat("r", 127)+`é","id":6}`))
	if r := sender.reply(t, []byte{0xff, 0xfe}); outcome(t, r) != "bad_request" {
		t.Errorf("bytes that are not UTF-8: %s", r)
	}
	if err := sender.conn.WriteMessage(websocket.BinaryMessage, []byte("\xff")); err != nil {
		t.Fatal(err)
	}
	sender.next(t, "error")

	// The pull viewer pulls until it has every message; the push viewer is sent them.
	got, since := 0, int64(0)
	for deadline := time.Now().Add(5 * time.Second); got < want && time.Now().Before(deadline); {
		m := map[string]any{}
		_ = json.Unmarshal(pull.reply(t, []byte(fmt.Sprintf(`{"op":"pull","room":"utf","since":%d,"limit":200,"id":9}`, since))), &m)
		if m["op"] != "msgs" {
			continue // a notify came first
		}
		msgs, _ := m["msgs"].([]any)
		got += len(msgs)
		since = int64(m["next"].(float64))
	}
	if got != want {
		t.Fatalf("pulled %d messages, want %d", got, want)
	}
	pushed := 0
	for pushed < want {
		m := push.next(t, "msgs")
		msgs, _ := m["msgs"].([]any)
		pushed += len(msgs)
	}
	code, body := s.apiRaw(t, "GET", "/v1/rooms/utf/messages?since=0", apiKey, "")
	var window struct{ Msgs []json.RawMessage }
	if err := json.Unmarshal(body, &window); code != 200 || err != nil || len(window.Msgs) != want || !utf8.Valid(body) {
		t.Errorf("HTTP pull: %d %d messages %v (%d bytes, UTF-8 %v)", code, len(window.Msgs), err, len(body), utf8.Valid(body))
	}
	// A kick from the room.
	s.api(t, "DELETE", "/v1/rooms/utf/viewers/puller", apiKey, "")
	pull.next(t, "kick")
	n := pull.checkFrames(t, "puller") + push.checkFrames(t, "pusher") + sender.checkFrames(t, "sender")
	t.Logf("%d frames checked", n)
}

// lastOp returns the last frame received with op (nil if none).
func (c *rawClient) lastOp(op string) map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(c.all) - 1; i >= 0; i-- {
		var f map[string]any
		if json.Unmarshal(c.all[i], &f) == nil && f["op"] == op {
			return f
		}
	}
	return nil
}

// countOp counts the frames received with op.
func (c *rawClient) countOp(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, b := range c.all {
		var f struct {
			Op string `json:"op"`
		}
		if json.Unmarshal(b, &f) == nil && f.Op == op {
			n++
		}
	}
	return n
}
