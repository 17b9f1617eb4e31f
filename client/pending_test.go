package client

import "testing"

func TestPendingSet(t *testing.T) {
	var p pendingSet
	calls := make([]*call, 6)
	for i := range calls {
		calls[i] = &call{}
		p.add(uint64(i+1), calls[i])
	}
	if p.len() != 6 {
		t.Fatalf("len %d", p.len())
	}
	f := func(id uint64, want *call) {
		t.Helper()
		if got := p.take(id); got != want {
			t.Fatalf("take(%d) = %p, want %p", id, got, want)
		}
	}
	f(0, nil)
	f(99, nil)
	f(1, calls[0])
	f(1, nil)
	f(5, calls[4])
	f(2, calls[1])
	p.add(7, calls[0]) // reuses a free inline slot
	if p.len() != 4 {
		t.Fatalf("len %d", p.len())
	}
	f(3, calls[2])
	f(4, calls[3])
	f(6, calls[5])
	if p.more != nil {
		t.Fatal("overflow map kept after emptying")
	}
	p.add(8, calls[1])
	p.add(9, calls[2])
	n := 0
	p.drain(func(*call) { n++ })
	if n != 3 || p.len() != 0 {
		t.Fatalf("drained %d, left %d", n, p.len())
	}
}
