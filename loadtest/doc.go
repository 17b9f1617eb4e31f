// Package loadtest is liveroom's load generator: lean WebSocket viewers that behave like real
// clients (pull on notify with their last next, account every frame, follow the cluster
// through /v1/route and resume with join since), HTTP senders at a fixed rate per priority
// (notices retried with their cmid until acknowledged), worker processes to get past the
// per-process file limit, and the report (JSON, HTML with plots, budgets). It drives one
// server or the nodes of a cluster (viewers and posts spread over the nodes, servers' CPU and
// RSS summed and per pid, each node's /metrics sampled once a second).
//
// Where things are: driver.go (RunWith and its phases), workerproc.go (the driver's end of a
// worker: a process, or in-process over pipes), worker.go (RunWorker: the viewers of one
// worker and the loss check), viewer.go (one viewer's state and its handling of the server's
// frames, shared by the two IO modes), viewer_ws.go (--viewer-io goroutine: a goroutine and a
// websocket.Conn per viewer), viewer_epoll.go (--viewer-io epoll: small structs whose sockets
// wait in one epoll set per worker) and upgrade.go (its handshake), notices.go (which notices a
// viewer received, one bit each), follow.go (which node next, and when), churn.go, stall.go
// (--slow-mode stop), liveness.go (--liveness: a frozen node's silent sessions), senders.go and
// acks.go (posts and their acknowledgements), counters.go and counters_check.go (--likes,
// --counter-posts: the viewers' adds, the backend's gift_value posts and the end check of the
// totals), roomsizes.go (--room-sizes: which viewers join which room, and the figures per
// room-size class), nodemetrics.go (the nodes' /metrics), servers.go (/proc), scan.go (the
// frame scanner), result.go and report.go.
//
// Concurrency contract, goroutine IO: each viewer is one goroutine (its connection's reader,
// which also writes its pulls); a late viewer's delayed pull is written from a timer, under the
// viewer's write mutex; churn closes a joined viewer's connection from the worker's churn
// goroutine through an atomic pointer (Close and WriteControl are safe alongside the reader),
// and a session's liveness timer pings and closes it from the timer's goroutine. With --likes a
// joined session has a second goroutine writing its adds under the write mutex, ended and
// awaited when the session ends. Epoll IO: a viewer's state is touched only under its mutex, by
// the dialer goroutine running its attempt, the handler goroutine serving its socket's event
// or its likes wheel's (likes_epoll.go: one wheel goroutine per worker hands the viewers due to
// the handlers), its join-deadline timer, or the final report (viewer_epoll.go). Either way counters are
// atomics; latency histograms are sharded, each behind its own mutex, and those per room-size
// class sit behind one mutex per class; the rare ones (resumptions, acknowledgements, notice
// numbers, interned strings) sit behind one mutex each. Every goroutine a run starts ends by
// itself within --duration + --drain (plus the connect phase and a few seconds): RunWorker
// returns once its viewers, ticker and churn (or its poller, handlers and dialers) have ended,
// RunWith once its workers, senders, notice retries and node samplers have.
//
// The viewers decode `msgs` frames with a byte scanner, not encoding/json: the generator shares
// the box with the server, and the scanner relies on the server's fixed message encoding and on
// the load test's own bodies (`{"n":N}`), which never contain `{"ts":`.
package loadtest
