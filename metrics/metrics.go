package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/liveroom/liveroom/internal/buildinfo"
	"github.com/liveroom/liveroom/ring"
)

// Metrics are the server's collectors. Create them with New.
type Metrics struct {
	Registry *prometheus.Registry

	Accepted       ByPri                  // messages accepted by rooms on this node, by pri
	RateLimited    ByPri                  // messages rejected by an upstream limit, by pri
	Evicted        ByPri                  // messages pushed out of a full ring, by pri
	DroppedInPull  prometheus.Counter     // messages counted as dropped in pull answers
	NotifiesSent   prometheus.Counter     // notify frames written
	NotifiesMerged prometheus.Counter     // notifies held back because a pull was in progress
	Pulls          prometheus.Counter     // pulls served
	DeltasSent     prometheus.Counter     // Delta messages room grains sent to subscribed nodes
	Kicks          *prometheus.CounterVec // kicks by reason
	Sessions       prometheus.Gauge       // open WebSocket sessions
	Rooms          prometheus.Gauge       // room grains active on this node
	Replicas       prometheus.Gauge       // room replicas active on this node (rooms with local viewers or pulls)
	ConnRejected   *prometheus.CounterVec // refused connection attempts by why
	StoreErrors    prometheus.Counter     // store operations that failed (traffic went on)
	Members        prometheus.Gauge       // cluster members in this node's member list
	Nodes          prometheus.Gauge       // nodes (members and edges) in the store's node directory, as last read
	MembersLeft    prometheus.Counter     // members that left this node's member list
	Undurable      *prometheus.CounterVec // messages delivered without the store, by pri
	UndurableRooms prometheus.Gauge       // rooms delivering without the store right now
	Fenced         prometheus.Counter     // room activations stopped because a newer one claimed the room
	Epochs         prometheus.Counter     // rooms that started a new epoch because their stamps diverged
	CounterAdds    *prometheus.CounterVec // counter adds by result: accepted, rate_limited, lost
	CounterFrames  prometheus.Counter     // counters frames written to sessions
	// CounterFramesShared: those of CounterFrames written with the session's notify or pushed
	// window in one write (behind it, or inside the window).
	CounterFramesShared prometheus.Counter

	// Latencies (histograms.go).
	DeliveryLag  prometheus.Histogram     // a message's ts to the round that wrote its first frame, once per round per replica
	RoundSeconds prometheus.Histogram     // one dispatch round of a replica
	GrainRequest prometheus.Histogram     // one request to a room grain (send, join check, config...)
	StoreSeconds *prometheus.HistogramVec // one store operation, by op
}

