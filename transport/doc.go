// Package transport is liveroom's edge: the fasthttp server with the HTTP API (PROTOCOL.md
// section 5), the WebSocket sessions (section 3), viewer auth (HS256 JWT) and keys, the abuse
// limits (section 6), the /metrics endpoint and the embedded web files.
//
// Concurrency contract: Server's handlers run on fasthttp's goroutines. Each WebSocket session
// has one reader goroutine that answers its frames; replica dispatch rounds write notifies
// through the session's Notify (a TryLock on the session's write mutex, so a busy session
// never blocks a round). The session registry is sharded. The abuse limiter is safe for
// concurrent use.
package transport
