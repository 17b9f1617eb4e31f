package loadtest

import "testing"

func TestClusterConfig(t *testing.T) {
	c := Config{URL: " http://127.0.0.1:18101/, http://127.0.0.1:18102,http://127.0.0.2:18103", Viewers: 10, APIKey: "k", AdminKey: "a"}
	c.applyDefaults()
	if err := c.validate(); err != nil {
		t.Fatal(err)
	}
	f := func(i int, node, ws string, viewers int) {
		t.Helper()
		if got := c.node(i); got != node {
			t.Errorf("node(%d) = %s, want %s", i, got, node)
		}
		if got := c.wsURL(i, "u"); got != ws {
			t.Errorf("wsURL(%d) = %s, want %s", i, got, ws)
		}
		if k := i % 3; c.nodeViewers(k) != viewers {
			t.Errorf("nodeViewers(%d) = %d, want %d", k, c.nodeViewers(k), viewers)
		}
	}
	f(0, "http://127.0.0.1:18101", "ws://127.0.0.1:18101/v1/ws?uid=u", 4)
	f(1, "http://127.0.0.1:18102", "ws://127.0.0.1:18102/v1/ws?uid=u", 3)
	f(2, "http://127.0.0.2:18103", "ws://127.0.0.2:18103/v1/ws?uid=u", 3)
	f(9, "http://127.0.0.1:18101", "ws://127.0.0.1:18101/v1/ws?uid=u", 4)

	one := Config{URL: "http://127.0.0.1:8080"} // a single URL: everything on it, as before
	one.applyDefaults()
	if one.node(7) != "http://127.0.0.1:8080" || one.nodeViewers(0) != one.Viewers {
		t.Errorf("single URL: node %s, viewers %d", one.node(7), one.nodeViewers(0))
	}

	bad := func(url string, pids ...int) {
		t.Helper()
		c := Config{URL: url, APIKey: "k", AdminKey: "a", ServerPIDs: pids}
		c.applyDefaults()
		if err := c.validate(); err == nil {
			t.Errorf("%q %v accepted", url, pids)
		}
	}
	bad("http://127.0.0.1:1,http://10.0.0.1:2") // every node stays on this machine
	bad("http://127.0.0.1:1,http://127.0.0.1:1")
	bad("http://127.0.0.1:1,ws://127.0.0.1:2")
	bad(" , ")
	bad("http://127.0.0.1:1", 0)
}