// New creates the collectors on a fresh registry, with the Go and process collectors.
func New() *Metrics {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: "liveroom", Name: name, Help: help})
	}
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "liveroom", Name: name, Help: help})
	}
	m := &Metrics{
		Registry:       prometheus.NewRegistry(),
		Accepted:       byPri("accepted_total", "Messages accepted by rooms on this node, by priority."),
		RateLimited:    byPri("rate_limited_total", "Messages rejected by a room's upstream limit, by priority."),
		Evicted:        byPri("evicted_total", "Messages evicted from a full ring, by priority."),
		DroppedInPull:  counter("dropped_in_pull_total", "Messages reported as dropped in pull answers."),
		NotifiesSent:   counter("notifies_sent_total", "Notify frames written to sessions."),
		NotifiesMerged: counter("notifies_merged_total", "Notifies held back because the session's pull was in progress."),
		Pulls:          counter("pulls_total", "Pulls served."),
		DeltasSent:     counter("deltas_sent_total", "Delta messages sent by room grains to subscribed nodes (one per node per flush tick)."),
		Kicks: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "liveroom", Name: "kicks_total",
			Help: "Sessions kicked, by reason."}, []string{"reason"}),
		Sessions: gauge("sessions", "Open WebSocket sessions."),
		Rooms:    gauge("rooms", "Room grains active on this node."),
		Replicas: gauge("replicas", "Room replicas active on this node: the rooms this node's viewers joined or pulled, until the replica stops idle."),
		ConnRejected: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "liveroom", Name: "conn_rejected_total",
			Help: "Connection attempts refused, by why."}, []string{"why"}),
		StoreErrors: counter("store_errors_total", "Store operations that failed; live traffic went on without them."),
		Members:     gauge("cluster_members", "Cluster members in this node's member list."),
		MembersLeft: counter("cluster_members_left_total", "Members that left this node's member list (a dead or leaving node)."),
		Nodes:       gauge("cluster_nodes", "Nodes, members and edges, in the store's node directory as this node last read it (every RenewInterval)."),
		Undurable: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "liveroom", Name: "undurable_total",
			Help: "Messages delivered and acknowledged without the store (it did not answer within --store-wait), by priority."}, []string{"pri"}),
		UndurableRooms: gauge("rooms_undurable", "Room grains on this node delivering without the store right now."),
		Fenced:         counter("rooms_fenced_total", "Room activations on this node stopped because a newer activation claimed the room."),
		Epochs:         counter("rooms_diverged_total", "Rooms that started a new epoch because a replica held stamps the room's activation did not know."),
		CounterAdds: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "liveroom", Name: "counter_adds_total",
			Help: "Counter adds (viewers' and the backend's) by result: accepted by the room, rate_limited by the per-session limit, lost (summed on this node but not handed to the room)."}, []string{"result"}),
		CounterFrames: counter("counter_frames_total", "Counters frames written to sessions (those inside pushed windows included)."),
		CounterFramesShared: counter("counter_frames_shared_total",
			"Counters frames of counter_frames_total written in one write with the session's notify or pushed window (behind it, or inside the window as its counters)."),
	}
	m.newHistograms()
	m.Registry.MustRegister(m.Accepted.vec, m.RateLimited.vec, m.Evicted.vec, m.DroppedInPull, m.NotifiesSent, m.NotifiesMerged,
		m.Pulls, m.DeltasSent, m.Kicks, m.Sessions, m.Rooms, m.Replicas, m.ConnRejected, m.StoreErrors, m.Members, m.MembersLeft, m.Nodes,
		m.Undurable, m.UndurableRooms, m.Fenced, m.Epochs, m.CounterAdds, m.CounterFrames, m.CounterFramesShared,
		m.DeliveryLag, m.RoundSeconds, m.GrainRequest, m.StoreSeconds, buildInfo(),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ByPri is a counter with a pri label whose four children are resolved once: counting a
// message is one atomic add, no label lookup.
type ByPri struct {
	vec *prometheus.CounterVec
	by  [ring.NumPriorities]prometheus.Counter
}

func byPri(name, help string) ByPri {
	b := ByPri{vec: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "liveroom", Name: name, Help: help}, []string{"pri"})}
	for p := range b.by {
		b.by[p] = b.vec.WithLabelValues(ring.Priority(p).String())
	}
	return b
}

// Inc counts one message of pri (a priority out of range is not counted).
func (b *ByPri) Inc(pri ring.Priority) {
	if int(pri) < len(b.by) {
		b.by[pri].Inc()
	}
}

// With is pri's counter (tests read it).
func (b *ByPri) With(pri ring.Priority) prometheus.Counter { return b.by[pri] }

// buildInfo is liveroom_build_info{version,revision,goversion} 1: which build a node runs.
func buildInfo() prometheus.Collector {
	in := buildinfo.Read()
	g := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "liveroom", Name: "build_info",
		Help:        "The running build: 1, with the version, VCS revision and Go version as labels.",
		ConstLabels: prometheus.Labels{"version": in.Version, "revision": in.Revision, "goversion": in.GoVersion}})
	g.Set(1)
	return g
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() fasthttp.RequestHandler {
	return fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
}
