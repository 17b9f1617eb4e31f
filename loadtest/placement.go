package loadtest

import (
	"fmt"
	"io"
)

// Where the rooms ran: each node's room grains (liveroom_rooms: the rooms the cluster placed
// on it) and replicas (liveroom_replicas: the rooms its viewers joined), read with the other
// node metrics once a second (nodemetrics.go). A replica belongs only where a room has
// viewers, so the replicas each node should run follow from the run's assignment: viewer i
// connects to node i % nodes and joins viewerRoom(i); a node's expected replicas are the
// distinct rooms of its viewers (a viewer that moved to another node, after a kill or a
// reconnect, moves its room's replica too).

// Placement is the run's rooms per node.
type Placement struct {
	Rooms            int             `json:"rooms"`             // rooms the viewers joined or the senders posted to: the grains expected over all nodes
	ReplicasExpected int             `json:"replicas_expected"` // summed over the nodes
	Nodes            []NodePlacement `json:"nodes"`             // in --url order
}

// NodePlacement is one node's grains and replicas: the most at a reading of the send phase
// and at the last reading (after the drain); -1 when never read (a liveroomd without the
// gauge, or a node that did not answer).
type NodePlacement struct {
	URL              string `json:"url"`
	GrainsMax        int64  `json:"grains_max"`
	GrainsEnd        int64  `json:"grains_end"`
	ReplicasMax      int64  `json:"replicas_max"`
	ReplicasEnd      int64  `json:"replicas_end"`
	ReplicasExpected int    `json:"replicas_expected"` // the distinct rooms of the viewers assigned to the node
}

// record takes one reading of the node; sending: the reading is of the send phase.
func (p *NodePlacement) record(r nodeReading, sending bool) {
	take := func(v int64, peak, end *int64) {
		if v < 0 {
			return
		}
		*end = v
		if sending {
			*peak = max(*peak, v)
		}
	}
	take(r.grains, &p.GrainsMax, &p.GrainsEnd)
	take(r.replicas, &p.ReplicasMax, &p.ReplicasEnd)
}

// placement builds the run's placement from the sampler's readings and the assignment; nil
// when no node ever reported its grains.
func (c *Config) placement(nodes []NodePlacement) *Placement {
	read := false
	for _, n := range nodes {
		read = read || n.GrainsEnd >= 0
	}
	if !read {
		return nil
	}
	p := &Placement{Nodes: nodes}
	rooms := map[string]bool{}
	perNode := make([]map[string]bool, len(nodes))
	for k := range perNode {
		perNode[k] = map[string]bool{}
	}
	for i := range c.Viewers {
		room := c.viewerRoom(i)
		rooms[room] = true
		perNode[i%len(nodes)][room] = true
	}
	for i := range c.postRooms() {
		rooms[c.postRoom(i)] = true
	}
	p.Rooms = len(rooms)
	for k := range p.Nodes {
		p.Nodes[k].ReplicasExpected = len(perNode[k])
		p.ReplicasExpected += len(perNode[k])
	}
	return p
}

// totals sums the nodes' figures (a node never read counts nothing).
func (p *Placement) totals() (grainsMax, grainsEnd, replicasMax, replicasEnd int64) {
	for _, n := range p.Nodes {
		grainsMax += max(n.GrainsMax, 0)
		grainsEnd += max(n.GrainsEnd, 0)
		replicasMax += max(n.ReplicasMax, 0)
		replicasEnd += max(n.ReplicasEnd, 0)
	}
	return
}

// GrainSpread is the most grains any node held at the end over the fewest (1: balanced; 0:
// not read, +Inf: a node held none).
func (p *Placement) GrainSpread() float64 {
	lo, hi := int64(-1), int64(0)
	for _, n := range p.Nodes {
		if n.GrainsEnd < 0 {
			continue
		}
		if lo < 0 || n.GrainsEnd < lo {
			lo = n.GrainsEnd
		}
		hi = max(hi, n.GrainsEnd)
	}
	if lo < 0 {
		return 0
	}
	return float64(hi) / float64(lo)
}

// summary writes the placement lines of the summary.
func (p *Placement) summary(w io.Writer) {
	gm, ge, rm, re := p.totals()
	fmt.Fprintf(w, "rooms per node (max in the send phase / at the end): grains %d / %d of %d rooms", gm, ge, p.Rooms)
	if len(p.Nodes) > 1 {
		fmt.Fprintf(w, " (most over fewest at the end %.2f)", p.GrainSpread())
	}
	fmt.Fprintf(w, ", replicas %d / %d (the viewers' assignment: %d)\n", rm, re, p.ReplicasExpected)
	if len(p.Nodes) > 1 {
		for _, n := range p.Nodes {
			fmt.Fprintf(w, "  %s: grains %d / %d, replicas %d / %d (expected %d)\n",
				n.URL, n.GrainsMax, n.GrainsEnd, n.ReplicasMax, n.ReplicasEnd, n.ReplicasExpected)
		}
	}
}
