package remote

import (
	"sync"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
)

// Endpoint events (a member left, a connection came up) arrive on the event stream's
// goroutines while the remote shuts down: the manager's stop must not pull its connection
// map from under them. Run with -race (before the fix: a DATA RACE on em.connections, or a
// nil map when an event came after stop).
func TestEndpointEventsWhileManagerStops(t *testing.T) {
	for round := 0; round < 20; round++ {
		system := actor.NewActorSystem()
		r := NewRemote(system, Configure("127.0.0.1", 0))
		r.Start()
		var wg sync.WaitGroup
		wg.Add(1)
		started := make(chan struct{})
		go func() {
			defer wg.Done()
			close(started)
			for i := 0; i < 200; i++ {
				r.edpManager.endpointEvent(&EndpointTerminatedEvent{Address: "127.0.0.1:1"})
			}
		}()
		<-started
		r.Shutdown(true)
		wg.Wait()
	}
}
