package loadtest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Posts are spread over the nodes (post n through node n % nodes) and failures are counted by
// cause.
func TestSendersSpreadAndCauses(t *testing.T) {
	hits := make([]int, 2)
	node := func(k int, status int) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits[k]++
			if !strings.HasSuffix(r.URL.Path, "/messages") && !strings.HasSuffix(r.URL.Path, "/notices") {
				t.Errorf("path %s", r.URL.Path)
			}
			w.WriteHeader(status)
			_, _ = w.Write([]byte(`{"ts":1}`))
		}))
	}
	ok, limited := node(0, 200), node(1, 429)
	defer ok.Close()
	defer limited.Close()
	cfg := Config{URL: ok.URL + "," + limited.URL, APIKey: "k", AdminKey: "a"}
	cfg.applyDefaults()
	s := newSenders(cfg)
	for n := range 4 {
		s.post("normal", "r", n)
	}
	s.post("system", "r", 0)
	s.count("normal", "busy")
	sent, errs, causes := s.counts()
	if hits[0] != 3 || hits[1] != 2 {
		t.Errorf("hits %v, want 3 on node 0 (posts 0, 2 and the notice) and 2 on node 1", hits)
	}
	if sent["normal"] != 2 || sent["system"] != 1 || errs["normal"] != 3 {
		t.Errorf("sent %v errors %v", sent, errs)
	}
	if causes["normal: status 429"] != 2 || causes["normal: busy"] != 1 || len(causes) != 2 {
		t.Errorf("causes %v", causes)
	}
	if ts := s.noticeTS()["r"]; len(ts) != 1 || ts[0] != 1 {
		t.Errorf("notice ts %v", ts)
	}
}
