package remote

import (
	"errors"
	"sync"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/grpc"
)

// failingStream is a reader's stream whose Recv fails once released (the peer went away).
type failingStream struct {
	grpc.ServerStream
	release <-chan struct{}
}

func (s *failingStream) Recv() (*RemoteMessage, error) {
	<-s.release
	return nil, errors.New("connection reset")
}

func (*failingStream) Send(*RemoteMessage) error { return nil }

// Readers whose streams fail while the endpoint manager stops (peers shutting down together)
// must not make the manager's stop panic ("send on closed channel").
func TestEndpointReadersEndingWhileManagerStops(t *testing.T) {
	for round := 0; round < 200; round++ {
		r := NewRemote(actor.NewActorSystem(), Configure("127.0.0.1", 0))
		r.Start()
		release := make(chan struct{})
		var readers sync.WaitGroup
		for i := 0; i < 50; i++ {
			readers.Add(1)
			go func() {
				defer readers.Done()
				_ = r.edpReader.Receive(&failingStream{release: release})
			}()
		}
		for n := 0; n < 50; { // every reader has registered its connection
			n = 0
			r.edpManager.endpointReaderConnections.Range(func(any, any) bool { n++; return true })
		}
		close(release)
		r.Shutdown(true)
		readers.Wait()
	}
}
