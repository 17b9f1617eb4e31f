package loadtest

// Second is one second of the run, summed over workers.
type Second struct {
	T          int                `json:"t"` // seconds since the senders started (negative: connecting)
	Totals     Totals             `json:"delta"`
	Latency    map[string]float64 `json:"p99_ms"`
	Sent       int64              `json:"sent"`
	ServerCPU  float64            `json:"server_cpu_s"`                  // summed over the servers
	ServerCPUs []float64          `json:"server_cpu_s_by_pid,omitempty"` // per server, in --server-pid order (several only)
	Deliveries int64              `json:"deliveries"`
	Members    []int              `json:"members,omitempty"`          // cluster members each node listed at its last reading (-1: none), in --url order
	AckP99     map[string]float64 `json:"ack_p99_ms,omitempty"`       // per priority: p99 of the acknowledgement latency of the posts acknowledged that second
	ServerRSS  int64              `json:"server_rss_bytes,omitempty"` // the servers' RSS summed, read from /proc at the end of the second
	Goroutines int64              `json:"go_goroutines,omitempty"`    // go_goroutines summed over the nodes whose /metrics answered at their last reading
	Sessions   int64              `json:"sessions,omitempty"`         // liveroom_sessions summed the same way
}

// Result is the JSON result of a run.
type Result struct {
	Config           Config               `json:"config"`
	Mode             string               `json:"mode"`
	ConnectSeconds   float64              `json:"connect_seconds"`
	ConnectRate      float64              `json:"connects_per_second"`
	Connected        int64                `json:"connected_at_start"`
	Sent             map[string]int64     `json:"sent"`
	SendErrors       map[string]int64     `json:"send_errors"`
	SendErrorCauses  map[string]int64     `json:"send_error_causes,omitempty"` // "pri: busy|timeout|transport|status N"
	AckLatency       map[string]Quantiles `json:"ack_latency"`                 // per priority: first attempt to 200 (a notice's retries included)
	LongestAckGap    map[string]float64   `json:"longest_ack_gap_s"`           // per priority: longest time in the send phase without an acknowledged post, seconds
	NoticeRetries    int64                `json:"notice_retries"`              // notice attempts after the first
	NoticesUnacked   int64                `json:"notices_unacknowledged"`      // notices given up (refused for good, or the drain ended): not in the loss check
	Latency          map[string]Quantiles `json:"latency"`
	Totals           Totals               `json:"totals"`
	DeliveriesPerS   float64              `json:"deliveries_per_second"`
	FramesPerS       float64              `json:"frames_per_second"`
	NotifiesPerVS    float64              `json:"notifies_per_viewer_second"`
	PullsPerVS       float64              `json:"pulls_per_viewer_second"`
	DroppedShare     map[string]float64   `json:"dropped_share"`
	LostProtected    int64                `json:"lost_protected"`
	LostViewers      int64                `json:"viewers_with_loss"`
	ExpectedNotices  int64                `json:"expected_notice_deliveries"`
	ServerCPU        float64              `json:"server_cpu_seconds"` // server figures: summed over the servers
	DeliveriesPerCPU float64              `json:"deliveries_per_server_cpu_second"`
	ServerRSSIdle    int64                `json:"server_rss_idle_bytes"`
	ServerRSSBase    int64                `json:"server_rss_before_bytes"`
	ServerRSSEnd     int64                `json:"server_rss_end_bytes"`
	BytesPerViewer   float64              `json:"server_bytes_per_viewer"`
	// RSSPerViewer is the servers' whole idle RSS over the viewers (what the base costs
	// included: many small nodes pay it many times); the tester's own, likewise.
	RSSPerViewer       float64          `json:"server_rss_per_viewer_bytes"`
	TesterRSSIdle      int64            `json:"tester_rss_idle_bytes"` // the driver's and its worker processes' RSS after the connect
	TesterRSSPerViewer float64          `json:"tester_rss_per_viewer_bytes"`
	TesterProcesses    int              `json:"tester_processes"`
	TesterCPU          float64          `json:"tester_cpu_seconds"`      // the driver's and the workers' CPU from their start to the end of the drain
	TesterCPUSend      float64          `json:"tester_cpu_send_seconds"` // of which from the send phase on (sending and the drain)
	Servers            []ServerStat     `json:"servers,omitempty"`       // per server (--server-pid)
	KilledAt           float64          `json:"killed_at_s,omitempty"`   // --kill-pids: seconds into the send phase the servers were killed
	Membership         *Membership      `json:"membership,omitempty"`    // cluster runs (several --url)
	Placement          *Placement       `json:"placement,omitempty"`     // the room grains and replicas per node (placement.go)
	Resume             Quantiles        `json:"resume"`                  // from a joined session's end (not churn) to the next joined
	Reconnects         int64            `json:"reconnects"`              // such resumptions (totals.reconnects counts every attempt after a viewer's first)
	ChurnResume        Quantiles        `json:"churn_resume"`            // --churn: from a churned session's end to the next joined (totals.churns: how many)
	SlowKicked         int64            `json:"slow_kicked"`             // --slow-mode stop: stalled viewers the server kicked or closed (slow_ends other than open)
	SlowOpen           int64            `json:"slow_open"`               // stalled viewers still open when the run ended
	StampConflicts     int64            `json:"stamp_conflicts"`         // --check-stamps: seqs a worker's viewers saw with two different ts (a seq stamped twice)
	SlowEnds           map[string]int64 `json:"slow_ends,omitempty"`     // how the stalled viewers' sessions ended: "kick <reason>", "close <code>", "eof", "open", "not joined", "no report"
	RSSDrift           float64          `json:"rss_drift"`               // growth of the server RSS after --warmup: (max - min) / min of the per-minute floors (-1: not measured)
	GoroutineDrift     float64          `json:"goroutine_drift"`         // the same of the goroutines
	RSSSpread          float64          `json:"rss_spread"`              // (max - min) / min of the per-second server RSS after --warmup (-1: not measured)
	GoroutineSpread    float64          `json:"goroutine_spread"`        // the same of the per-second goroutines
	Seconds            []Second         `json:"seconds"`
	Counters           *CounterResult   `json:"counters,omitempty"`          // --likes, --counter-posts
	Classes            []ClassResult    `json:"room_size_classes,omitempty"` // per room-size class (roomsizes.go), the classes with rooms
	Failed             []string         `json:"failed_budgets,omitempty"`
}
