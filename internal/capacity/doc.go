// Package capacity is the cost model of docs/capacity.md: the measured cost constants
// (Measured), the formulas that turn a load (viewers, rooms, messages a second, the round's
// pacing, the nodes) into frames, deliveries, cores, memory and bytes (Predict), and the
// sizing of a cluster on bigger machines (Size). TestCapacityModel computes every table of
// docs/capacity.md from here and fails when the document and the model disagree, so the
// figures cannot drift apart.
//
// Nothing in the server imports it. Plain functions over plain values: no state, safe from
// any goroutine.
package capacity
