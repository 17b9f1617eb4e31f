package rooms

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/liveroom/liveroom/ring"
)

func TestStoredMessageRoundTrip(t *testing.T) {
	for _, m := range []*ring.Message{
		{TS: 1, Seq: 1, Pri: ring.System, Kind: "notice", Body: json.RawMessage(`{"a":[1,"x"]}`)},
		{TS: 2, Seq: 2, Pri: ring.High, Kind: "gift", UID: "u:1", CMID: "c\"<&>\x00", Body: json.RawMessage(`"s"`)},
		{TS: 3, Seq: 3, Pri: ring.High, Kind: "k"}, // no body
	} {
		m.Encode()
		b, err := json.Marshal(StoreMessage(m))
		must(t, err)
		var sm StoredMessage
		must(t, json.Unmarshal(b, &sm))
		got := sm.Message()
		if string(got.Encoded) != string(m.Encoded) || got.TS != m.TS || got.Seq != m.Seq || got.Pri != m.Pri || got.UID != m.UID || got.CMID != m.CMID {
			t.Errorf("round trip of %s gave %+v (%s)", m.Encoded, got, got.Encoded)
		}
	}
}

func TestStateRoundTrip(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Rate.Normal, cfg.Ring.High = 7, 64
	r := NewRoom("r", cfg)
	must(t, r.Moderate(ModOp{List: Bans, UID: "x", Set: true}, t0))
	must(t, r.Moderate(ModOp{List: Mutes, UID: "m", Set: true, TTL: time.Hour}, t0))
	must(t, r.Moderate(ModOp{List: Whitelist, UID: "gone", Set: true, TTL: time.Second}, t0))
	notice, _, err := r.Accept(SendRequest{Kind: "notice", Pri: ring.System, Body: json.RawMessage(`{"a":1}`), Source: FromAdmin}, t0)
	must(t, err)
	_, _, err = r.Accept(send("u", ring.Normal, FromViewer, "c1"), t0)
	must(t, err)

	st := r.State([]*ring.Message{notice}, t0.Add(time.Minute))
	b, err := json.Marshal(st)
	must(t, err)
	var got State
	must(t, json.Unmarshal(b, &got))
	want := State{
		Epoch: r.Epoch(), LastTS: r.LastTS(), LastSeq: 2, Config: cfg,
		Moderation: []ModEntry{{Bans, "x", time.Time{}}, {Mutes, "m", t0.Add(time.Hour)}}, // the expired whitelist entry is left out
		Protected:  []StoredMessage{StoreMessage(notice)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("state through JSON\n got %+v\nwant %+v", got, want)
	}

	r2 := RestoreRoom("r", got, t0.Add(time.Minute))
	if r2.ID() != "r" || r2.Epoch() != r.Epoch() || r2.Config() != cfg || r2.LastTS() != r.LastTS() || r2.LastSeq() != 2 {
		t.Fatalf("restored %s/%s %+v %d/%d", r2.ID(), r2.Epoch(), r2.Config(), r2.LastTS(), r2.LastSeq())
	}
	if !r2.Banned("x", t0.Add(time.Minute)) {
		t.Error("the ban was lost")
	}
	if _, _, err := r2.Accept(send("m", ring.Normal, FromViewer, ""), t0.Add(time.Minute)); CodeOf(err) != CodeMuted {
		t.Errorf("the mute was lost: %v", err)
	}
	// ts/seq continue, even with a clock behind the stored history.
	m, _, err := r2.Accept(send("u", ring.Normal, FromViewer, ""), t0.Add(-time.Hour))
	must(t, err)
	if m.Seq != 3 || m.TS <= r.LastTS() {
		t.Errorf("restored room stamped %d/%d after %d/%d", m.TS, m.Seq, r.LastTS(), r.LastSeq())
	}
	if st := r2.Stats(); st != (Stats{Accepted: 1}) {
		t.Errorf("a restored room's counters start from zero: %+v", st)
	}
}

func TestRestoreOddStates(t *testing.T) {
	// No epoch: a new one, the stamps still continue. An invalid config: the defaults.
	r := RestoreRoom("r", State{LastTS: 100, LastSeq: 5, Config: Config{}}, t0)
	if r.Epoch() == "" || r.Config() != DefaultConfig() || r.LastTS() != 100 || r.LastSeq() != 5 {
		t.Errorf("restored %q %+v %d/%d", r.Epoch(), r.Config(), r.LastTS(), r.LastSeq())
	}
	// Moderation entries a room could not have written are left out, the rest kept.
	r = RestoreRoom("r", State{Epoch: "e", Config: DefaultConfig(), Moderation: []ModEntry{{List: 8, UID: "a"}, {Bans, "b", time.Time{}}}}, t0)
	if !r.Banned("b", t0) {
		t.Error("the good entry was lost")
	}
}

func TestNewRoom(t *testing.T) {
	a, b := NewRoom("a", DefaultConfig()), NewRoom("b", Config{})
	if a.Epoch() == "" || a.Epoch() == b.Epoch() {
		t.Errorf("epochs %q %q", a.Epoch(), b.Epoch())
	}
	if b.Config() != DefaultConfig() {
		t.Errorf("an invalid config was kept: %+v", b.Config())
	}
	m, _, err := a.Accept(send("u", ring.Normal, FromViewer, ""), t0)
	must(t, err)
	if m.Seq != 1 || m.TS != t0.UnixMicro() {
		t.Errorf("first message %d/%d", m.TS, m.Seq)
	}
	if st := a.State(nil, t0); st.Protected != nil || st.Moderation != nil || st.LastSeq != 1 {
		t.Errorf("state %+v", st)
	}
}
