// Package rooms is a room's domain logic without actors: config with defaults (config.go),
// token buckets per priority, the upstream limit (bucket.go), moderation lists with TTL
// (moderation.go), cmid de-duplication (dedup.go), ts/seq stamping and epochs (stamp.go),
// the decision on each offered message (room.go, Room.Accept), the durable State
// (state.go), and the Store that keeps it (store.go; memory and Redis implementations).
//
// Concurrency contract: a Room (with its Moderation, Dedup, Buckets and Stamper) is not safe
// for concurrent use; it is owned by one room grain and touched only inside its Receive.
// Store implementations are safe for concurrent use. Nothing here reads the clock: callers
// pass now, so tests are deterministic.
package rooms
