package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// Counters under load, the driver's half (the viewers' is counters.go): with --counter-posts R
// the backend POSTs gift_value adds R times a second per room. The driver reads every room's
// counters when the send phase begins (the base: a reused --prefix or a restarted Redis
// may hold earlier totals) and, after the drain, until they settle: until the likes added
// since the base are the adds accepted (written minus refused) and each room's gift_value the
// deltas acknowledged, or counterSettle passed. The workers then wait until each viewer's last
// likes total is its room's (viewerSettle) and report. Each room must then show:
//   - likes: the server's, less the base, is the room's taps accepted (less at most those in
//     doubt, and those whose refusal left the delta unknown: counters.go),
//   - gift_value: the server's, less the base, is the deltas acknowledged (plus at most those
//     of the posts that failed without a definite answer),
//   - every joined viewer's last likes total is the server's.
// Any difference is a failure of the run.

// counterSettle bounds the driver's wait for the totals; viewerSettle the workers' wait for
// the viewers' last counters frames. Vars for the tests.
var (
	counterSettle = 10 * time.Second
	viewerSettle  = 10 * time.Second
)

// CounterResult is the counters' part of a Result.
type CounterResult struct {
	AddsOffered     int64            `json:"adds_offered"`                          // likes tapped and written by the viewers (the adds' deltas summed)
	AddFrames       int64            `json:"add_frames"`                            // add frames carrying them (as many as taps without --like-batch)
	AddFramesPerS   float64          `json:"add_frames_per_second"`                 // over the send phase
	AddsRefused     int64            `json:"adds_refused"`                          // taps answered with an error (rate_limited, ...), at least
	AddsRefusedMax  int64            `json:"adds_refused_max"`                      // at most: above adds_refused only when refused adds' deltas are not known (counters.go)
	AddsAccepted    int64            `json:"adds_accepted"`                         // offered - refused
	AddsInDoubt     int64            `json:"adds_in_doubt"`                         // written just before their session ended (counters.go)
	ServerLikes     int64            `json:"server_likes"`                          // added during the run, summed over the rooms (GET /v1/rooms/{room})
	FramesPerVS     float64          `json:"counter_frames_per_viewer_second"`      // mean over the send phase
	FramesPerVSPeak float64          `json:"counter_frames_per_viewer_second_peak"` // its highest two-second mean
	GiftPosted      int64            `json:"gift_posted"`                           // gift_value acknowledged with a 200
	GiftInDoubt     int64            `json:"gift_in_doubt"`                         // of posts without a definite answer
	ServerGift      int64            `json:"server_gift"`                           // added during the run
	PostErrors      int64            `json:"gift_post_errors"`                      // posts not acknowledged (skipped ones included)
	ViewersChecked  int64            `json:"viewers_checked"`
	ViewersMismatch int64            `json:"viewers_mismatch"` // joined viewers whose last likes total was not the room's
	SettleMs        float64          `json:"settle_ms"`        // from the drain's end until the totals settled
	Settled         bool             `json:"settled"`          // they did within counterSettle
	Rooms           map[string]int64 `json:"server_likes_by_room,omitempty"`
	Failures        []string         `json:"failures,omitempty"`
}

// counterRooms is the rooms whose counters the run checks, sorted.
func (c *Config) counterRooms() []string {
	set := map[string]bool{}
	if c.Likes > 0 {
		for i := 0; i < c.Viewers; i++ {
			set[c.viewerRoom(i)] = true
		}
	}
	if c.CounterPosts > 0 {
		for i := 0; i < c.postRooms(); i++ {
			set[c.postRoom(i)] = true
		}
	}
	rooms := make([]string, 0, len(set))
	for r := range set {
		rooms = append(rooms, r)
	}
	sort.Strings(rooms)
	return rooms
}

// roomCounters is one reading of the checked rooms' totals: room -> counter -> total.
type roomCounters map[string]map[string]int64

// readCounters reads every checked room's counters from the first node.
func (d *driver) readCounters() (roomCounters, error) {
	out := roomCounters{}
	for _, room := range d.cfg.counterRooms() {
		t, err := roomTotals(&d.cfg, room)
		if err != nil {
			return nil, err
		}
		out[room] = t
	}
	return out, nil
}

