package rooms

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/liveroom/liveroom/ring"
)

func send(uid string, pri ring.Priority, src Source, cmid string) SendRequest {
	return SendRequest{UID: uid, Kind: "chat", Pri: pri, Body: json.RawMessage(`{"t":1}`), CMID: cmid, Source: src}
}

// TestAcceptDecisions runs every source x priority for a plain, whitelisted, muted, banned and
// whitelisted-and-muted uid, and for no uid. A result letter is the stamped priority
// (L N H S) or the refusal: F forbidden, M muted, B banned.
func TestAcceptDecisions(t *testing.T) {
	rows := []struct {
		uid                   string
		viewer, server, admin string // results for low, normal, high, system
		unknownSource         string
	}{
		{"plain", "LNFF", "LNHF", "LNHS", "LNFF"},
		{"", "LNFF", "LNHF", "LNHS", "LNFF"},
		{"vip", "HHHF", "HHHF", "HHHS", "HHHF"},
		{"muted", "MMMM", "MMMM", "MMMM", "MMMM"},
		{"banned", "BBBB", "BBBB", "BBBB", "BBBB"},
		{"vip-muted", "MMMM", "MMMM", "MMMM", "MMMM"},
		{"banned-muted", "BBBB", "BBBB", "BBBB", "BBBB"},
	}
	letter := func(m *ring.Message, _ Stamp, err error) string {
		switch CodeOf(err) {
		case CodeForbidden:
			return "F"
		case CodeMuted:
			return "M"
		case CodeBanned:
			return "B"
		}
		if err != nil || m == nil {
			return fmt.Sprintf("?%v", err)
		}
		return strings.ToUpper(m.Pri.String()[:1])
	}
	for _, row := range rows {
		r := NewRoom("r", DefaultConfig())
		for _, op := range []ModOp{
			{List: Whitelist, UID: "vip"}, {List: Mutes, UID: "muted"}, {List: Bans, UID: "banned"},
			{List: Whitelist, UID: "vip-muted"}, {List: Mutes, UID: "vip-muted"},
			{List: Bans, UID: "banned-muted"}, {List: Mutes, UID: "banned-muted"},
		} {
			op.Set = true
			must(t, r.Moderate(op, t0))
		}
		for _, col := range []struct {
			src  Source
			want string
		}{{FromViewer, row.viewer}, {FromServer, row.server}, {FromAdmin, row.admin}, {Source(9), row.unknownSource}} {
			got := ""
			for pri := ring.Low; pri <= ring.System; pri++ {
				got += letter(r.Accept(send(row.uid, pri, col.src, ""), t0))
			}
			if got != col.want {
				t.Errorf("uid %q source %d: got %s want %s", row.uid, col.src, got, col.want)
			}
		}
	}
}

func TestAcceptBadRequests(t *testing.T) {
	r := NewRoom("r", DefaultConfig())
	f := func(name string, req SendRequest, wantOK bool) {
		t.Helper()
		m, _, err := r.Accept(req, t0)
		if wantOK != (err == nil) {
			t.Errorf("%s: err %v", name, err)
		}
		if !wantOK && (CodeOf(err) != CodeBadRequest || m != nil) {
			t.Errorf("%s: %v, want bad_request", name, err)
		}
	}
	req := send("u", ring.Normal, FromServer, "")
	f("valid", req, true)
	for _, c := range []struct {
		name   string
		change func(*SendRequest)
		ok     bool
	}{
		{"empty kind", func(q *SendRequest) { q.Kind = "" }, false},
		{"kind of 32", func(q *SendRequest) { q.Kind = strings.Repeat("k", 32) }, true},
		{"kind of 33", func(q *SendRequest) { q.Kind = strings.Repeat("k", 33) }, false},
		{"unknown priority", func(q *SendRequest) { q.Pri = ring.NumPriorities }, false},
		{"body not JSON", func(q *SendRequest) { q.Body = json.RawMessage(`{"a":`) }, false},
		{"no body", func(q *SendRequest) { q.Body = nil }, true},
	} {
		q := req
		c.change(&q)
		f(c.name, q, c.ok)
	}
	// The kind is checked first: even a banned uid gets bad_request for a bad kind.
	must(t, r.Moderate(ModOp{List: Bans, UID: "b", Set: true}, t0))
	q := send("b", ring.Normal, FromViewer, "")
	q.Kind = ""
	f("bad kind from a banned uid", q, false)
}

