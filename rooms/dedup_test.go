package rooms

import (
	"fmt"
	"testing"
)

func TestDedup(t *testing.T) {
	d := NewDedup()
	d.Put("u1", "c1", Stamp{TS: 1, Seq: 1})
	f := func(uid, cmid string, wantOK bool, wantSeq uint64) {
		t.Helper()
		st, ok := d.Get(uid, cmid)
		if ok != wantOK || st.Seq != wantSeq || st.Dup {
			t.Errorf("Get(%q, %q) = %+v %v, want ok %v seq %d", uid, cmid, st, ok, wantOK, wantSeq)
		}
	}
	f("u1", "c1", true, 1)
	f("u2", "c1", false, 0) // the same cmid of another uid
	f("u1", "c2", false, 0)

	d.Put("u1", "", Stamp{TS: 2, Seq: 2})
	f("u1", "", false, 0) // an empty cmid is never de-duplicated
	if d.Len() != 1 {
		t.Errorf("an empty cmid was remembered: len %d", d.Len())
	}

	// Ids may hold any byte: no pair may stand for another.
	d.Put("a\x00b", "c", Stamp{Seq: 3})
	d.Put("a:b", "c", Stamp{Seq: 4})
	f("a", "b\x00c", false, 0)
	f("a", "b:c", false, 0)
	f("a\x00b", "c", true, 3)
	f("a:b", "c", true, 4)
}

func TestDedupEviction(t *testing.T) {
	d := NewDedup()
	d.Put("u", "first", Stamp{Seq: 1})
	for i := 0; i < DedupSize-1; i++ {
		d.Put("v", fmt.Sprint(i), Stamp{Seq: uint64(i + 2)})
	}
	if d.Len() != DedupSize {
		t.Fatalf("len %d, want %d", d.Len(), DedupSize)
	}
	if _, ok := d.Get("u", "first"); !ok {
		t.Fatal("forgot a pair among the last DedupSize")
	}
	// The Get made "first" the most recent: one more pair evicts the oldest other one.
	d.Put("v", "new", Stamp{})
	if _, ok := d.Get("v", "0"); ok {
		t.Error("the least recently used pair was not evicted")
	}
	if _, ok := d.Get("u", "first"); !ok {
		t.Error("a recently used pair was evicted")
	}
	for i := 0; i < DedupSize; i++ {
		d.Put("w", fmt.Sprint(i), Stamp{})
	}
	if _, ok := d.Get("u", "first"); ok || d.Len() != DedupSize {
		t.Errorf("after DedupSize more pairs: first still there %v, len %d", ok, d.Len())
	}
}
