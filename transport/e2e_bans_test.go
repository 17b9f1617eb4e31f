//go:build !race

package transport_test

import (
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/liveroom/liveroom/internal/testwait"
)

// dialStatus is the HTTP status of a refused upgrade, or 101 once the session is open (then
// closed again).
func (s *testServer) dialStatus(t *testing.T, query string) int {
	t.Helper()
	c, err := s.tryDial(query)
	if err == nil {
		_ = c.conn.Close()
		return 101
	}
	var code int
	if _, scanErr := fmt.Sscanf(err.Error()[strings.LastIndex(err.Error(), "(HTTP "):], "(HTTP %d)", &code); scanErr != nil {
		t.Fatalf("dial %s: %v", query, err)
	}
	return code
}

// A global ban closes every session of the uid (whole-session kick banned, close 4003), in
// and out of rooms, refuses its upgrades with 403 and its backend posts and pulls with
// banned; other uids are untouched; lifting it lets the uid in again.
func TestGlobalBan(t *testing.T) {
	s := startServer(t, nil, nil)
	var banned []*wsClient
	for i := range 3 {
		c := s.dial(t, "uid=gb")
		c.next(t, "hello", 2*time.Second)
		if i < 2 {
			if r := c.call(t, map[string]any{"op": "join", "room": fmt.Sprintf("gb%d", i)}); r["op"] != "joined" {
				t.Fatal(r)
			}
		}
		banned = append(banned, c)
	}
	other := s.dial(t, "uid=gb-other")
	other.next(t, "hello", 2*time.Second)
	other.call(t, map[string]any{"op": "join", "room": "gb0"})

	if code, r := s.api(t, "PUT", "/v1/bans/gb", apiKey, ""); code != 200 {
		t.Fatalf("ban: %d %v", code, r)
	}
	for i, c := range banned {
		k := c.next(t, "kick", 5*time.Second)
		if k["reason"] != "banned" || k["room"] != nil {
			t.Errorf("session %d: kick %v, want a whole-session kick banned", i, k)
		}
		if code := c.waitClosed(t, 5*time.Second); code != 4003 {
			t.Errorf("session %d: close %d, want 4003", i, code)
		}
	}
	if r := other.call(t, map[string]any{"op": "ping"}); r["op"] != "pong" {
		t.Fatalf("another uid: %v", r)
	}
	if code := s.dialStatus(t, "uid=gb"); code != 403 {
		t.Fatalf("upgrade of a banned uid: %d, want 403", code)
	}
	tok := s.token(t, "gb", time.Hour, nil)
	if code := s.dialStatus(t, "token="+tok); code != 403 {
		t.Fatalf("upgrade of a banned uid with a token: %d, want 403", code)
	}
	if code, r := s.api(t, "POST", "/v1/rooms/gb0/messages", apiKey, `{"uid":"gb","kind":"chat","body":1}`); code != 403 || errCode(r) != "banned" {
		t.Fatalf("backend post as the banned uid: %d %v", code, r)
	}
	if code, r := s.api(t, "GET", "/v1/rooms/gb0/messages?token="+tok, "", ""); code != 403 || errCode(r) != "banned" {
		t.Fatalf("HTTP pull of the banned uid: %d %v", code, r)
	}
	if code, r := s.api(t, "GET", "/v1/bans", apiKey, ""); code != 200 || fmt.Sprint(r["items"]) != "[map[uid:gb until:0]]" || r["next"] != "" {
		t.Fatalf("GET /v1/bans: %d %v", code, r)
	}

	if code, _ := s.api(t, "DELETE", "/v1/bans/gb", apiKey, ""); code != 200 {
		t.Fatal("unban")
	}
	if code := s.dialStatus(t, "uid=gb"); code != 101 {
		t.Fatalf("upgrade after the unban: %d", code)
	}

	// A ban with a ttl ends by itself.
	before := time.Now().Unix()
	if code, _ := s.api(t, "PUT", "/v1/bans/gb", apiKey, `{"ttl_s":1}`); code != 200 {
		t.Fatal("ttl ban")
	}
	_, r := s.api(t, "GET", "/v1/bans", apiKey, "")
	if items := r["items"].([]any); len(items) != 1 || num(items[0].(map[string]any)["until"]) < before+1 ||
		num(items[0].(map[string]any)["until"]) > time.Now().Unix()+2 {
		t.Fatalf("a 1 s ban lists as %v", r)
	}
	if code := s.dialStatus(t, "uid=gb"); code != 403 {
		t.Fatalf("upgrade under a ttl ban: %d", code)
	}
	testwait.For(t, 5*time.Second, "the 1 s ban to end", func() bool { return s.dialStatus(t, "uid=gb") == 101 })
}