// roomTotals reads a room's counters (GET /v1/rooms/{room}).
func roomTotals(cfg *Config, room string) (map[string]int64, error) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(cfg.node(0) + "/v1/rooms/" + room)
	req.Header.Set("Authorization", "Bearer "+cfg.APIKey)
	if err := fasthttp.DoTimeout(req, resp, 10*time.Second); err != nil {
		return nil, fmt.Errorf("GET room %s: %w", room, err)
	}
	if resp.StatusCode() != 200 {
		return nil, fmt.Errorf("GET room %s: %d %s", room, resp.StatusCode(), resp.Body())
	}
	var info struct {
		Counters map[string]int64 `json:"counters"`
	}
	if err := json.Unmarshal(resp.Body(), &info); err != nil {
		return nil, fmt.Errorf("GET room %s: %w", room, err)
	}
	return info.Counters, nil
}

// counterBase reads the totals the rooms start the send phase with.
func (d *driver) counterBase() error {
	if d.cfg.Likes <= 0 && d.cfg.CounterPosts <= 0 {
		return nil
	}
	base, err := d.readCounters()
	if err != nil {
		return fmt.Errorf("counters at the start: %w", err)
	}
	d.cntBase = base
	return nil
}

// settleCounters reads the totals until they are what the adds accepted and the posts
// acknowledged make them (from the workers' latest ticks), or counterSettle passes; it
// returns the last reading (nil when none succeeded).
func (d *driver) settleCounters() (roomCounters, bool, time.Duration) {
	start := time.Now()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	var last roomCounters
	for {
		cur, err := d.readCounters()
		if err == nil {
			last = cur
			tot := collect(d.workers, nil)
			if d.countersSettled(cur, tot) {
				return cur, true, time.Since(start)
			}
		}
		if time.Since(start) > counterSettle {
			return last, false, time.Since(start)
		}
		<-t.C
	}
}

// countersSettled tells whether a reading accounts for every add and post.
func (d *driver) countersSettled(cur roomCounters, tot Totals) bool {
	var likes int64
	for room, t := range cur {
		likes += t["likes"] - d.cntBase[room]["likes"]
		if d.gifts != nil {
			got, posted, doubt := t["gift_value"]-d.cntBase[room]["gift_value"], d.gifts.posted[room], d.gifts.doubt[room]
			if got < posted || got > posted+doubt {
				return false
			}
		}
	}
	acc := tot.AddsOffered - tot.AddsRefused
	return d.cfg.Likes <= 0 || (likes <= acc && likes >= acc-tot.AddsInDoubt-(tot.AddsRefusedMax-tot.AddsRefused))
}

// likesOfRooms is the likes total of each room of a reading.
func likesOfRooms(cur roomCounters) map[string]int64 {
	if cur == nil {
		return nil
	}
	out := make(map[string]int64, len(cur))
	for room, t := range cur {
		out[room] = t["likes"]
	}
	return out
}

// checkCounters compares the workers' reports (seen, by room) and the backend's posts with
// the settled reading; every difference is a failure.
func (d *driver) checkCounters(seen map[string]likesSeen, tot Totals) {
	cfg := &d.cfg
	if cfg.Likes <= 0 && cfg.CounterPosts <= 0 {
		return
	}
	cr := d.res.Counters
	if cr == nil {
		cr = &CounterResult{}
		d.res.Counters = cr
	}
	cr.AddsOffered, cr.AddsRefused, cr.AddsRefusedMax, cr.AddsInDoubt = tot.AddsOffered, tot.AddsRefused, tot.AddsRefusedMax, tot.AddsInDoubt
	cr.AddsAccepted = tot.AddsOffered - tot.AddsRefused
	cr.AddFrames = tot.AddFrames
	if s := cfg.Duration.Seconds(); s > 0 {
		cr.AddFramesPerS = float64(tot.AddFrames) / s
	}
	cr.Rooms = map[string]int64{}
	// The peak is of two-second means: a worker's tick that comes late puts two seconds' frames
	// into one second and none into the one before.
	secs := d.res.Seconds
	for i, s := range secs {
		v := float64(s.Totals.CounterFrames) / float64(max(cfg.Viewers, 1))
		cr.FramesPerVS += v / float64(len(secs))
		if i > 0 {
			cr.FramesPerVSPeak = max(cr.FramesPerVSPeak, (v+float64(secs[i-1].Totals.CounterFrames)/float64(max(cfg.Viewers, 1)))/2)
		}
	}
	fail := func(format string, args ...any) { cr.Failures = append(cr.Failures, fmt.Sprintf(format, args...)) }
	if d.gifts != nil {
		cr.PostErrors = d.gifts.errs
	}
	if d.cntEnd == nil {
		fail("the rooms' counters were not read after the drain")
		return
	}
	if !cr.Settled {
		fail("the totals did not settle within %v", counterSettle)
	}
	for _, room := range cfg.counterRooms() {
		totals, ok := d.cntEnd[room]
		if !ok {
			fail("%s: counters not read", room)
			continue
		}
		if cfg.Likes > 0 {
			d.checkLikes(cr, room, totals["likes"], seen[room], fail)
		}
		if d.gifts != nil {
			got := totals["gift_value"] - d.cntBase[room]["gift_value"]
			posted, doubt := d.gifts.posted[room], d.gifts.doubt[room]
			cr.ServerGift += got
			cr.GiftPosted += posted
			cr.GiftInDoubt += doubt
			if got < posted || got > posted+doubt {
				fail("%s: gift_value grew by %d on the server, %d acknowledged (%d in doubt)", room, got, posted, doubt)
			}
		}
	}
}

