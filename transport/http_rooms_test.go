package transport

import (
	"encoding/json"
	"testing"

	"github.com/liveroom/liveroom/rooms"
)

func TestHTTPRoomInfo(t *testing.T) {
	h := newHarness(t, nil)
	h.eng.info = rooms.Info{Room: "r1", Epoch: "e1", Online: 12, TS: 99, Seq: 7, Config: rooms.DefaultConfig(),
		Stats: rooms.Stats{Accepted: 7, RateLimited: 2, Evicted: 1, Notifies: 30, Pulls: 29}}
	r := h.do("GET", "/v1/rooms/r1", "api", "")
	h.expect(r, 200, "")
	if h.eng.last() != "Info r1" {
		t.Errorf("call %s", h.eng.last())
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(r.body), &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"room", "online", "ts", "seq", "config", "stats"} {
		if _, ok := got[k]; !ok {
			t.Errorf("info lacks %q: %s", k, r.body)
		}
	}
	stats, _ := got["stats"].(map[string]any)
	for _, k := range []string{"accepted", "rate_limited", "evicted", "notifies", "pulls"} {
		if _, ok := stats[k]; !ok {
			t.Errorf("stats lack %q: %s", k, r.body)
		}
	}
	if got["online"] != 12.0 || stats["rate_limited"] != 2.0 {
		t.Errorf("info %s", r.body)
	}
}

func TestHTTPRoomConfig(t *testing.T) {
	h := newHarness(t, nil)
	h.eng.config = rooms.DefaultConfig()
	h.eng.config.Rate.Normal = 10
	r := h.do("PUT", "/v1/rooms/r1/config", "admin", `{"rate":{"normal":10}}`)
	h.expect(r, 200, "")
	want, _ := json.Marshal(h.eng.config)
	if r.body != string(want) {
		t.Errorf("reply %s, want the whole config %s", r.body, want)
	}
	if got := h.eng.last(); got != `SetConfig r1 {"rate":{"high":null,"normal":10,"low":null,"per_uid":null},"ring":null}` {
		t.Errorf("call %s", got)
	}
	h.expect(h.do("PUT", "/v1/rooms/r1/config", "admin", `{"ring":{"system":512,"low":64},"rate":{"high":0.5,"per_uid":2}}`), 200, "")
	if got := h.eng.last(); got != `SetConfig r1 {"rate":{"high":0.5,"normal":null,"low":null,"per_uid":2},"ring":{"system":512,"high":null,"normal":null,"low":64}}` {
		t.Errorf("call %s", got)
	}
	h.expect(h.do("PUT", "/v1/rooms/r1/config", "admin", `{}`), 200, "")

	n := h.eng.ncalls()
	for _, body := range []string{
		``, `[]`, `{"rate":{"normal":"10"}}`, `{"rate":5}`, `{"ring":{"normal":1.5}}`,
		`{"rate":{"normal":-1}}`, `{"ring":{"normal":0}}`, `{"ring":{"normal":100000000}}`,
		`{"rates":{"normal":10}}`, `{"rate":{"nromal":10}}`, `{"rate":{"normal":10}} x`,
	} {
		h.expect(h.do("PUT", "/v1/rooms/r1/config", "admin", body), 400, "bad_request")
	}
	if h.eng.ncalls() != n {
		t.Errorf("a bad config reached the engine: %s", h.eng.last())
	}
}

func TestHTTPModeration(t *testing.T) {
	h := newHarness(t, nil)
	f := func(method, path, body, wantCall string) {
		t.Helper()
		r := h.do(method, path, "api", body)
		h.expect(r, 200, "")
		if r.body != `{"ok":true}` {
			t.Errorf("reply %s", r.body)
		}
		if got := h.eng.last(); got != wantCall {
			t.Errorf("%s %s %s:\n got  %s\n want %s", method, path, body, got, wantCall)
		}
	}
	f("PUT", "/v1/rooms/r1/bans/u1", `{"ttl_s":600}`, "Moderate r1 bans u1 set=true ttl=10m0s")
	f("PUT", "/v1/rooms/r1/bans/u1", ``, "Moderate r1 bans u1 set=true ttl=0s")
	f("PUT", "/v1/rooms/r1/bans/u1", `{}`, "Moderate r1 bans u1 set=true ttl=0s")
	f("PUT", "/v1/rooms/r1/bans/u1", `{"ttl_s":0}`, "Moderate r1 bans u1 set=true ttl=0s")
	f("DELETE", "/v1/rooms/r1/bans/u1", ``, "Moderate r1 bans u1 set=false ttl=0s")
	f("DELETE", "/v1/rooms/r1/bans/u1", `{"ttl_s":"ignored on delete"}`, "Moderate r1 bans u1 set=false ttl=0s")
	f("PUT", "/v1/rooms/r1/mutes/u.2", `{"ttl_s":30}`, "Moderate r1 mutes u.2 set=true ttl=30s")
	f("DELETE", "/v1/rooms/r1/mutes/u.2", ``, "Moderate r1 mutes u.2 set=false ttl=0s")
	f("PUT", "/v1/rooms/r:1/whitelist/u-3", ``, "Moderate r:1 whitelist u-3 set=true ttl=0s")
	f("DELETE", "/v1/rooms/r:1/whitelist/u-3", ``, "Moderate r:1 whitelist u-3 set=false ttl=0s")
	f("DELETE", "/v1/rooms/r1/viewers/u_4", ``, "KickViewer r1 u_4")

	n := h.eng.ncalls()
	for _, body := range []string{`{"ttl_s":-1}`, `{"ttl_s":1.5}`, `{"ttl_s":"600"}`, `{"ttl_s":null,"x":1}`,
		`{"ttl":600}`, `[600]`, `600`, `{"ttl_s":315360001}`, `{"ttl_s":1e3}`, `{`} {
		h.expect(h.do("PUT", "/v1/rooms/r1/mutes/u1", "api", body), 400, "bad_request")
	}
	if h.eng.ncalls() != n {
		t.Errorf("a bad ttl reached the engine: %s", h.eng.last())
	}
}
