package loadtest

import "testing"

func TestStampLog(t *testing.T) {
	l := newStampLog()
	l.see("r", "e1", 1, 100)
	l.see("r", "e1", 1, 100) // the same message twice (another viewer): fine
	l.see("r", "e2", 1, 200) // another epoch
	l.see("q", "e1", 1, 300) // another room
	if l.count() != 0 {
		t.Fatalf("%d conflicts among distinct stamps", l.count())
	}
	l.see("r", "e1", 1, 101) // seq 1 of e1 stamped again
	if l.count() != 1 {
		t.Fatalf("%d conflicts, want 1", l.count())
	}
	var none *stampLog
	if none.count() != 0 {
		t.Fatal("a nil log counts")
	}
}
