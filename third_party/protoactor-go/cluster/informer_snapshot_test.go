package cluster

import (
	"log/slog"
	"strconv"
	"sync"
	"testing"

	"github.com/asynkron/gofun/set"
	"google.golang.org/protobuf/proto"
)

// The gossip actor hands a member state delta to the remote, which marshals it on its
// endpoint writer's goroutine while the actor goes on changing the informer's state. The
// delta must therefore share nothing the informer changes later.

func snapshotTestInformer() *Informer {
	return newInformer("member1", func() set.Set[string] { return set.New[string]() }, 3, 50, slog.Default())
}

func heartbeatWith(actors int) *MemberHeartbeat {
	counts := map[string]int64{}
	for i := 0; i < actors; i++ {
		counts["kind"+strconv.Itoa(i)] = int64(i)
	}
	return &MemberHeartbeat{ActorStatistics: &ActorStatistics{ActorCount: counts}}
}

func TestInformer_MemberStateDeltaIsASnapshot(t *testing.T) {
	t.Parallel()

	i := snapshotTestInformer()
	i.SetState(HeartbeatKey, heartbeatWith(1))

	delta := i.GetMemberStateDelta("member2")
	sent := delta.State.Members["member1"].Values[HeartbeatKey]
	want, err := proto.Marshal(sent)
	if err != nil {
		t.Fatal(err)
	}

	i.SetState(HeartbeatKey, heartbeatWith(5)) // the next gossip tick

	got, err := proto.Marshal(sent)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(sent, mustUnmarshalKeyValue(t, want)) || string(got) != string(want) {
		t.Fatalf("the delta changed after it was built: seq %d, want the value of seq 1", sent.SequenceNumber)
	}
}

// Under -race this reports the race directly; without it, a marshal that overlaps a change
// can fail with "size mismatch" (what the endpoint writer logged with 51 nodes).
func TestInformer_MarshalDeltaWhileStateChanges(t *testing.T) {
	t.Parallel()

	i := snapshotTestInformer()
	i.SetState(HeartbeatKey, heartbeatWith(1))
	i.SetState(TopologyKey, &ClusterTopology{TopologyHash: 1})
	delta := i.GetMemberStateDelta("member2")

	var wg sync.WaitGroup
	errs := make(chan error, 1)
	wg.Add(1)
	go func() { // the endpoint writer
		defer wg.Done()
		for n := 0; n < 2000; n++ {
			if _, err := proto.Marshal(&GossipRequest{FromMemberId: "member1", State: delta.State}); err != nil {
				errs <- err
				return
			}
		}
	}()
	for n := 0; n < 2000; n++ { // the gossip actor, meanwhile
		i.SetState(HeartbeatKey, heartbeatWith(n%7))
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatalf("marshaling the delta while the state changes: %v", err)
	}
}

func mustUnmarshalKeyValue(t *testing.T, b []byte) *GossipKeyValue {
	t.Helper()
	var kv GossipKeyValue
	if err := proto.Unmarshal(b, &kv); err != nil {
		t.Fatal(err)
	}
	return &kv
}
