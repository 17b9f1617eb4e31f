package cluster

import (
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/types/known/emptypb"
)

// A cluster client never starts gossiping; Cluster.Shutdown still sets the gracefully-left
// state and stops the gossiper, which must not panic (the throttler is made by StartGossiping).
func TestGossiperNotStartedIsInert(t *testing.T) {
	c := &Cluster{ActorSystem: actor.NewActorSystem()}
	g, err := newGossiper(c)
	if err != nil {
		t.Fatal(err)
	}
	g.SetState(GracefullyLeftKey, &emptypb.Empty{})
	g.SetMapState("k", "m", &emptypb.Empty{})
	g.RemoveMapState("k", "m")
	if keys := g.GetMapKeys("k"); len(keys) != 0 {
		t.Fatalf("keys %v", keys)
	}
	if err := g.SetStateRequest("k", &emptypb.Empty{}); err == nil {
		t.Fatal("SetStateRequest on a gossiper never started: no error")
	}
	g.Shutdown()
}
