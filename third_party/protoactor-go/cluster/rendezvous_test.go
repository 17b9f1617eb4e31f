package cluster

import (
	"fmt"
	"runtime"
	"testing"
)

// Identities spread evenly over members whose addresses differ in their last digit only (one
// host, ports 18202, 18204, 18206): each of 3 members gets within 10 % of a third of 5,000.
func TestRendezvousBalanced(t *testing.T) {
	members := Members{}
	for _, port := range []int32{18202, 18204, 18206} {
		members = append(members, &Member{Id: fmt.Sprint(port), Host: "127.0.0.1", Port: port, Kinds: []string{"room"}})
	}
	r := NewRendezvous()
	r.UpdateMembers(members)
	counts := map[string]int{}
	for i := 0; i < 5000; i++ {
		counts[r.GetByClusterIdentity(&ClusterIdentity{Kind: "room", Identity: fmt.Sprintf("lt-r%d", i)})]++
	}
	if len(counts) != 3 {
		t.Fatalf("identities on %d members: %v", len(counts), counts)
	}
	for addr, n := range counts {
		if n < 1500 || n > 1833 {
			t.Errorf("%s holds %d of 5000 identities (counts %v)", addr, n, counts)
		}
	}
}

func Benchmark_Rendezvous_Get(b *testing.B) {

	for _, v := range []int{1, 2, 3, 5, 10, 100, 1000, 2000} {
		members := newMembersForTest(v)
		ms := newDefaultMemberStrategy(nil, "kind").(*simpleMemberStrategy)
		for _, member := range members {
			ms.AddMember(member)
		}
		obj := NewRendezvous()
		obj.UpdateMembers(members)
		testName := fmt.Sprintf("member*%d", v)
		runtime.GC()
		b.Run(testName, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				address := obj.GetByIdentity("kind/0123456789abcdefghijklmnopqrstuvwxyz")
				if address == "" {
					b.Fatalf("empty address res=%d", len(members))
				}
			}
		})
	}
}
