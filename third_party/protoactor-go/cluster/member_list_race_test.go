package cluster

import (
	"sync"
	"testing"
)

// The provider updates the member list on its own goroutine while actors read it (the
// placement actor broadcasts to the members, the gossip actor checks a sender is one): every
// reader must see a whole member set. Run with -race.
func TestMemberList_ReadWhileTopologyChanges(t *testing.T) {
	c := newClusterForTest("test-ReadWhileTopologyChanges", nil)
	ml := c.MemberList
	ml.UpdateClusterTopology(newMembersForTest(3))

	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the cluster provider
		defer wg.Done()
		for i := 0; i < 1000; i++ {
			ml.UpdateClusterTopology(newMembersForTest(2 + i%3))
		}
	}()
	for i := 0; i < 1000; i++ { // the actors
		ml.BroadcastEvent(&GrainRequest{}, false)
		_ = ml.ContainsMemberID("memberId-0")
		_ = ml.Length()
		_ = ml.Members().Len()
	}
	wg.Wait()
}
