// Package socket is the machinery that works on a WebSocket's socket itself rather than
// through websocket.Conn, for the server's sessions (transport) and the load tester's cheap
// viewers (loadtest, --viewer-io epoll): Conn reads frames straight from the socket without
// ever blocking (RFC 6455 framing, rawread.go: a server's Conn reads masked client frames,
// NewClientConn's reads unmasked server frames, ClientFrame encodes the client's) and writes
// frames without waiting; Poller parks idle sockets in one epoll set (poller_linux.go; other
// systems have none and sessions read through websocket.Conn); WorkerPool answers the sessions
// the poller wakes on long-lived goroutines (workers.go); RawConnOf and SetSendBuffer reach and
// size a connection's socket, FD and Detach take a socket out of its net.Conn (rawconn.go,
// detach_linux.go). It knows nothing of sessions or the protocol's JSON: a session is an id and
// a syscall.RawConn.
//
// Concurrency contract: a Conn's Next is called by one goroutine at a time (the session's
// owner: whoever the poller or the pool handed it to), TryWrite by one at a time (the caller
// serialises writes), and the two may run at once. Poller.Arm and WorkerPool.Run may be called
// from any goroutine; the poller calls ready on its own goroutine, which must not block. An
// FD's owner closes it once no Conn call and no Arm on it can run any more.
package socket
