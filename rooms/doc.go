// Package rooms is a room's domain logic without actors: config with defaults, token buckets
// per priority (the upstream limit), moderation lists with TTL, cmid de-duplication, ts/seq
// stamping, and the Store that keeps a room's durable state.
//
// Concurrency contract: a Room is not safe for concurrent use; it is owned by one room grain
// and touched only inside its Receive. Store implementations are safe for concurrent use.
// Nothing here reads the clock: callers pass now, so tests are deterministic.
package rooms
