package disthash

import (
	"sync"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	clustering "github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/remote"
)

// Topology changes arrive on the provider's goroutine (the event stream) while requests look
// up their grain's owner on theirs. Run with -race.
func TestManager_GetWhileTopologyChanges(t *testing.T) {
	system := actor.NewActorSystem()
	c := clustering.New(system, clustering.Configure("race", nil, New(), remote.Configure("127.0.0.1", 0)))
	pm := newPartitionManager(c)
	pm.placementActor = system.Root.Spawn(actor.PropsFromFunc(func(actor.Context) {}))

	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the provider
		defer wg.Done()
		for i := 0; i < 500; i++ {
			pm.onClusterTopology(&clustering.ClusterTopology{TopologyHash: uint64(i)})
		}
	}()
	for i := 0; i < 500; i++ { // a request
		if pid := pm.Get(&clustering.ClusterIdentity{Kind: "kind", Identity: "id"}); pid != nil {
			t.Fatalf("an owner without members: %v", pid)
		}
	}
	wg.Wait()
}
