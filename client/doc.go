// Package client is liveroom's Go client, written from PROTOCOL.md sections 3-5 alone. It is
// what the project's end-to-end tests and the load tester (liveroom-loadtest) speak, so the
// cost of an idle connection is kept small: a load tester opens ~19k of them per process.
//
// It has four parts:
//
//   - Conn (conn.go, requests.go): one WebSocket session. Dial upgrades, reads the server's
//     hello, then starts exactly one reader goroutine. Join, Leave, Pull, Send and Ping write
//     a frame with a fresh id and wait for the reply carrying that id (or for ctx, or for the
//     connection to end). Server-initiated frames (notify, kick, close) are handed to the
//     callbacks of DialOptions.
//   - Viewer (viewer.go, account.go): a well-behaved viewer built on Conn. It joins rooms,
//     pulls on notify by its last next, accounts every seq (len(msgs)+dropped must equal the
//     seq advance), survives epoch changes, and reconnects with exponential backoff and
//     jitter, resuming each room with join since = last next.
//   - API (api.go): the HTTP API of section 5 for the app's backend and admins.
//   - Cluster (cluster.go): finds a viewer's node among several (GET /v1/route?uid=), for
//     ViewerOptions.Resolve.
//
// In a cluster, a viewer whose node dies reconnects to another live node with the usual
// backoff and resumes (join since): the resolver keeps off the URL the viewer just used for a
// few seconds, since a killed node stays in the cluster's directory until its heartbeats
// expire (e2e TestClientFailover measures ~0.1 s to a session on a survivor). One Cluster
// serves every viewer of a process:
//
//	cl, err := client.NewCluster([]string{"http://10.0.0.1:8080", "http://10.0.0.2:8080"},
//		client.ClusterOptions{})
//	...
//	v, err := client.NewViewer(client.ViewerOptions{
//		Resolve: cl.Resolver(uid),                 // the node /v1/route picks for uid
//		Dial:    client.DialOptions{Token: token}, // auth, added to that URL as ?token=
//		Rooms:   []string{"demo"},
//	})
//	...
//	go v.Run(ctx)
//
// Per-connection cost: no writer goroutine (writes happen on the caller's goroutine under a
// mutex with a write deadline), a ReadBufferSize (default 512 B) bufio reader, and write
// buffers, frame read buffers and decode targets taken from process-wide pools only while a
// frame is in flight. BenchmarkIdleConns measures an idle, joined Conn at ~4.4 KB of Go
// memory (2.3 KB heap, 2.1 KB reader stack) and 1 goroutine, kernel socket buffers aside.
// The reader decodes the flat frames (notify, kick, pong, joined, sent, ...) with a shallow
// parser checked against encoding/json by a fuzz test, interning room ids and epochs in one
// process-wide table, so a notify costs no allocation; msgs and hello go to encoding/json.
// What allocates per frame is fasthttp/websocket's own message reader/writer (4 small
// allocations per request/reply round trip).
//
// Concurrency contract:
//
//   - Conn's methods may be called from any number of goroutines at once. Writes are
//     serialised by a mutex; replies are matched to callers by id.
//   - OnNotify, OnKick, OnClose and OnError are called on the connection's reader goroutine,
//     one at a time, in frame order. They must not block and must not wait for a reply on the
//     same Conn (the reply could only be read by the goroutine they are blocking). Calling
//     Close from a callback is allowed: Close never waits for the reader.
//   - OnClose is called exactly once per Conn, after the last frame callback.
//   - Viewer: Run may be called once. It owns its goroutines (the Run goroutine itself and the
//     current Conn's reader) and returns when ctx is done and both have ended. Stats and the
//     accessors may be read from any goroutine while Run is going. OnMessage is called on the
//     Run goroutine; it may block only as long as the caller accepts pulls being delayed.
//   - API is safe for concurrent use; one API value should be shared.
//   - Cluster is safe for concurrent use and should be shared; each viewer needs its own
//     Resolver (it remembers the URL it returned last).
package client