func TestAcceptStampsAndEncodes(t *testing.T) {
	r := NewRoom("r", DefaultConfig())
	must(t, r.Moderate(ModOp{List: Whitelist, UID: "vip", Set: true}, t0))
	if r.LastTS() != 0 || r.LastSeq() != 0 {
		t.Fatalf("a new room has stamped %d/%d", r.LastTS(), r.LastSeq())
	}
	m, st, err := r.Accept(send("vip", ring.Low, FromViewer, "c-1"), t0)
	must(t, err)
	want := fmt.Sprintf(`{"ts":%d,"seq":1,"pri":"high","kind":"chat","uid":"vip","cmid":"c-1","body":{"t":1}}`, t0.UnixMicro())
	if string(m.Encoded) != want {
		t.Errorf("encoded\n got %s\nwant %s", m.Encoded, want)
	}
	if st != (Stamp{TS: m.TS, Seq: m.Seq}) || r.LastTS() != m.TS || r.LastSeq() != 1 {
		t.Errorf("stamp %+v, last %d/%d", st, r.LastTS(), r.LastSeq())
	}
	// Every priority takes the next seq; ts keeps increasing when the clock steps back.
	prev := m
	for i, req := range []SendRequest{
		send("u", ring.Normal, FromViewer, ""), send("", ring.System, FromAdmin, ""),
		send("u", ring.Low, FromViewer, ""), send("s", ring.High, FromServer, ""),
	} {
		m, _, err := r.Accept(req, t0.Add(-time.Duration(i)*time.Second))
		must(t, err)
		if m.Seq != prev.Seq+1 || m.TS <= prev.TS {
			t.Errorf("message %d stamped %d/%d after %d/%d", i, m.TS, m.Seq, prev.TS, prev.Seq)
		}
		prev = m
	}
}

func TestAcceptRateLimits(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Rate = RateConfig{Low: 1, Normal: 2, High: 3, PerUID: 100}
	r := NewRoom("r", cfg)
	must(t, r.Moderate(ModOp{List: Whitelist, UID: "vip", Set: true}, t0))
	// count sends until the first refusal (at most 10) and checks it is rate_limited.
	count := func(req SendRequest, now time.Time) int {
		t.Helper()
		for n := 0; n < 10; n++ {
			if _, _, err := r.Accept(req, now); err != nil {
				if CodeOf(err) != CodeRateLimited {
					t.Fatalf("%+v: %v", req, err)
				}
				return n
			}
		}
		return 10
	}
	f := func(name string, req SendRequest, now time.Time, want int) {
		t.Helper()
		if got := count(req, now); got != want {
			t.Errorf("%s: %d accepted, want %d", name, got, want)
		}
	}
	f("low", send("u", ring.Low, FromViewer, ""), t0, 1)
	f("normal", send("u", ring.Normal, FromViewer, ""), t0, 2)
	f("high", send("s", ring.High, FromServer, ""), t0, 3)
	f("a whitelisted uid spends the high bucket", send("vip", ring.Normal, FromViewer, ""), t0, 0)
	f("system is never limited", send("", ring.System, FromAdmin, ""), t0, 10)
	f("half a second refills one normal", send("u", ring.Normal, FromViewer, ""), t0.Add(500*ms), 1)
	f("a second refills the whitelisted", send("vip", ring.Normal, FromViewer, ""), t0.Add(time.Second), 3)

	st := r.Stats()
	if st.Accepted != 1+2+3+10+1+3 || st.RateLimited != 6 {
		t.Errorf("stats %+v", st)
	}
	if r.LastSeq() != st.Accepted {
		t.Errorf("seq %d after %d accepted: not gapless", r.LastSeq(), st.Accepted)
	}

	// A new config changes the buckets' rates.
	cfg.Rate.Low = 0
	cfg.Rate.Normal = 5
	r.SetConfig(cfg, t0.Add(2*time.Second))
	f("low at rate 0", send("u", ring.Low, FromViewer, ""), t0.Add(time.Hour), 0)
	f("normal raised to 5", send("u", ring.Normal, FromViewer, ""), t0.Add(time.Hour), 5)
	if r.Config() != cfg {
		t.Errorf("config %+v", r.Config())
	}
}

