// Package socket is the machinery under transport's WebSocket sessions that works on the
// socket itself rather than through websocket.Conn: Conn reads client frames straight from
// the socket without ever blocking (RFC 6455 framing, rawread.go) and writes server frames
// without waiting; Poller parks idle sessions in one epoll set (poller_linux.go; other systems
// have none and sessions read through websocket.Conn); WorkerPool answers the sessions the
// poller wakes on long-lived goroutines (workers.go); RawConnOf and SetSendBuffer reach and
// size a connection's socket (rawconn.go). It knows nothing of sessions or the protocol's
// JSON: a session is an id and a syscall.RawConn.
//
// Concurrency contract: a Conn's Next is called by one goroutine at a time (the session's
// owner: whoever the poller or the pool handed it to), TryWrite by one at a time (the caller
// serialises writes), and the two may run at once. Poller.Arm and WorkerPool.Run may be called
// from any goroutine; the poller calls ready on its own goroutine, which must not block.
package socket
