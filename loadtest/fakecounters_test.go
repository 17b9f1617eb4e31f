package loadtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

// The fake cluster's counters (PROTOCOL.md 8.4), as much as the load tester uses: the add op
// without id (delta 1..100, at most 20 a second per session and room, over that an error
// without id),
// conflated counters frames (every 50 ms when changed), joined and GET /v1/rooms/{room}
// carrying the totals, and POST /v1/rooms/{room}/counters/{name}.

// fakeAddRate is a session's adds to one room in the current second.
type fakeAddRate struct {
	sec int64
	n   int
}

// fakeCountersJSON encodes totals as the server does, names sorted (c.mu held).
func fakeCountersJSON(cnt map[string]int64) string {
	names := make([]string, 0, len(cnt))
	for k := range cnt {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:%d", k, cnt[k])
	}
	b.WriteByte('}')
	return b.String()
}

// addCounter adds delta to room's counter name (c.mu held).
func (c *fakeCluster) addCounter(room, name string, delta int64) int64 {
	rm := c.roomLocked(room)
	if rm.counters == nil {
		rm.counters = map[string]int64{}
	}
	rm.counters[name] += delta
	return rm.counters[name]
}

// add is a viewer's add without id.
func (s *fakeSession) add(room, name string, delta int64) {
	c := s.n.c
	c.mu.Lock()
	if !s.rooms[room] {
		c.mu.Unlock()
		s.write(`{"op":"error","code":"not_joined","message":"join first"}`)
		return
	}
	if delta < 1 || delta > 100 {
		c.mu.Unlock()
		s.write(`{"op":"error","code":"bad_request","message":"delta must be an integer from 1 to 100"}`)
		return
	}
	if c.refuseAdd != nil && c.refuseAdd(delta) {
		c.mu.Unlock()
		s.write(`{"op":"error","code":"rate_limited","message":"refused by the test"}`)
		return
	}
	r := s.addRate[room]
	if r == nil {
		r = &fakeAddRate{}
		s.addRate[room] = r
	}
	if now := time.Now().Unix(); now != r.sec {
		r.sec, r.n = now, 0
	}
	r.n++
	if r.n > 20 {
		c.mu.Unlock()
		s.write(`{"op":"error","code":"rate_limited","message":"at most 20 adds per second"}`)
		return
	}
	rm := c.roomLocked(room)
	rm.adds++
	if c.loseAdd == nil || !c.loseAdd(rm.adds) {
		c.addCounter(room, name, delta)
	}
	c.mu.Unlock()
}

// startCounters writes the room's counters frame to the session every 50 ms when it changed
// since the last one (or the joined), until stop is closed.
func (s *fakeSession) startCounters(room string, stop chan struct{}) {
	c := s.n.c
	if c.muteCnt != nil && c.muteCnt(s.uid) {
		return
	}
	c.mu.Lock()
	last := fakeCountersJSON(c.roomLocked(room).counters)
	c.mu.Unlock()
	go func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			c.mu.Lock()
			cur := fakeCountersJSON(c.roomLocked(room).counters)
			c.mu.Unlock()
			if cur != last {
				last = cur
				s.write(`{"op":"counters","room":"` + room + `","counters":` + cur + `,"online":1}`)
			}
		}
	}()
}

// serveCounters answers GET /v1/rooms/{room} and POST /v1/rooms/{room}/counters/{name};
// false for any other request.
func (c *fakeCluster) serveCounters(w http.ResponseWriter, r *http.Request) bool {
	parts := strings.Split(r.URL.Path, "/") // "", v1, rooms, R[, counters, name]
	switch {
	case len(parts) == 4 && parts[2] == "rooms" && r.Method == "GET":
		c.mu.Lock()
		cnt := fakeCountersJSON(c.roomLocked(parts[3]).counters)
		c.mu.Unlock()
		fmt.Fprintf(w, `{"room":%q,"online":1,"counters":%s}`, parts[3], cnt)
	case len(parts) == 6 && parts[2] == "rooms" && parts[4] == "counters" && r.Method == "POST":
		var body struct {
			Delta int64 `json:"delta"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), 400)
			return true
		}
		if fail := c.failPost; fail != nil {
			if st := fail(r.URL.Path, 0); st != 0 {
				http.Error(w, `{"error":{"code":"unavailable"}}`, st)
				return true
			}
		}
		c.mu.Lock()
		v := c.addCounter(parts[3], parts[5], body.Delta)
		c.mu.Unlock()
		fmt.Fprintf(w, `{"value":%d}`, v)
	default:
		return false
	}
	return true
}
