package etcd

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/cluster"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// StartMember lists the members (a Get at revision R), then starts a watch. A member that
// registers between the two must still reach the member list: the watch starts at R+1.
func TestMemberRegisteredBeforeTheWatchStartsIsSeen(t *testing.T) {
	endpoint := startEtcd(t)
	p, err := NewWithConfig("/protoactor", clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(true)
	c := newClusterForTest("watch_gap", "127.0.0.1:8001", p)
	topologies := make(chan *cluster.ClusterTopology, 16)
	c.ActorSystem.EventStream.Subscribe(func(m interface{}) {
		if t, ok := m.(*cluster.ClusterTopology); ok {
			topologies <- t
		}
	})

	// StartMember's steps, with another member registering between the list and the watch.
	if err := p.init(c); err != nil {
		t.Fatal(err)
	}
	nodes, err := p.fetchNodes()
	if err != nil {
		t.Fatal(err)
	}
	other := NewNode("watch_gap@other", "127.0.0.1", 8002, nil)
	data, err := other.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.client.Put(context.Background(), p.buildKey("watch_gap", other.ID), string(data)); err != nil {
		t.Fatal(err)
	}
	p.updateNodesWithSelf(nodes)
	p.startWatching()

	deadline := time.After(5 * time.Second)
	for {
		select {
		case top := <-topologies:
			for _, m := range top.Members {
				if m.Id == other.ID {
					return
				}
			}
		case <-deadline:
			t.Fatalf("the member that registered before the watch started never joined")
		}
	}
}

// When the revision to watch from has been compacted away, the provider lists the members
// afresh instead of failing the watch forever.
func TestWatchFromACompactedRevisionListsAfresh(t *testing.T) {
	endpoint := startEtcd(t)
	p, err := NewWithConfig("/protoactor", clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(true)
	c := newClusterForTest("compacted", "127.0.0.1:8003", p)
	topologies := make(chan *cluster.ClusterTopology, 16)
	c.ActorSystem.EventStream.Subscribe(func(m interface{}) {
		if t, ok := m.(*cluster.ClusterTopology); ok {
			topologies <- t
		}
	})
	if err := p.init(c); err != nil {
		t.Fatal(err)
	}
	nodes, err := p.fetchNodes()
	if err != nil {
		t.Fatal(err)
	}
	other := NewNode("compacted@other", "127.0.0.1", 8004, nil)
	data, err := other.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	put, err := p.client.Put(context.Background(), p.buildKey("compacted", other.ID), string(data))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.client.Put(context.Background(), "/unrelated", "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.client.Compact(context.Background(), put.Header.Revision+1); err != nil {
		t.Fatal(err)
	}
	p.updateNodesWithSelf(nodes)
	p.startWatching()

	deadline := time.After(5 * time.Second)
	for {
		select {
		case top := <-topologies:
			for _, m := range top.Members {
				if m.Id == other.ID {
					return
				}
			}
		case <-deadline:
			t.Fatalf("the member list was not fetched again after the compaction")
		}
	}
}

// startEtcd runs a throwaway etcd on free loopback ports for the test; skips without etcd.
func startEtcd(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("etcd")
	if err != nil {
		t.Skip("etcd not installed")
	}
	client, peer := freePort(t), freePort(t)
	clientURL := fmt.Sprintf("http://127.0.0.1:%d", client)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peer)
	cmd := exec.Command(bin, "--name", "test", "--data-dir", t.TempDir(),
		"--listen-client-urls", clientURL, "--advertise-client-urls", clientURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "test="+peerURL, "--log-level", "error")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		if r, err := http.Get(clientURL + "/health"); err == nil {
			_ = r.Body.Close()
			if r.StatusCode == http.StatusOK {
				return fmt.Sprintf("127.0.0.1:%d", client)
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("etcd did not become healthy")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
