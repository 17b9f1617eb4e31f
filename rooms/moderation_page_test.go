package rooms

import (
	"fmt"
	"testing"
	"time"
)

func TestModerationPage(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	var m Moderation
	for i := range 25 {
		must(t, m.Set(ModOp{List: Mutes, UID: fmt.Sprintf("u%02d", i), Set: true}, t0))
	}
	must(t, m.Set(ModOp{List: Mutes, UID: "u07", Set: true, TTL: time.Second}, t0)) // expires
	must(t, m.Set(ModOp{List: Bans, UID: "other-list", Set: true}, t0))
	now := t0.Add(time.Second)
	var got []string
	after, pages := "", 0
	for {
		page, more := m.Page(Mutes, after, 10, now)
		pages++
		for _, e := range page {
			if e.List != Mutes || !e.Until.IsZero() {
				t.Fatalf("entry %+v", e)
			}
			got = append(got, e.UID)
		}
		if !more {
			break
		}
		after = page[len(page)-1].UID
	}
	if len(got) != 24 || pages != 3 || got[0] != "u00" || got[6] != "u06" || got[7] != "u08" || got[23] != "u24" {
		t.Fatalf("%d pages: %v", pages, got)
	}
	if page, more := m.Page(Mutes, "u24", 10, now); len(page) != 0 || more {
		t.Fatalf("after the last: %v %v", page, more)
	}
	if page, _ := m.Page(List(9), "", 10, now); page != nil {
		t.Fatal("unknown list paged")
	}
}