// One viewer cannot starve a room's chat: its WebSocket sends also spend a bucket of its own
// (rate.per_uid), so an honest viewer still gets its share of the room's lane; backend posts
// and protected messages do not spend it.
func TestAcceptPerUIDShare(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Rate.Normal, cfg.Rate.PerUID = 20, 3
	r := NewRoom("r", cfg)
	must(t, r.Moderate(ModOp{List: Whitelist, UID: "vip", Set: true}, t0))
	accepted := map[string]int{}
	// Over one second a flooder offers 400 messages, an honest viewer 2, interleaved.
	for i := 0; i < 400; i++ {
		now := t0.Add(time.Duration(i) * 2500 * time.Microsecond)
		for _, uid := range []string{"flood", "honest"} {
			if uid == "honest" && i%200 != 0 {
				continue
			}
			_, _, err := r.Accept(send(uid, ring.Normal, FromViewer, ""), now)
			switch {
			case err == nil:
				accepted[uid]++
			case CodeOf(err) != CodeRateLimited:
				t.Fatal(err)
			}
		}
	}
	// The flooder gets its burst (3) and its rate (3/s over the second): about 6; the honest
	// viewer both of its messages.
	if accepted["flood"] > 7 || accepted["honest"] != 2 {
		t.Fatalf("accepted %v: want the flooder at most 7 and the honest viewer 2", accepted)
	}
	// The backend posting for a uid and a whitelisted viewer are not held to the share.
	for i := 0; i < 10; i++ {
		if _, _, err := r.Accept(send("flood", ring.Normal, FromServer, ""), t0.Add(2*time.Second)); err != nil {
			t.Fatalf("backend post %d: %v", i, err)
		}
		if _, _, err := r.Accept(send("vip", ring.Normal, FromViewer, ""), t0.Add(3*time.Second)); err != nil && i < 5 {
			t.Fatalf("whitelisted send %d: %v", i, err)
		}
	}
	// A state saved before per_uid existed loads with its default, not 0.
	var c Config
	must(t, json.Unmarshal([]byte(`{"rate":{"high":1,"normal":2,"low":3},"ring":{"system":1,"high":1,"normal":1,"low":1}}`), &c))
	if c.Rate.PerUID != DefaultConfig().Rate.PerUID || c.Rate.Normal != 2 {
		t.Fatalf("old config loaded as %+v", c.Rate)
	}
}

// A new room's buckets run on the caller's clock, whatever time it is.
func TestAcceptOnTheCallersClock(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Rate.Normal = 1
	r := NewRoom("r", cfg)
	past := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, want := range []bool{true, false, true} {
		_, _, err := r.Accept(send("u", ring.Normal, FromViewer, ""), past.Add(time.Duration(i/2)*time.Second))
		if (err == nil) != want {
			t.Errorf("send %d: %v", i, err)
		}
	}
}

