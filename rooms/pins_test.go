package rooms

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/liveroom/liveroom/ring"
)

func notice(pinS int) SendRequest {
	return SendRequest{Kind: "notice", Pri: ring.System, Source: FromAdmin, Body: []byte(`{}`), PinS: pinS}
}

func pinnedTS(r *Room, now time.Time) []int64 {
	var out []int64
	for _, m := range r.Pinned(now) {
		out = append(out, m.TS)
	}
	return out
}

// TestPins: pin_until is the stamp plus pin_s; at most MaxPins, a ninth unpins the oldest;
// pins end at pin_until; Unpin stamps the unpin notice once.
func TestPins(t *testing.T) {
	r := NewRoom("r", DefaultConfig())
	var stamps []Stamp
	for i := range MaxPins + 1 {
		m, st, err := r.Accept(notice(60+i), t0.Add(time.Duration(i)*ms))
		must(t, err)
		if m.PinUntil() != st.TS+int64(60+i)*1e6 {
			t.Fatalf("pin_until %d for ts %d and pin_s %d", m.PinUntil(), st.TS, 60+i)
		}
		stamps = append(stamps, st)
	}
	got := pinnedTS(r, t0)
	if len(got) != MaxPins || got[0] != stamps[1].TS || got[MaxPins-1] != stamps[MaxPins].TS {
		t.Fatalf("pinned %v: want the last %d of %v, oldest first", got, MaxPins, stamps)
	}
	// Unpinned messages, plain notices and chat are not pins.
	if _, _, err := r.Accept(notice(0), t0); err != nil {
		t.Fatal(err)
	}
	if len(r.Pinned(t0)) != MaxPins {
		t.Error("a notice without pin_s was pinned")
	}
	// Expiry: the pin of pin_s 61 (stamps[1]) ends first.
	later := time.UnixMicro(stamps[1].TS + 61e6)
	if got := pinnedTS(r, later); len(got) != MaxPins-1 || got[0] != stamps[2].TS {
		t.Fatalf("pinned after the first expiry: %v", got)
	}

	m, st, err := r.Unpin(stamps[3].TS, later)
	must(t, err)
	if m == nil || m.Pri != ring.System || m.Kind != UnpinKind || string(m.Body) != `{"ts":`+itoa(stamps[3].TS)+`}` || st.Seq != m.Seq {
		t.Fatalf("unpin notice %+v", m)
	}
	for _, ts := range pinnedTS(r, later) {
		if ts == stamps[3].TS {
			t.Fatal("still pinned after Unpin")
		}
	}
	_, dup, err := r.Unpin(stamps[3].TS, later)
	if err != nil || !dup.Dup || dup.Seq != st.Seq {
		t.Errorf("a repeated unpin: %+v %v, want the first one's stamp as dup", dup, err)
	}
	for _, ts := range []int64{stamps[0].TS, stamps[1].TS, 12345} { // unpinned by the ninth, expired, never
		if _, _, err := r.Unpin(ts, later); CodeOf(err) != CodeNotFound {
			t.Errorf("unpin of %d: %v, want not_found", ts, err)
		}
	}
}

func TestPinRefused(t *testing.T) {
	r := NewRoom("r", DefaultConfig())
	for _, req := range []SendRequest{
		notice(-1), notice(MaxPinS + 1),
		{Kind: "chat", Pri: ring.Normal, Source: FromServer, Body: []byte(`1`), PinS: 60},
		{Kind: "chat", Pri: ring.High, Source: FromAdmin, Body: []byte(`1`), PinS: 60},
	} {
		if _, _, err := r.Accept(req, t0); CodeOf(err) != CodeBadRequest {
			t.Errorf("%+v: %v, want bad_request", req, err)
		}
	}
	if r.LastSeq() != 0 || len(r.Pinned(t0)) != 0 {
		t.Error("a refused pin was stamped")
	}
	if _, _, err := r.Accept(notice(MaxPinS), t0); err != nil {
		t.Errorf("pin_s %d: %v", MaxPinS, err)
	}
}

// TestPinsAndSpeakerSurviveTheStore: a state saved and restored keeps the pins in force (not
// the expired ones) and every message's name, meta and pin_until.
func TestPinsAndSpeakerSurviveTheStore(t *testing.T) {
	r := NewRoom("r", DefaultConfig())
	_, short, _ := r.Accept(notice(1), t0)
	_, long, _ := r.Accept(notice(3600), t0)
	said, _, err := r.Accept(SendRequest{UID: "u1", Kind: "chat", Pri: ring.High, Source: FromServer, Body: []byte(`1`),
		Name: "Zoë", Meta: []byte(`{"lv":3}`)}, t0)
	must(t, err)
	if said.Name() != "Zoë" || string(said.Meta()) != `{"lv":3}` || said.PinUntil() != 0 {
		t.Fatalf("the message's speaker: %+v", said.Extra)
	}
	now := t0.Add(2 * time.Second) // the 1 s pin is over
	st := r.State(nil, now)
	b, err := json.Marshal(st)
	must(t, err)
	var back State
	must(t, json.Unmarshal(b, &back))
	c := RestoreRoom("r", back, now)
	if got := pinnedTS(c, now); len(got) != 1 || got[0] != long.TS {
		t.Fatalf("restored pins %v, want only %d (not %d, expired)", got, long.TS, short.TS)
	}
	if p := c.Pinned(now)[0]; string(p.Encode()) != string(r.Pinned(now)[0].Encode()) {
		t.Errorf("restored pin encodes as %s, want %s", p.Encode(), r.Pinned(now)[0].Encode())
	}
	sm := StoreMessage(said).Message()
	if string(sm.Encode()) != string(said.Encode()) {
		t.Errorf("stored message %s, want %s", sm.Encode(), said.Encode())
	}
	if c.Empty(now) {
		t.Error("a room with a pin is empty")
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }
