package capacity

import (
	"math"
	"time"
)

// Costs are the model's constants: server CPU per unit of work and memory per viewer and per
// process. docs/capacity.md "The constants" gives the source of each.
type Costs struct {
	FrameUS    float64 // CPU to write one frame to a viewer's socket (a pushed window, a notify, a reply, a ping)
	MsgUS      float64 // CPU per message carried in a written frame, on top of FrameUS
	ReadUS     float64 // CPU to read and answer one client frame (a pull, a pong): wake-up, read, re-arm
	PostUS     float64 // CPU per message posted over HTTP on one node: the request, the grain, the flush, the round it starts
	TickUS     float64 // CPU of the grain's member per delivery tick in a cluster with Redis (the save, the flush), beyond its idle base
	DeltaUS    float64 // CPU of the grain's member per delta sent to one remote node
	ScanNS     float64 // CPU per member per dispatch round of a big room (the round's pass over its members)
	ConnEdgeUS float64 // CPU of the viewer's node per WebSocket connect (TLS off: upgrade, JWT, join)
	ConnMemUS  float64 // CPU of the room's member per connect (the join through the grain, the uid directory)
	EdgeBase   float64 // cores of an idle edge (or viewer node): runtime, etcd watch, heartbeats, deltas in
	MemberBase float64 // cores of an idle member of a 3-member cluster: runtime, lease, gossip

	ViewerBytes     float64 // server RSS per joined idle viewer over the process's base
	EdgeBaseBytes   float64 // RSS of an idle edge
	MemberBaseBytes float64 // RSS of an idle member
	SocketBytes     float64 // kernel memory per idle TCP socket (slab objects; no data queued)

	PingInterval     time.Duration // the server's WebSocket ping to every session
	DispatchInterval time.Duration // a big room's rounds come at most this often
	FlushInterval    time.Duration // a grain's delivery ticks come at most this often
	FlushPerNode     time.Duration // ... and at most once per subscribed nodes x this (actors.Config.FlushPerNode)
}

// Measured is what docs/capacity.md derives from the runs and benchmarks it cites.
var Measured = Costs{
	FrameUS: 13.5, MsgUS: 0.017, ReadUS: 23.2, PostUS: 180,
	TickUS: 1300, DeltaUS: 87, ScanNS: 10.5,
	ConnEdgeUS: 400, ConnMemUS: 100,
	EdgeBase: 0.019, MemberBase: 0.010,

	ViewerBytes: 4200, EdgeBaseBytes: 33e6, MemberBaseBytes: 37e6, SocketBytes: 3840,

	PingInterval: 30 * time.Second, DispatchInterval: 50 * time.Millisecond, FlushInterval: 5 * time.Millisecond,
	FlushPerNode: 500 * time.Microsecond,
}

// Load is what a deployment carries.
type Load struct {
	Viewers  float64 // concurrent viewers, spread evenly over the viewer nodes
	Rooms    float64 // rooms of equal size (1: one room holds every viewer)
	Rate     float64 // messages a room accepts per second (normal), each room
	Notices  float64 // protected messages (system notices) per room per second
	Push     bool    // push windows (one frame a round) or notify-pull (notify, pull, reply)
	Limit    float64 // messages in a window (--push-limit, or the pull's limit)
	PerView  time.Duration
	Ping     time.Duration // how often a silent viewer is pinged (0: Costs.PingInterval)
	MsgBytes float64       // one message as encoded on the wire

	ViewerNodes  float64 // nodes that hold the sessions (edges, or every node without edges)
	Members      float64 // members hosting the grains (0: a single node, which is both)
	MembersServe bool    // no edges: the members are the viewer nodes (ViewerNodes = Members)
	Store        bool    // a shared store (Redis): the grain saves every delivery tick
}

// Prediction is the model's answer for a Load.
type Prediction struct {
	PerNode     float64 // viewers per viewer node
	RoundS      float64 // a member's pace: max(DispatchInterval, its room's members on the node x PerView)
	FramesPerV  float64 // frames a viewer gets per second (windows, or notify rounds)
	MsgsPerF    float64 // messages in a frame
	TicksPerS   float64 // a room's delivery ticks per second (deltas per subscribed node)
	Frames      float64 // window or notify frames written per second, all nodes
	Deliveries  float64 // messages delivered per second, all viewers
	NodeCores   float64 // CPU of one viewer node
	GrainCores  float64 // CPU of the member that hosts a room's grain (one room; 0 on a single node)
	Cores       float64 // CPU of all the servers
	RSS         float64 // RSS of all the servers, bytes
	Kernel      float64 // kernel socket memory on the servers' side, bytes
	BytesPerS   float64 // WebSocket payload written per second, all nodes
	PerDelivery float64 // deliveries per CPU-second
}

