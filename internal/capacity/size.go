package capacity

import (
	"math"
	"time"
)

// Machine is a node of the sizing table and the share of it the model may plan for.
type Machine struct {
	Cores    float64
	MemBytes float64
	NICBytes float64 // per second, one direction
	MaxFDs   float64 // open files of one process (the systemd unit's LimitNOFILE)
	CPUUse   float64 // of Cores: the rest is headroom for the actor system and bursts
	MemUse   float64
	NICUse   float64
}

// Node32 is the sizing table's machine: 32 cores, 128 GiB, 25 Gbit/s, one liveroomd each.
var Node32 = Machine{Cores: 32, MemBytes: 128 << 30, NICBytes: 25e9 / 8, MaxFDs: 1 << 20,
	CPUUse: 0.6, MemUse: 0.7, NICUse: 0.5}

// tcpOverhead is the bytes on the wire per byte of WebSocket payload: a 1,448-byte segment
// carries 66 bytes of Ethernet, IP and TCP headers.
const tcpOverhead = 1 + 66.0/1448

// Sizing is one row of docs/capacity.md "Sizing".
type Sizing struct {
	Viewers    float64
	Edges      float64
	PerEdge    float64
	Bound      string // what limits the viewers of an edge: cpu, memory, nic or files
	PerView    time.Duration
	EdgeCores  float64 // CPU used on an edge
	EdgeMem    float64 // RSS and kernel sockets of an edge, bytes
	EdgeNIC    float64 // bits per second out of an edge
	GrainCores float64 // the member that hosts the room's grain (its deltas to every edge)
	Cores      float64 // every server
	Rejoin     float64 // seconds to take back one lost edge's viewers on the others' spare CPU
	Pred       Prediction
}

// Size plans a cluster of edges on machine m (and 3 members) for load l with a round of
// round: each edge takes as many viewers as the first of its CPU, memory, NIC and open files
// allows, and PerView is set to give that round.
func (c Costs) Size(l Load, m Machine, round time.Duration) Sizing {
	t := round.Seconds()
	offered := l.Rate + l.Notices
	w := math.Min(l.Limit, offered*t)
	frame := frameEnvelope + w*l.MsgBytes
	cpuV := ((c.FrameUS+w*c.MsgUS)/t + (c.FrameUS+c.ReadUS)/c.PingInterval.Seconds() +
		c.ScanNS/1e3/c.DispatchInterval.Seconds()) / 1e6
	bounds := []struct {
		name string
		n    float64
	}{
		{"cpu", (m.Cores*m.CPUUse - c.EdgeBase) / cpuV},
		{"memory", (m.MemBytes*m.MemUse - c.EdgeBaseBytes) / (c.ViewerBytes + c.SocketBytes + frame)},
		{"nic", m.NICBytes * m.NICUse / (frame / t * tcpOverhead)},
		{"files", m.MaxFDs - 1000},
	}
	s := Sizing{Viewers: l.Viewers, PerEdge: math.Inf(1)}
	for _, b := range bounds {
		if b.n < s.PerEdge {
			s.PerEdge, s.Bound = math.Floor(b.n), b.name
		}
	}
	s.Edges = math.Ceil(l.Viewers / s.PerEdge)
	s.PerEdge = math.Ceil(l.Viewers / s.Edges)
	l.ViewerNodes, l.Members, l.Store = s.Edges, 3, true
	l.PerView = time.Duration(float64(round) / math.Max(1, s.PerEdge/l.Rooms))
	s.PerView = l.PerView
	p := c.Predict(l)
	s.Pred = p
	s.EdgeCores = p.NodeCores
	s.EdgeMem = c.EdgeBaseBytes + s.PerEdge*(c.ViewerBytes+c.SocketBytes+frame)
	s.EdgeNIC = s.PerEdge * frame / t * tcpOverhead * 8
	s.GrainCores = p.GrainCores
	s.Cores = p.Cores
	spare := m.Cores*m.CPUUse - p.NodeCores
	if s.Edges > 1 {
		s.Rejoin = math.Max(s.PerEdge*c.ConnEdgeUS/1e6/((s.Edges-1)*spare),
			s.PerEdge*c.ConnMemUS/1e6/(3*(m.Cores*m.CPUUse-p.GrainCores)))
	}
	return s
}
