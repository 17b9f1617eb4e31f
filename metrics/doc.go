// Package metrics defines liveroom's Prometheus collectors on a registry of their own, shared
// by the actor layer (which counts) and the transport (which serves /metrics). Collectors are
// safe for concurrent use; hot paths batch their increments (a replica adds a round's counts
// once per round, not once per viewer).
package metrics
