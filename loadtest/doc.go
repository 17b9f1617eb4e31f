// Package loadtest is liveroom's load generator: lean WebSocket viewers that behave like real
// clients (pull on notify with their last next, account every seq, resume after a kick), HTTP
// senders at a fixed rate per priority, worker processes to get past the per-process file
// limit, and the report (JSON, HTML with plots, budgets). It drives one server or the nodes of a
// cluster (viewers and posts spread over the nodes, servers' CPU and RSS summed and per pid).
//
// Concurrency contract: each viewer is one goroutine (its connection's reader, which also
// writes its pulls); counters are atomics; histograms are sharded, each behind its own mutex.
// A worker's Run returns when its context ends, with every viewer goroutine joined.
//
// The viewers decode `msgs` frames with a byte scanner, not encoding/json: the generator shares
// the box with the server, and the scanner relies on the server's fixed message encoding and on
// the load test's own bodies (`{"n":N}`), which never contain `{"ts":`.
package loadtest