// checkLikes checks one room's likes: total is the server's, s what its viewers did and saw.
func (d *driver) checkLikes(cr *CounterResult, room string, total int64, s likesSeen, fail func(string, ...any)) {
	got := total - d.cntBase[room]["likes"]
	cr.ServerLikes += got
	cr.Rooms[room] = total
	acc := s.Offered - s.Refused
	if got > acc || got < acc-s.Doubt-(s.RefusedMax-s.Refused) {
		fail("%s: likes grew by %d on the server, %d taps accepted (%d offered in %d adds, %d..%d refused, %d in doubt)",
			room, got, acc, s.Offered, s.Frames, s.Refused, s.RefusedMax, s.Doubt)
	}
	cr.ViewersChecked += s.Viewers + s.None
	cr.ViewersMismatch += s.Off + s.None
	if s.Off > 0 || s.None > 0 {
		fail("%s: %d viewers' last likes total was not the server's %d (theirs %d..%d), %d had none", room, s.Off, total, s.Min, s.Max, s.None)
	}
}

// giftPoster is the backend's counter sender: POSTs of gift_value (delta 1..10) at
// cfg.CounterPosts per second per room, spread over the rooms and the nodes, at most 32 at
// once (a post that finds them all busy is skipped and counted as an error).
type giftPoster struct {
	cfg    Config
	client *fasthttp.Client
	mu     sync.Mutex       // guards the maps and errs until run returns
	posted map[string]int64 // room -> gift_value acknowledged with a 200
	doubt  map[string]int64 // room -> gift_value of posts without a definite answer (timeouts, 5xx)
	errs   int64
}

func newGiftPoster(cfg Config) *giftPoster {
	return &giftPoster{cfg: cfg, client: &fasthttp.Client{MaxConnsPerHost: 32}, posted: map[string]int64{}, doubt: map[string]int64{}}
}

func (g *giftPoster) run(ctx context.Context) {
	rate := g.cfg.CounterPosts * float64(g.cfg.postRooms())
	if rate <= 0 {
		return
	}
	t := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer t.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	sem := make(chan struct{}, 32)
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		select {
		case sem <- struct{}{}:
		default:
			g.count("", 0, 0) // the server is behind: skipped
			continue
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			room, delta := g.cfg.postRoom(i), int64(1+i%10)
			g.count(room, delta, g.post(i, room, delta))
		}(i)
	}
}

// post sends one add: 200, the status of a refusal, or 0 without an answer.
func (g *giftPoster) post(i int, room string, delta int64) int {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(g.cfg.node(i) + "/v1/rooms/" + room + "/counters/gift_value")
	req.Header.SetMethod("POST")
	req.Header.Set("Authorization", "Bearer "+g.cfg.APIKey)
	req.SetBody(append(strconv.AppendInt(append(make([]byte, 0, 24), `{"delta":`...), delta, 10), '}'))
	if err := g.client.DoTimeout(req, resp, 10*time.Second); err != nil {
		return 0
	}
	return resp.StatusCode()
}

// count records a post's outcome: acknowledged (200), refused (4xx: not counted by the
// server) or in doubt (no answer, 5xx).
func (g *giftPoster) count(room string, delta int64, status int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case status == 200:
		g.posted[room] += delta
		return
	case status == 0 || status >= 500:
		g.doubt[room] += delta
	}
	g.errs++
}
