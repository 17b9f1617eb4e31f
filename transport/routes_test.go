package transport

import (
	"strings"
	"testing"
)

// Every entry of both tables is reached by its own path (no entry before it shadows it), with
// its parameters in order.
func TestRouterEntriesReachable(t *testing.T) {
	fill := strings.NewReplacer("{room}", "r1", "{uid}", "u1", "{name}", "likes", "{ts}", "5", "{profile}", "heap")
	for _, rt := range []*router{publicRouter, adminRouter} {
		for _, r := range rt.all {
			got, p, ok := rt.match(fill.Replace(r.path))
			if !ok || got != r {
				t.Errorf("%s: matched %v", r.path, got)
			}
			if strings.Contains(r.path, "{room}") && p[0] != "r1" {
				t.Errorf("%s: params %q", r.path, p)
			}
		}
	}
}

func TestRouterMatch(t *testing.T) {
	f := func(path, want string, p params) {
		t.Helper()
		r, got, ok := publicRouter.match(path)
		switch {
		case want == "" && ok:
			t.Errorf("%q matched %s", path, r.path)
		case want != "" && (!ok || r.path != want || got != p):
			t.Errorf("%q: %v %q, want %s %q", path, r, got, want, p)
		}
	}
	f("/v1/rooms/r1/counters/likes", "/v1/rooms/{room}/counters/{name}", params{"r1", "likes"})
	f("/v1/rooms/r1/bans/u1", "/v1/rooms/{room}/bans/{uid}", params{"r1", "u1"})
	f("/v1/rooms/r1/bans", "/v1/rooms/{room}/bans", params{"r1"})
	f("/v1/rooms/", "/v1/rooms/{room}", params{""}) // an empty id: the handler answers 400
	f("/v1/bans/", "/v1/bans/{uid}", params{""})
	f("/", "/", params{})
	f("/v1/rooms", "/v1/rooms", params{})
	f("/v1/rooms/r1/", "", params{})
	f("/v1/rooms/r1/bans/u1/x", "", params{})
	f("/v1/rooms/r1/counters/likes/x/y", "", params{}) // more segments than any entry
	f("/healthz/", "", params{})
	f("", "", params{})
	f("v1/rooms", "", params{})
}
