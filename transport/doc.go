// Package transport is liveroom's edge: the fasthttp server with the HTTP API (PROTOCOL.md
// section 5), the WebSocket sessions (section 3), viewer auth (HS256 JWT) and keys, the abuse
// limits (section 6), the /metrics endpoint and the embedded web files.
//
// Where things are: server.go (Server, New, Serve, Shutdown), config.go (Config and its
// defaults), routes.go (the router's tables: every path the listeners answer), openapi.go (the
// API document, openapi.json, served at /v1/openapi.json and checked by the tests), http_api.go
// (the request's way in, method and key checks, the error format and the code -> status map), http_messages.go (posts, notices, pulls), http_rooms.go (room info,
// config, moderation, kicks), http_node.go (health, readiness, /v1/route, dev token, web pages),
// message.go (what a message may be: the one check of every path that takes one), codec.go
// (parsers of request bodies and query values), auth.go (tokens and keys),
// abuse.go (connection-attempt limits), limits.go (request limits per address and uid), ids.go (the id pattern), ws*.go and session.go (the
// WebSocket side), engine.go (what the actor layer provides).
// internal/socket holds the machinery under the sessions: client frames read from the socket,
// the epoll set idle sessions wait in, the pool of workers that answers them. web/ holds the
// embedded files (the JS client, the demo and admin pages) and serves them.
//
// Concurrency contract: Server's handlers run on fasthttp's goroutines and share only
// immutable state (Config, Auth), the Engine (safe for concurrent use), the metrics and the
// abuse limiter (sharded mutexes). HTTP long-polls wait on the Engine with a context that
// Shutdown cancels. Each WebSocket session has at any time at most one goroutine that reads
// it: an idle session waits in the epoll set holding none, the poller hands it to a worker
// when bytes arrive, and the worker answers its frames and parks it again, so a session's
// frames are answered one at a time, in order. Replica dispatch rounds write notifies through
// the session's Notify (a TryLock on the session's write mutex, so a busy session never
// blocks a round). The session registry is sharded.
package transport