func errCode(r map[string]any) string {
	e, _ := r["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

// DELETE /v1/viewers/{uid} closes every session of the uid with kick kicked and close 1000;
// the uid may connect again.
func TestKickEverywhere(t *testing.T) {
	s := startServer(t, nil, nil)
	var cs []*wsClient
	for range 2 {
		c := s.dial(t, "uid=ke")
		c.next(t, "hello", 2*time.Second)
		cs = append(cs, c)
	}
	cs[0].call(t, map[string]any{"op": "join", "room": "ke"})
	if code, _ := s.api(t, "DELETE", "/v1/viewers/ke", apiKey, ""); code != 200 {
		t.Fatal("kick")
	}
	for i, c := range cs {
		if k := c.next(t, "kick", 5*time.Second); k["reason"] != "kicked" || k["room"] != nil {
			t.Errorf("session %d: %v", i, k)
		}
		if code := c.waitClosed(t, 5*time.Second); code != 1000 {
			t.Errorf("session %d: close %d, want 1000", i, code)
		}
	}
	if code := s.dialStatus(t, "uid=ke"); code != 101 {
		t.Fatalf("reconnect after a kick: %d", code)
	}
}

// pageAll reads every page of a list endpoint and returns the ids in order, checking the
// page sizes.
func pageAll(t *testing.T, s *testServer, path, field string, wantPages int) []string {
	t.Helper()
	var ids []string
	cursor := ""
	for page := 1; ; page++ {
		p := path
		if cursor != "" {
			p += "?cursor=" + cursor
		}
		code, r := s.api(t, "GET", p, apiKey, "")
		if code != 200 {
			t.Fatalf("GET %s: %d %v", p, code, r)
		}
		items := r["items"].([]any)
		next, _ := r["next"].(string)
		if next != "" && len(items) != 1000 || len(items) > 1000 {
			t.Fatalf("GET %s: %d items with next %q", p, len(items), next)
		}
		for _, it := range items {
			ids = append(ids, it.(map[string]any)[field].(string))
		}
		if next == "" {
			if page != wantPages {
				t.Fatalf("GET %s: %d pages, want %d", path, page, wantPages)
			}
			return ids
		}
		cursor = next
	}
}

// parallel runs f(i) for i in [0, n) on 16 goroutines.
func parallel(n int, f func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// The lists page 1000 at a time, in id order, with every entry once: a room's mutes (2,500),
// the global bans (1,001) and the active rooms (1,001).
func TestListPaging(t *testing.T) {
	s := startServer(t, nil, nil)
	parallel(2500, func(i int) {
		if code, _ := s.api(t, "PUT", fmt.Sprintf("/v1/rooms/lp/mutes/m%04d", i), apiKey, `{"ttl_s":3600}`); code != 200 {
			t.Errorf("mute %d: %d", i, code)
		}
	})
	s.api(t, "PUT", "/v1/rooms/lp/bans/only-ban", apiKey, "")
	mutes := pageAll(t, s, "/v1/rooms/lp/mutes", "uid", 3)
	if len(mutes) != 2500 || mutes[0] != "m0000" || mutes[999] != "m0999" || mutes[1000] != "m1000" || mutes[2499] != "m2499" {
		t.Fatalf("%d mutes: %v ...", len(mutes), mutes[:3])
	}
	_, r := s.api(t, "GET", "/v1/rooms/lp/mutes", apiKey, "")
	until := num(r["items"].([]any)[0].(map[string]any)["until"])
	if now := time.Now().Unix(); until < now+3590 || until > now+3601 {
		t.Fatalf("a mute of 3600 s lists until %d (now %d)", until, now)
	}
	if bans := pageAll(t, s, "/v1/rooms/lp/bans", "uid", 1); len(bans) != 1 || bans[0] != "only-ban" {
		t.Fatalf("bans %v", bans)
	}
	if wl := pageAll(t, s, "/v1/rooms/lp/whitelist", "uid", 1); len(wl) != 0 {
		t.Fatalf("whitelist %v", wl)
	}

	parallel(1001, func(i int) {
		if code, _ := s.api(t, "PUT", fmt.Sprintf("/v1/bans/b%04d", i), apiKey, ""); code != 200 {
			t.Errorf("ban %d: %d", i, code)
		}
	})
	if bans := pageAll(t, s, "/v1/bans", "uid", 2); len(bans) != 1001 || bans[1000] != "b1000" {
		t.Fatalf("%d global bans", len(bans))
	}

	viewer := s.dial(t, "uid=counted")
	viewer.next(t, "hello", 2*time.Second)
	viewer.call(t, map[string]any{"op": "join", "room": "r0500"})
	parallel(1000, func(i int) {
		if code, _ := s.api(t, "POST", fmt.Sprintf("/v1/rooms/r%04d/messages", i), apiKey, `{"kind":"chat","body":1}`); code != 200 {
			t.Errorf("post %d: %d", i, code)
		}
	})
	rooms := pageAll(t, s, "/v1/rooms", "room", 2) // r0000..r0999 and lp
	if len(rooms) != 1001 || rooms[0] != "lp" || rooms[1] != "r0000" || rooms[1000] != "r0999" {
		t.Fatalf("%d rooms: %v ... %v", len(rooms), rooms[:3], rooms[len(rooms)-1])
	}
	_, r = s.api(t, "GET", "/v1/rooms?cursor="+base64.RawURLEncoding.EncodeToString([]byte("r0499")), apiKey, "")
	if first := r["items"].([]any)[0].(map[string]any); first["room"] != "r0500" || num(first["online"]) != 1 {
		t.Fatalf("room r0500 lists as %v", first)
	}
}

// Bad input on each endpoint gets its error and changes nothing.
func TestGlobalModerationBadInput(t *testing.T) {
	s := startServer(t, nil, nil)
	tok := s.token(t, "viewer", time.Hour, nil)
	f := func(method, path, key, body string, status int, code string) {
		t.Helper()
		got, r := s.api(t, method, path, key, body)
		if got != status || errCode(r) != code {
			t.Errorf("%s %s: %d %v, want %d %s", method, path, got, r, status, code)
		}
	}
	for _, path := range []string{"/v1/bans", "/v1/rooms", "/v1/rooms/r/bans", "/v1/rooms/r/mutes", "/v1/rooms/r/whitelist"} {
		f("GET", path, "", "", 401, "unauthorized")
		f("GET", path, "Bearer-less", "", 401, "unauthorized")
		f("GET", path+"?token="+tok, "", "", 401, "unauthorized")
		f("POST", path, apiKey, "", 405, "bad_request")
		f("GET", path+"?cursor=%25%25", apiKey, "", 400, "bad_request")
		f("GET", path+"?cursor=a+b", apiKey, "", 400, "bad_request")
		f("GET", path+"?cursor="+base64.RawURLEncoding.EncodeToString([]byte("not an id")), apiKey, "", 400, "bad_request")
		f("GET", path+"?cursor="+base64.StdEncoding.EncodeToString([]byte("u1")), apiKey, "", 400, "bad_request") // padded
	}
	f("GET", "/v1/rooms/bad%20room/bans", apiKey, "", 400, "bad_request")
	f("GET", "/v1/rooms/r/pins", apiKey, "", 404, "not_found")
	f("PUT", "/v1/bans/a/b", apiKey, "", 404, "not_found")
	f("DELETE", "/v1/viewers/a/b", apiKey, "", 404, "not_found")
	for _, path := range []string{"/v1/bans/", "/v1/bans/bad%20uid", "/v1/viewers/", "/v1/viewers/bad%20uid"} {
		method := "PUT"
		if strings.HasPrefix(path, "/v1/viewers") {
			method = "DELETE"
		}
		f(method, path, apiKey, "", 400, "bad_request")
	}
	f("PUT", "/v1/bans/u1", "", "", 401, "unauthorized")
	f("PUT", "/v1/bans/u1", apiKey, `{"ttl_s":-1}`, 400, "bad_request")
	f("PUT", "/v1/bans/u1", apiKey, `{"ttl_s":"60"}`, 400, "bad_request")
	f("PUT", "/v1/bans/u1", apiKey, `{"ttl":60}`, 400, "bad_request")
	f("PUT", "/v1/bans/u1", apiKey, `{"ttl_s":60}x`, 400, "bad_request")
	f("PUT", "/v1/bans/u1", apiKey, "\xff", 400, "bad_request")
	f("GET", "/v1/bans/u1", apiKey, "", 405, "bad_request")
	f("PUT", "/v1/viewers/u1", apiKey, "", 405, "bad_request")
	f("DELETE", "/v1/viewers/u1", "", "", 401, "unauthorized")
	if _, r := s.api(t, "GET", "/v1/bans", apiKey, ""); len(r["items"].([]any)) != 0 {
		t.Fatalf("bad input left bans: %v", r)
	}
	if code := s.dialStatus(t, "uid=u1"); code != 101 {
		t.Fatalf("u1 refused after bad bans: %d", code)
	}
}