func TestAcceptDedup(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Rate.Normal = 1
	r := NewRoom("r", cfg)
	first, orig, err := r.Accept(send("u", ring.Normal, FromViewer, "c1"), t0)
	must(t, err)
	// Repeats answer the original stamp, take no token, are not counted.
	for i := 0; i < 3; i++ {
		m, st, err := r.Accept(send("u", ring.Normal, FromViewer, "c1"), t0.Add(time.Duration(i)*ms))
		if err != nil || m != nil || st != (Stamp{TS: orig.TS, Seq: orig.Seq, Dup: true}) {
			t.Fatalf("repeat %d: %v %+v %v", i, m, st, err)
		}
	}
	if st := r.Stats(); st.Accepted != 1 || st.RateLimited != 0 || r.LastSeq() != 1 {
		t.Errorf("after repeats: stats %+v seq %d", st, r.LastSeq())
	}
	// The same cmid from another uid is another message (and meets the empty bucket).
	if _, _, err := r.Accept(send("v", ring.Normal, FromViewer, "c1"), t0); CodeOf(err) != CodeRateLimited {
		t.Fatalf("other uid's c1: %v", err)
	}
	// A refused message is not remembered: its retry is a new message.
	m, st, err := r.Accept(send("v", ring.Normal, FromViewer, "c1"), t0.Add(time.Second))
	if err != nil || m == nil || st.Dup || st.Seq != 2 {
		t.Fatalf("retry after the refusal: %v %+v %v", m, st, err)
	}
	// Moderation and permissions come before the de-dup.
	must(t, r.Moderate(ModOp{List: Mutes, UID: "u", Set: true, TTL: time.Second}, t0))
	if _, _, err := r.Accept(send("u", ring.Normal, FromViewer, "c1"), t0); CodeOf(err) != CodeMuted {
		t.Errorf("muted repeat: %v", err)
	}
	if _, _, err := r.Accept(send("u", ring.High, FromViewer, "c1"), t0.Add(time.Second)); CodeOf(err) != CodeForbidden {
		t.Errorf("forbidden repeat: %v", err)
	}
	if _, st, err := r.Accept(send("u", ring.Normal, FromViewer, "c1"), t0.Add(time.Second)); err != nil || !st.Dup || st.Seq != first.Seq {
		t.Errorf("repeat after the mute expired: %+v %v", st, err)
	}
}

func TestModerationInAccept(t *testing.T) {
	r := NewRoom("r", DefaultConfig())
	must(t, r.Moderate(ModOp{List: Bans, UID: "b", Set: true, TTL: 10 * time.Second}, t0))
	must(t, r.Moderate(ModOp{List: Whitelist, UID: "w", Set: true, TTL: 10 * time.Second}, t0))
	f := func(uid string, at time.Duration, wantCode Code, wantPri ring.Priority) {
		t.Helper()
		m, _, err := r.Accept(send(uid, ring.Normal, FromViewer, ""), t0.Add(at))
		if CodeOf(err) != wantCode && !(wantCode == "" && err == nil) {
			t.Errorf("%s at +%v: err %v, want %q", uid, at, err, wantCode)
		}
		if wantCode == "" && (m == nil || m.Pri != wantPri) {
			t.Errorf("%s at +%v: %+v, want pri %v", uid, at, m, wantPri)
		}
	}
	f("b", 9*time.Second, CodeBanned, 0)
	f("b", 10*time.Second, "", ring.Normal)
	f("w", 9*time.Second, "", ring.High)
	f("w", 10*time.Second, "", ring.Normal)
	must(t, r.Moderate(ModOp{List: Bans, UID: "b", Set: true}, t0.Add(time.Minute)))
	if !r.Banned("b", t0.Add(time.Hour)) || r.Banned("w", t0) {
		t.Error("Banned disagrees with the lists")
	}
	if err := r.Moderate(ModOp{List: 9, UID: "x", Set: true}, t0); CodeOf(err) != CodeBadRequest {
		t.Errorf("bad list: %v", err)
	}
}

func TestStatsRef(t *testing.T) {
	r := NewRoom("r", DefaultConfig())
	r.StatsRef().Evicted += 3
	r.StatsRef().Pulls++
	_, _, err := r.Accept(send("u", ring.Normal, FromViewer, ""), t0)
	must(t, err)
	if st := r.Stats(); st != (Stats{Accepted: 1, Evicted: 3, Pulls: 1}) {
		t.Errorf("stats %+v", st)
	}
}