// Predict applies the formulas of docs/capacity.md "The model".
func (c Costs) Predict(l Load) Prediction {
	var p Prediction
	p.PerNode = l.Viewers / l.ViewerNodes
	perRoomOnNode := math.Max(1, p.PerNode/l.Rooms)
	p.RoundS = math.Max(c.DispatchInterval.Seconds(), perRoomOnNode*l.PerView.Seconds())
	offered := l.Rate + l.Notices
	subscribed := 1.0 // the nodes a room's deltas go to
	if l.Members > 0 {
		subscribed = math.Min(l.ViewerNodes, math.Max(1, l.Viewers/l.Rooms))
	}
	tick := math.Max(c.FlushInterval.Seconds(), subscribed*c.FlushPerNode.Seconds())
	p.TicksPerS = math.Min(offered, 1/tick)
	p.FramesPerV = math.Min(1/p.RoundS, p.TicksPerS) // a small room's round runs per tick
	p.MsgsPerF = math.Min(l.Limit, offered/p.FramesPerV)
	p.Frames = l.Viewers * p.FramesPerV
	p.Deliveries = p.Frames * p.MsgsPerF

	perRound := c.FrameUS + p.MsgsPerF*c.MsgUS // one pushed window
	if !l.Push {
		perRound = 2*c.FrameUS + c.ReadUS + p.MsgsPerF*c.MsgUS // notify, pull, reply
	}
	rounds := math.Min(1/c.DispatchInterval.Seconds(), p.TicksPerS)
	ping := c.PingInterval
	if l.Ping > 0 {
		ping = l.Ping
	}
	node := p.PerNode * (p.FramesPerV*perRound + (c.FrameUS+c.ReadUS)/ping.Seconds() + rounds*c.ScanNS/1e3)
	node = node/1e6 + c.EdgeBase
	posts := l.Rooms * offered * c.PostUS / 1e6
	if l.Members == 0 { // one node: the viewers, the grains and the posts share it
		p.NodeCores = node + posts - c.EdgeBase + c.MemberBase
		p.Cores = p.NodeCores
		p.RSS = c.MemberBaseBytes + l.Viewers*c.ViewerBytes
	} else {
		remote, tickUS := l.ViewerNodes, 0.0 // members hold no viewers: every replica is remote
		if l.Store {
			tickUS = c.TickUS
		}
		member := c.memberBase(l.Members)
		p.NodeCores = node
		if l.MembersServe {
			remote--
			p.NodeCores += member - c.EdgeBase
		}
		grain := p.TicksPerS * (remote*c.DeltaUS + tickUS) / 1e6
		p.GrainCores = grain + member
		p.Cores = l.ViewerNodes*p.NodeCores + l.Rooms*grain + posts
		p.RSS = l.ViewerNodes*c.EdgeBaseBytes + l.Viewers*c.ViewerBytes
		if !l.MembersServe {
			p.Cores += l.Members * member
			p.RSS += l.Members * c.MemberBaseBytes
		}
	}
	p.Kernel = l.Viewers * c.SocketBytes
	p.BytesPerS = p.Frames * (frameEnvelope + p.MsgsPerF*l.MsgBytes)
	p.PerDelivery = p.Deliveries / p.Cores
	return p
}

// memberBase is an idle member's CPU in a cluster of k members: measured at 3, taken to grow
// with k (each member gossips state that holds every member: the cluster's total grows with
// k squared; docs/capacity.md "Members: gossip").
func (c Costs) memberBase(k float64) float64 { return c.MemberBase * math.Max(1, k/3) }

// frameEnvelope is a pushed window's bytes besides its messages: the WebSocket header and
// {"op":"msgs","room":...,"epoch":...,"dropped":...,"next":...,"next_seq":...,"more":...}.
const frameEnvelope = 130
