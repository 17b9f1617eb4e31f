package loadtest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// WriteJSON writes the result as indented JSON.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// Summary writes the human-readable result.
func (r *Result) Summary(w io.Writer) {
	c := r.Config
	sizes := ""
	if c.RoomSizes != "" && c.RoomSizes != "even" {
		sizes = " (room sizes " + c.RoomSizes + ")"
	}
	fmt.Fprintf(w, "liveroom-loadtest: %d viewers, %d room(s)%s, %v, rates %v per room, slow %.0f%% (%s, %s rooms), mode %s\n",
		c.Viewers, c.Rooms, sizes, c.Duration, c.Rates, c.Slow*100, c.SlowMode, c.SlowRooms, r.Mode)
	fmt.Fprintf(w, "connect: %d joined in %.1fs (%.0f/s)\n", r.Totals.FirstJoins, r.ConnectSeconds, r.ConnectRate)
	r.counterSummary(w)
	fmt.Fprintf(w, "sent: %v  errors: %v", r.Sent, r.SendErrors)
	if len(r.SendErrorCauses) > 0 {
		causes := make([]string, 0, len(r.SendErrorCauses))
		for c, n := range r.SendErrorCauses {
			causes = append(causes, fmt.Sprintf("%s %d", c, n))
		}
		sort.Strings(causes)
		fmt.Fprintf(w, " (%s)", strings.Join(causes, ", "))
	}
	fmt.Fprintln(w)
	pris := make([]string, 0, len(r.Latency))
	for p := range r.Latency {
		pris = append(pris, p)
	}
	sort.Strings(pris)
	for _, p := range pris {
		q := r.Latency[p]
		fmt.Fprintf(w, "latency %-6s n=%-10d p50 %7.1fms  p90 %7.1fms  p99 %7.1fms  max %7.1fms  dropped share %.1f%%\n",
			p, q.Count, q.P50, q.P90, q.P99, q.Max, 100*r.DroppedShare[p])
	}
	for _, p := range priNames {
		if q, ok := r.AckLatency[p]; ok || r.LongestAckGap[p] > 0 {
			fmt.Fprintf(w, "acks    %-6s n=%-10d p50 %7.1fms  p90 %7.1fms  p99 %7.1fms  max %7.1fms  longest gap %.2fs\n",
				p, q.Count, q.P50, q.P90, q.P99, q.Max, r.LongestAckGap[p])
		}
	}
	if r.NoticeRetries > 0 || r.NoticesUnacked > 0 {
		fmt.Fprintf(w, "notice retries %d, notices never acknowledged %d (not in the loss check)\n", r.NoticeRetries, r.NoticesUnacked)
	}
	fmt.Fprintf(w, "deliveries %.0f/s  frames %.0f/s  notifies %.2f/viewer/s  pulls %.2f/viewer/s  kicks %d  reconnects %d\n",
		r.DeliveriesPerS, r.FramesPerS, r.NotifiesPerVS, r.PullsPerVS, r.Totals.Kicks, r.Totals.Reconnects)
	if len(r.Totals.KickWhy) > 0 {
		fmt.Fprintf(w, "kicks by reason:")
		for _, why := range kickReasons {
			if n := r.Totals.KickWhy[why]; n > 0 {
				fmt.Fprintf(w, " %s %d", why, n)
			}
		}
		fmt.Fprintln(w)
	}
	if r.Totals.DialFails > 0 || r.Totals.ErrorFrames > 0 {
		fmt.Fprintf(w, "attempts that did not join: %d (of which %d joins unanswered for 10 s); error frames %d",
			r.Totals.DialFails, r.Totals.JoinTimeouts, r.Totals.ErrorFrames)
		for _, code := range errorCodes {
			if n := r.Totals.ErrorWhy[code]; n > 0 {
				fmt.Fprintf(w, " %s %d", code, n)
			}
		}
		fmt.Fprintln(w)
	}
	if r.Totals.SilentEnds > 0 {
		fmt.Fprintf(w, "sessions closed after 2 x %v of silence (--liveness): %d\n", c.Liveness, r.Totals.SilentEnds)
	}
	if r.Reconnects > 0 {
		q := r.Resume
		fmt.Fprintf(w, "resumed %d sessions: p50 %.1fms  p90 %.1fms  p99 %.1fms  max %.1fms from a session's end to the next joined\n",
			r.Reconnects, q.P50, q.P90, q.P99, q.Max)
	}
	if r.Totals.Churns > 0 {
		q := r.ChurnResume
		fmt.Fprintf(w, "churned %d sessions, %d resumed: p50 %.1fms  p99 %.1fms  max %.1fms\n", r.Totals.Churns, q.Count, q.P50, q.P99, q.Max)
	}
	if len(r.SlowEnds) > 0 {
		ends := make([]string, 0, len(r.SlowEnds))
		for how, n := range r.SlowEnds {
			ends = append(ends, fmt.Sprintf("%s %d", how, n))
		}
		sort.Strings(ends)
		fmt.Fprintf(w, "stalled viewers: %d kicked or closed by the server, %d still open (%s)\n", r.SlowKicked, r.SlowOpen, strings.Join(ends, ", "))
	}
	fmt.Fprintf(w, "lost protected: %d (of %d expected notice deliveries, %d viewers)  accounting errors: %d\n",
		r.LostProtected, r.ExpectedNotices, r.LostViewers, r.Totals.AcctErrors)
	r.classSummary(w)
	if r.ServerCPU > 0 {
		what := "server"
		if len(r.Servers) > 1 {
			what = fmt.Sprintf("%d servers (summed)", len(r.Servers))
		}
		fmt.Fprintf(w, "%s: %.1f CPU-s, %.0f deliveries per CPU-second, RSS idle %.1f MB (%.0f B/viewer over the %.1f MB before; %.0f B/viewer in all), end %.1f MB\n",
			what, r.ServerCPU, r.DeliveriesPerCPU, mb(r.ServerRSSIdle), r.BytesPerViewer, mb(r.ServerRSSBase), r.RSSPerViewer, mb(r.ServerRSSEnd))
	}
	if r.TesterRSSIdle > 0 {
		fmt.Fprintf(w, "load tester: RSS idle %.1f MB in %d processes (%.0f B/viewer), %.1f CPU-s (%.1f from the send phase on), viewer IO %s\n",
			mb(r.TesterRSSIdle), r.TesterProcesses, r.TesterRSSPerViewer, r.TesterCPU, r.TesterCPUSend, r.Config.ViewerIO)
	}
	if len(r.Servers) > 1 {
		for _, s := range r.Servers {
			node := ""
			if s.URL != "" {
				node = fmt.Sprintf(" %s, %d viewers", s.URL, s.Viewers)
			}
			fmt.Fprintf(w, "  pid %d%s: %.1f CPU-s, RSS idle %.1f MB (%.0f B/viewer over the %.1f MB before), end %.1f MB",
				s.PID, node, s.CPU, mb(s.RSSIdle), s.BytesPerViewer, mb(s.RSSBase), mb(s.RSSEnd))
			if s.Killed {
				fmt.Fprint(w, "  KILLED")
			} else if s.Exited {
				fmt.Fprint(w, "  EXITED")
			}
			fmt.Fprintln(w)
		}
	} else if len(r.Servers) == 1 && r.Servers[0].Exited {
		fmt.Fprintf(w, "server pid %d EXITED before the senders stopped\n", r.Servers[0].PID)
	}
	if r.RSSDrift >= 0 || r.GoroutineDrift >= 0 {
		fmt.Fprintf(w, "drift after the %v warm-up ((max - min) / min of the per-minute floors): server RSS %s, goroutines %s; "+
			"per-second spread: RSS %s, goroutines %s\n",
			c.Warmup, pct(r.RSSDrift), pct(r.GoroutineDrift), pct(r.RSSSpread), pct(r.GoroutineSpread))
	}
	if r.Placement != nil {
		r.Placement.summary(w)
	}
	if m := r.Membership; m != nil {
		if m.Min < 0 {
			fmt.Fprintf(w, "cluster members: not read (%d reads failed or lacked %s)\n", m.Failed, membersGauge)
		} else {
			fmt.Fprintf(w, "cluster members: min %d max %d over %d nodes' lists, %d left during the run (%d readings, %d failed)\n",
				m.Min, m.Max, len(m.Nodes), m.Left, m.Samples, m.Failed)
			if m.Min != m.Max || m.Left > 0 || m.Failed > 0 {
				for _, n := range m.Nodes {
					fmt.Fprintf(w, "  %s: min %d max %d, %d left (%d readings, %d failed)\n", n.URL, n.Min, n.Max, n.Left, n.Samples, n.Failed)
				}
			}
		}
	}
	if len(r.Failed) > 0 {
		fmt.Fprintf(w, "FAILED budgets: %s\n", strings.Join(r.Failed, ", "))
	}
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

// pct formats a fraction as a percentage ("not measured" when negative).
func pct(f float64) string {
	if f < 0 {
		return "not measured"
	}
	return fmt.Sprintf("%.1f%%", 100*f)
}

// Check evaluates a budget like "p99<1s,lost=0,acct=0" and records what failed.
// Metrics: p50, p90, p99, max (worst over priorities, as durations), lost, acct, kicks,
// dpc (deliveries per server CPU-second), bpv (server bytes per viewer over the RSS before),
// rss_pv (the servers' whole RSS per viewer), exited (server
// processes gone when the senders stopped), members (fewest cluster members any node listed
// during the run; -1 when not read), members_left (members that left a node's list), ack_p99
// (p99 of the system notices' acknowledgement latency, a duration; +Inf when notices were due
// and none was acknowledged), ack_gap (the longest stretch of the send phase without an
// acknowledged notice, a duration), resume_max (the longest time from a lost session's end to
// the viewer's next joined, a duration), slow_open (stalled viewers, --slow-mode stop, that the
// server had neither kicked nor closed when the run ended), rss_drift and goroutines_drift
// ((max - min) / min of the servers' per-second RSS and goroutines after --warmup, a fraction;
// +Inf when not measured).
func (r *Result) Check(budget string) error {
	r.Failed = nil
	for _, term := range strings.Split(budget, ",") {
		term = strings.TrimSpace(term)
		if term == "" {
			continue
		}
		i := strings.IndexAny(term, "<>=")
		if i <= 0 {
			return fmt.Errorf("budget %q: want metric<op>value", term)
		}
		name := term[:i]
		opEnd := i + 1
		if opEnd < len(term) && term[opEnd] == '=' {
			opEnd++
		}
		opStr, valStr := term[i:opEnd], term[opEnd:]
		got, isDur, err := r.metric(name)
		if err != nil {
			return err
		}
		var want float64
		if isDur {
			d, err := time.ParseDuration(valStr)
			if err != nil {
				return fmt.Errorf("budget %q: %v", term, err)
			}
			want = float64(d) / float64(time.Millisecond)
		} else if want, err = strconv.ParseFloat(valStr, 64); err != nil {
			return fmt.Errorf("budget %q: %v", term, err)
		}
		ok := false
		switch opStr {
		case "<":
			ok = got < want
		case "<=":
			ok = got <= want
		case "=", "==":
			ok = got == want
		case ">":
			ok = got > want
		case ">=":
			ok = got >= want
		default:
			return fmt.Errorf("budget %q: unknown operator %q", term, opStr)
		}
		if !ok {
			r.Failed = append(r.Failed, fmt.Sprintf("%s (got %g)", term, got))
		}
	}
	return nil
}

func (r *Result) metric(name string) (float64, bool, error) {
	worst := func(f func(Quantiles) float64) float64 {
		var m float64
		for _, q := range r.Latency {
			m = max(m, f(q))
		}
		return m
	}
	switch name {
	case "p50":
		return worst(func(q Quantiles) float64 { return q.P50 }), true, nil
	case "p90":
		return worst(func(q Quantiles) float64 { return q.P90 }), true, nil
	case "p99":
		return worst(func(q Quantiles) float64 { return q.P99 }), true, nil
	case "max":
		return worst(func(q Quantiles) float64 { return q.Max }), true, nil
	case "lost":
		return float64(r.LostProtected), false, nil
	case "acct":
		return float64(r.Totals.AcctErrors), false, nil
	case "kicks":
		return float64(r.Totals.Kicks), false, nil
	case "dpc":
		return r.DeliveriesPerCPU, false, nil
	case "bpv":
		return r.BytesPerViewer, false, nil
	case "rss_pv":
		return r.RSSPerViewer, false, nil
	case "members":
		if r.Membership == nil {
			return -1, false, nil
		}
		return float64(r.Membership.Min), false, nil
	case "members_left":
		if r.Membership == nil {
			return 0, false, nil
		}
		return float64(r.Membership.Left), false, nil
	case "ack_p99":
		q, ok := r.AckLatency["system"]
		if !ok && r.Config.Rates["system"] > 0 {
			return math.Inf(1), true, nil
		}
		return q.P99, true, nil
	case "ack_gap":
		return r.LongestAckGap["system"] * 1000, true, nil
	case "rss_drift", "goroutines_drift":
		v := r.RSSDrift
		if name == "goroutines_drift" {
			v = r.GoroutineDrift
		}
		if v < 0 {
			return math.Inf(1), false, nil
		}
		return v, false, nil
	case "slow_open":
		return float64(r.SlowOpen), false, nil
	case "resume_max":
		return r.Resume.Max, true, nil
	case "exited":
		var n int
		for _, s := range r.Servers {
			if s.Exited && !s.Killed {
				n++
			}
		}
		return float64(n), false, nil
	}
	return 0, false, fmt.Errorf("budget: unknown metric %q (p50 p90 p99 max lost acct kicks dpc bpv rss_pv exited members members_left ack_p99 ack_gap resume_max slow_open rss_drift goroutines_drift)", name)
}

// Plot is one of the report's plots: a title, a file name and the PNG.
type Plot struct {
	Title, Name string
	PNG         []byte
}

// WriteHTML writes a self-contained report: the summary and PNG plots inlined as data URIs.
func (r *Result) WriteHTML(w io.Writer) error {
	var sum bytes.Buffer
	r.Summary(&sum)
	plots, err := r.Plots()
	if err != nil {
		return err
	}
	type img struct{ Title, Data string }
	imgs := make([]img, 0, len(plots))
	for _, p := range plots {
		imgs = append(imgs, img{p.Title, base64.StdEncoding.EncodeToString(p.PNG)})
	}
	raw, _ := json.MarshalIndent(r, "", "  ")
	var classes []ClassResult
	if len(r.Classes) > 1 {
		classes = r.Classes
	}
	return reportTmpl.Execute(w, map[string]any{"Summary": sum.String(), "Imgs": imgs, "JSON": string(raw), "Classes": classes, "Placement": r.Placement,
		"P": func(c ClassResult, pri string) string { return p50p99(c.Latency, pri) }})
}

// WritePlots writes every plot of the report as a PNG file in dir (prefix-<name>.png).
func (r *Result) WritePlots(dir, prefix string) error {
	plots, err := r.Plots()
	if err != nil {
		return err
	}
	for _, p := range plots {
		if err := os.WriteFile(filepath.Join(dir, prefix+"-"+p.Name+".png"), p.PNG, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Plots draws the report's plots over the run's seconds.
func (r *Result) Plots() ([]Plot, error) {
	var plots []Plot
	add := func(name, title, ylabel string, series map[string]func(Second) float64) error {
		p := plot.New()
		p.Title.Text = title
		p.X.Label.Text = "seconds"
		p.Y.Label.Text = ylabel
		var args []any
		names := make([]string, 0, len(series))
		for n := range series {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			pts := make(plotter.XYs, 0, len(r.Seconds))
			for _, s := range r.Seconds {
				pts = append(pts, plotter.XY{X: float64(s.T), Y: series[n](s)})
			}
			args = append(args, n, pts)
		}
		if err := plotutil.AddLinePoints(p, args...); err != nil {
			return err
		}
		wt, err := p.WriterTo(8*vg.Inch, 3*vg.Inch, "png")
		if err != nil {
			return err
		}
		var b bytes.Buffer
		if _, err := wt.WriteTo(&b); err != nil {
			return err
		}
		plots = append(plots, Plot{Title: title, Name: name, PNG: b.Bytes()})
		return nil
	}
	lat := map[string]func(Second) float64{}
	for _, p := range priNames {
		p := p
		lat[p] = func(s Second) float64 { return s.Latency[p] }
	}
	if err := add("latency", "p99 latency per second", "ms", lat); err != nil {
		return nil, err
	}
	if err := add("deliveries", "deliveries and frames per second", "per second", map[string]func(Second) float64{
		"deliveries": func(s Second) float64 { return float64(s.Deliveries) },
		"frames":     func(s Second) float64 { return float64(s.Totals.Frames) },
	}); err != nil {
		return nil, err
	}
	if err := add("pulls", "dropped in pulls, notifies, pulls per second", "per second", map[string]func(Second) float64{
		"dropped":  func(s Second) float64 { return float64(s.Totals.Dropped) },
		"notifies": func(s Second) float64 { return float64(s.Totals.Notifies) },
		"pulls":    func(s Second) float64 { return float64(s.Totals.Pulls) },
	}); err != nil {
		return nil, err
	}
	cpu := map[string]func(Second) float64{"server": func(s Second) float64 { return s.ServerCPU }}
	if len(r.Servers) > 1 {
		cpu = map[string]func(Second) float64{"sum": func(s Second) float64 { return s.ServerCPU }}
		for k, srv := range r.Servers {
			cpu[fmt.Sprintf("pid %d", srv.PID)] = func(s Second) float64 {
				if k < len(s.ServerCPUs) {
					return s.ServerCPUs[k]
				}
				return 0
			}
		}
	}
	if err := add("cpu", "server CPU per second", "CPU-s", cpu); err != nil {
		return nil, err
	}
	if err := add("rss", "server RSS (summed over the nodes)", "MB", map[string]func(Second) float64{
		"rss": func(s Second) float64 { return mb(s.ServerRSS) },
	}); err != nil {
		return nil, err
	}
	if err := add("goroutines", "goroutines and sessions (summed over the nodes)", "count", map[string]func(Second) float64{
		"goroutines": func(s Second) float64 { return float64(s.Goroutines) },
		"sessions":   func(s Second) float64 { return float64(s.Sessions) },
	}); err != nil {
		return nil, err
	}
	if m := r.Membership; m != nil && m.Min >= 0 {
		series := map[string]func(Second) float64{}
		for k, n := range m.Nodes {
			series[n.URL] = func(s Second) float64 {
				if k < len(s.Members) {
					return float64(s.Members[k])
				}
				return -1
			}
		}
		if err := add("members", "cluster members in each node's list", "members", series); err != nil {
			return nil, err
		}
	}
	return plots, nil
}

var reportTmpl = template.Must(template.New("r").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>liveroom load test</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:60em}pre{background:#f4f4f4;padding:1em;overflow:auto}img{max-width:100%}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:right}</style>
</head><body><h1>liveroom load test</h1>
<pre>{{.Summary}}</pre>
{{with .Classes}}<h2>By room size</h2>
<table><tr><th>viewers per room</th><th>rooms</th><th>viewers</th><th>deliveries/s</th><th>normal p50 / p99 ms</th><th>system p50 / p99 ms</th><th>lost notices</th></tr>
{{range .}}<tr><td>{{.Class}}</td><td>{{.Rooms}}</td><td>{{.Viewers}}</td><td>{{printf "%.0f" .DeliveriesPerS}}</td><td>{{call $.P . "normal"}}</td><td>{{call $.P . "system"}}</td><td>{{.Lost}} of {{.Expected}}</td></tr>
{{end}}</table>{{end}}
{{with .Placement}}<h2>Rooms per node</h2>
<p>Room grains (<code>liveroom_rooms</code>) and replicas (<code>liveroom_replicas</code>) per node: the most at a reading of the send phase, and at the end; expected replicas are the distinct rooms of the viewers the node was given. {{.Rooms}} rooms, {{.ReplicasExpected}} replicas expected.</p>
<table><tr><th>node</th><th>grains max</th><th>grains end</th><th>replicas max</th><th>replicas end</th><th>replicas expected</th></tr>
{{range .Nodes}}<tr><td>{{.URL}}</td><td>{{.GrainsMax}}</td><td>{{.GrainsEnd}}</td><td>{{.ReplicasMax}}</td><td>{{.ReplicasEnd}}</td><td>{{.ReplicasExpected}}</td></tr>
{{end}}</table>{{end}}
{{range .Imgs}}<h2>{{.Title}}</h2><img alt="{{.Title}}" src="data:image/png;base64,{{.Data}}">{{end}}
<details><summary>raw result</summary><pre>{{.JSON}}</pre></details>
</body></html>
`))

// classSummary writes the table of the room-size classes (several only: one is the run).
func (r *Result) classSummary(w io.Writer) {
	if len(r.Classes) < 2 {
		return
	}
	fmt.Fprintln(w, "by room size (viewers per room):")
	fmt.Fprintf(w, "  %-9s %6s %8s %13s %22s %22s  %s\n", "class", "rooms", "viewers", "deliveries/s", "normal p50 / p99 ms", "system p50 / p99 ms", "lost notices")
	for _, c := range r.Classes {
		fmt.Fprintf(w, "  %-9s %6d %8d %13.0f %22s %22s  %d of %d\n", c.Class, c.Rooms, c.Viewers,
			c.DeliveriesPerS, p50p99(c.Latency, "normal"), p50p99(c.Latency, "system"), c.Lost, c.Expected)
	}
}

// p50p99 is "p50 / p99" of a priority in ms ("-" without deliveries).
func p50p99(lat map[string]Quantiles, pri string) string {
	q, ok := lat[pri]
	if !ok || q.Count == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f / %.1f", q.P50, q.P99)
}

// counterSummary writes the counters' lines (--likes, --counter-posts).
func (r *Result) counterSummary(w io.Writer) {
	c := r.Counters
	if c == nil {
		return
	}
	check := "totals exact"
	if len(c.Failures) > 0 {
		check = "MISMATCH"
	}
	batch := "one add per tap"
	if r.Config.LikeBatch > 0 {
		batch = "taps summed every " + r.Config.LikeBatch.String()
	}
	refused := strconv.FormatInt(c.AddsRefused, 10)
	if c.AddsRefusedMax > c.AddsRefused {
		refused += ".." + strconv.FormatInt(c.AddsRefusedMax, 10)
	}
	fmt.Fprintf(w, "counters: likes offered %d taps in %d add frames (%.0f/s, %s), accepted %d (refused %s, in doubt %d), server +%d; gift_value acknowledged %d (in doubt %d, %d post errors), server +%d\n",
		c.AddsOffered, c.AddFrames, c.AddFramesPerS, batch, c.AddsAccepted, refused, c.AddsInDoubt, c.ServerLikes, c.GiftPosted, c.GiftInDoubt, c.PostErrors, c.ServerGift)
	fmt.Fprintf(w, "counters: %.2f frames per viewer per second (highest 2 s mean %.2f); settled in %.0f ms; %d viewers checked, %d mismatched: %s\n",
		c.FramesPerVS, c.FramesPerVSPeak, c.SettleMs, c.ViewersChecked, c.ViewersMismatch, check)
	for _, f := range c.Failures {
		fmt.Fprintf(w, "counters MISMATCH: %s\n", f)
	}
}
