package remote

import (
	"testing"

	"github.com/asynkron/protoactor-go/actor"
)

// Several remotes in one process (in-process cluster tests): each Start used to replace grpc's
// process-wide logger while the gRPC servers already started were logging. Run with -race.
func TestStartingRemotesInOneProcess(t *testing.T) {
	var remotes []*Remote
	for i := 0; i < 4; i++ {
		r := NewRemote(actor.NewActorSystem(), Configure("127.0.0.1", 0))
		r.Start()
		remotes = append(remotes, r)
	}
	for _, r := range remotes {
		r.Shutdown(true)
	}
}
