// Package client is liveroom's Go SDK, written from docs/PROTOCOL.md alone: for an app's Go
// backend (posting, moderation and room state over the HTTP API) and for Go viewers (a
// WebSocket session that follows rooms and reconnects on its own).
//
// It has four parts:
//
//   - Conn (conn.go, requests.go): one WebSocket session (PROTOCOL.md section 3). Dial
//     upgrades, reads the server's hello, then starts one reader goroutine. Join, Leave, Pull,
//     Send and Ping write a frame with a fresh id and wait for the reply carrying that id (or
//     for ctx, or for the connection to end). Server-initiated frames (notify, kick, close) go
//     to the callbacks of DialOptions.
//   - Viewer (viewer.go, account.go): a well-behaved viewer built on Conn. It joins rooms,
//     pulls on notify from its last next until more is false (section 4) and hands every
//     message to OnMessage. It counts a gap when a window's len(msgs)+dropped does not match
//     its seq advance, and starts that accounting over when a room's epoch changes (its last
//     next stays a valid since). When the session ends it reconnects with exponential backoff
//     and jitter and resumes each room with join since = last next; replaced by another
//     session of its uid, banned or unauthorized, it stops and Run returns a *StoppedError.
//   - API (api.go): the HTTP API of section 5, for the app's backend (server key), admins
//     (admin key) or a viewer (its JWT, for Pull).
//   - Cluster (cluster.go): finds a viewer's node among several through GET /v1/route?uid=,
//     for ViewerOptions.Resolve; a viewer whose node died goes to a live one and resumes.
//
// A viewer, and the app's backend posting to its room:
//
//	v, err := client.NewViewer(client.ViewerOptions{
//		URL:   "ws://127.0.0.1:8080/v1/ws", // or Resolve: cluster.Resolver(uid)
//		Dial:  client.DialOptions{Token: viewerJWT},
//		Rooms: []string{"demo"},
//		OnMessage: func(room string, m *client.Message) {
//			fmt.Printf("%s: %s %s\n", room, m.UID, m.Body)
//		},
//	})
//	...
//	go v.Run(ctx)
//
//	api := client.NewAPI("http://127.0.0.1:8080", serverKey)
//	sent, err := api.Post(ctx, "demo", client.PostMessage{UID: "u1", Kind: "chat",
//		Body: json.RawMessage(`{"text":"hi"}`)})
//
// Example (example_test.go) runs a viewer and a sender against the package's test server.
//
// The load tester (loadtest/) does not use this package: it keeps its own viewer, built to
// hold ~19k sessions per process.
//
// Concurrency contract:
//
//   - Conn's methods may be called from any number of goroutines at once. Writes happen on the
//     caller's goroutine, serialised by a mutex; replies are matched to callers by id.
//   - OnNotify, OnKick, OnClose and OnError are called on the connection's reader goroutine,
//     one at a time, in frame order. They must not block and must not wait for a reply on the
//     same Conn (the reply could only be read by the goroutine they are blocking). Calling
//     Close from a callback is allowed: Close never waits for the reader.
//   - OnClose is called exactly once per Conn, after the last frame callback.
//   - Viewer: Run may be called once. It owns its goroutines (the Run goroutine itself and the
//     current Conn's reader) and returns when ctx is done and both have ended. Stats, Room and
//     Conn may be called from any goroutine while Run is going. OnMessage is called on the Run
//     goroutine: the viewer pulls nothing while it runs, so slow work belongs elsewhere.
//   - API is safe for concurrent use; one API value should be shared.
//   - Cluster is safe for concurrent use and should be shared; each viewer needs its own
//     Resolver (it remembers the URL it returned last).
package client
