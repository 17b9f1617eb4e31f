package loadtest

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Room sizes (--room-sizes): how many viewers each room gets, and the report's figures per
// room-size class. A platform's load is a few big rooms and many small ones; a mix shows what
// each kind of room gets while they share the node.
//
// Forms: "even" (or empty: viewer i joins room i % Rooms, as without the flag), "zipf:S"
// (room k of Rooms gets a share of Viewers proportional to 1/(k+1)^S, at least one viewer
// each) and "COUNTxSIZE,..." (e.g. "2x1000,100x50,4000x2": COUNT rooms of SIZE viewers; the
// sums are Viewers and Rooms). Rooms are numbered largest first. Viewers are dealt out round
// robin over the rooms that still have a place (largest first), so even sizes give i % Rooms
// exactly and every worker (a block of viewer indices) holds a part of every kind of room.
//
// Posts stay spread evenly over the rooms (post i to room i % Rooms, --rate is per room):
// a big room gets the same chat as a small one, and so many more deliveries.

// roomPlan is the rooms' sizes and which room each viewer joins; read-only once built.
type roomPlan struct {
	spec  string  // as given ("" is even)
	sizes []int   // viewers of room k (<prefix>-r<k>), non-increasing
	of    []int32 // viewer i joins room of[i]
}

// sizeClasses are the report's room-size classes: a room of n viewers is in the first whose
// max is >= n.
var sizeClasses = [...]struct {
	name string
	max  int
}{{"1-2", 2}, {"3-10", 10}, {"11-100", 100}, {"101-1000", 1000}, {">1000", math.MaxInt}}

const numClasses = len(sizeClasses)

// classOf is the class of a room of n viewers.
func classOf(n int) int {
	for k, c := range sizeClasses {
		if n <= c.max {
			return k
		}
	}
	return numClasses - 1
}

// explicitSizes parses "COUNTxSIZE,...": the sizes in the order given; ok is false when spec
// is not of that form (even, zipf:S).
func explicitSizes(spec string) (sizes []int, ok bool, err error) {
	if spec == "" || spec == "even" || strings.HasPrefix(spec, "zipf:") {
		return nil, false, nil
	}
	for _, part := range strings.Split(spec, ",") {
		cnt, size, found := strings.Cut(strings.TrimSpace(part), "x")
		n, err1 := strconv.Atoi(cnt)
		s, err2 := strconv.Atoi(size)
		if !found || err1 != nil || err2 != nil || n < 1 || s < 1 {
			return nil, true, fmt.Errorf("--room-sizes: %q is not COUNTxSIZE (both at least 1); the forms are even, zipf:S and COUNTxSIZE,COUNTxSIZE", part)
		}
		if len(sizes)+n > 10_000_000 || s > 10_000_000 {
			return nil, true, fmt.Errorf("--room-sizes: %q is too big", part)
		}
		for range n {
			sizes = append(sizes, s)
		}
	}
	return sizes, true, nil
}

// explicitTotals is the viewers and rooms of an explicit spec (ok false for even and zipf).
func explicitTotals(spec string) (viewers, rooms int, ok bool) {
	sizes, ok, err := explicitSizes(spec)
	if !ok || err != nil {
		return 0, 0, false
	}
	for _, s := range sizes {
		viewers += s
	}
	return viewers, len(sizes), true
}

// newRoomPlan builds the plan of spec for viewers and rooms (both already defaulted).
func newRoomPlan(spec string, viewers, rooms int) (*roomPlan, error) {
	var sizes []int
	sizes, explicit, err := explicitSizes(spec)
	switch {
	case err != nil:
		return nil, err
	case explicit:
		v, r, _ := explicitTotals(spec)
		if v != viewers || r != rooms {
			return nil, fmt.Errorf("--room-sizes %s is %d viewers in %d rooms, not --viewers %d and --rooms %d (leave those out)", spec, v, r, viewers, rooms)
		}
		slices.SortStableFunc(sizes, func(a, b int) int { return b - a })
	case spec == "" || spec == "even":
		sizes = evenSizes(viewers, rooms)
	default:
		s, err := strconv.ParseFloat(strings.TrimPrefix(spec, "zipf:"), 64)
		if err != nil || s < 0 || s > 10 || math.IsNaN(s) {
			return nil, fmt.Errorf("--room-sizes %s: the exponent must be a number from 0 to 10", spec)
		}
		if viewers < rooms {
			return nil, fmt.Errorf("--room-sizes %s: %d viewers cannot give each of %d rooms one", spec, viewers, rooms)
		}
		sizes = zipfSizes(s, viewers, rooms)
	}
	return &roomPlan{spec: spec, sizes: sizes, of: assignViewers(sizes)}, nil
}

// evenSizes gives each of rooms viewers/rooms viewers, the first viewers % rooms one more.
func evenSizes(viewers, rooms int) []int {
	sizes := make([]int, rooms)
	for k := range sizes {
		sizes[k] = viewers / rooms
		if k < viewers%rooms {
			sizes[k]++
		}
	}
	return sizes
}

// zipfSizes shares viewers over rooms in proportion to 1/(k+1)^s, each room at least one:
// the rooms whose share would be under one get one and the others share the rest by their
// weights (the smallest such share decides, again, until every share is at least one), then
// largest remainders round the shares to integers (ties to the bigger room). The sizes sum to
// viewers exactly; viewers >= rooms.
func zipfSizes(s float64, viewers, rooms int) []int {
	w := make([]float64, rooms)
	prefix := make([]float64, rooms+1) // prefix[m]: the weight of rooms 0..m-1
	for k := range w {
		w[k] = math.Pow(float64(k+1), -s)
		prefix[k+1] = prefix[k] + w[k]
	}
	m := rooms // rooms 0..m-1 share, rooms m.. get one each
	for m > 1 && float64(viewers-(rooms-m))*w[m-1]/prefix[m] < 1 {
		m--
	}
	share := viewers - (rooms - m)
	sizes := make([]int, rooms)
	type rem struct {
		k int
		f float64
	}
	rems := make([]rem, m)
	left := share
	for k := range m {
		exact := float64(share) * w[k] / prefix[m]
		sizes[k] = int(exact)
		left -= sizes[k]
		rems[k] = rem{k, exact - float64(sizes[k])}
	}
	slices.SortStableFunc(rems, func(a, b rem) int {
		switch {
		case a.f > b.f:
			return -1
		case a.f < b.f:
			return 1
		}
		return 0
	})
	for i := 0; left > 0; i, left = i+1, left-1 {
		sizes[rems[i%m].k]++
	}
	for i := m - 1; left < 0 && i >= 0; i, left = i-1, left+1 { // a floor rounded up by the floats
		sizes[rems[i].k]--
	}
	for k := m; k < rooms; k++ {
		sizes[k] = 1
	}
	return sizes
}

// assignViewers deals the viewers out round robin over the rooms with a place left, largest
// first (sizes non-increasing): pass p gives one viewer to each room of more than p.
func assignViewers(sizes []int) []int32 {
	total := 0
	for _, s := range sizes {
		total += s
	}
	of := make([]int32, 0, total)
	for pass := 0; len(of) < total; pass++ {
		for k := 0; k < len(sizes) && sizes[k] > pass; k++ {
			of = append(of, int32(k))
		}
	}
	return of
}

// multiClass tells whether the rooms fall in more than one class: only then are the classes'
// figures recorded apart (with one class they are the run's).
func (p *roomPlan) multiClass() bool {
	seen := -1
	for _, s := range p.sizes {
		if s == 0 {
			continue
		}
		c := classOf(s)
		if seen >= 0 && c != seen {
			return true
		}
		seen = c
	}
	return false
}

// classRooms counts the rooms (with a viewer) and viewers of each class.
func (p *roomPlan) classRooms() (rooms, viewers [numClasses]int) {
	for _, s := range p.sizes {
		if s > 0 {
			rooms[classOf(s)]++
			viewers[classOf(s)] += s
		}
	}
	return rooms, viewers
}

// viewerClass is the class of viewer i's room (a slow viewer in a room of its own, --slow-rooms
// own, counts in the class of the room it would have joined).
func (c *Config) viewerClass(i int) int { return classOf(c.plan.sizes[c.plan.of[i]]) }

// classStats are a worker's figures per class (recorded only with several classes): the
// deliveries and latency histograms of each, behind one mutex per class (a frame's messages
// are recorded at once).
type classStats struct {
	cls [numClasses]struct {
		mu         sync.Mutex
		deliveries int64
		lat        [4]*hdrhistogram.Histogram // per priority, made on first use
	}
}

// record adds a frame's messages received at recvUS by a viewer of class k.
func (s *classStats) record(k int, msgs []msgInfo, recvUS int64) {
	c := &s.cls[k]
	c.mu.Lock()
	c.deliveries += int64(len(msgs))
	for _, m := range msgs {
		if c.lat[m.pri] == nil {
			c.lat[m.pri] = newHist()
		}
		_ = c.lat[m.pri].RecordValue(max(recvUS-m.ts, 1))
	}
	c.mu.Unlock()
}

// classFinal is a worker's report of one class.
type classFinal struct {
	Deliveries int64             `json:"deliveries"`
	Lat        map[string]string `json:"lat,omitempty"` // per priority, encoded histogram
	Lost       int64             `json:"lost,omitempty"`
	Expected   int64             `json:"expected,omitempty"`
}

// final encodes the classes' figures (lost and expected are the worker's to add).
func (s *classStats) final() []classFinal {
	out := make([]classFinal, numClasses)
	for k := range s.cls {
		c := &s.cls[k]
		c.mu.Lock()
		out[k].Deliveries = c.deliveries
		for p, h := range c.lat {
			if h != nil {
				if out[k].Lat == nil {
					out[k].Lat = map[string]string{}
				}
				out[k].Lat[priNames[p]] = encodeHist(h)
			}
		}
		c.mu.Unlock()
	}
	return out
}

// ClassResult is one room-size class of a run: its rooms, viewers and what they received.
type ClassResult struct {
	Class          string               `json:"class"`   // "1-2", "3-10", "11-100", "101-1000" or ">1000" viewers per room
	Rooms          int                  `json:"rooms"`   // rooms of the class
	Viewers        int                  `json:"viewers"` // their viewers
	Deliveries     int64                `json:"deliveries"`
	DeliveriesPerS float64              `json:"deliveries_per_second"` // over the send phase and the drain, as the run's
	Latency        map[string]Quantiles `json:"latency"`               // per priority
	Lost           int64                `json:"lost_protected"`
	Expected       int64                `json:"expected_notice_deliveries"`
}

// classResults builds the classes of the result from the workers' reports (finals, nil with
// one class: the run's own figures are the class's).
func (d *driver) classResults(finals [][]classFinal, deliveries int64, span float64) []ClassResult {
	res := d.res
	rooms, viewers := d.cfg.plan.classRooms()
	var out []ClassResult
	for k := range numClasses {
		if rooms[k] == 0 {
			continue
		}
		c := ClassResult{Class: sizeClasses[k].name, Rooms: rooms[k], Viewers: viewers[k], Latency: map[string]Quantiles{}}
		if finals == nil {
			c.Deliveries, c.Lost, c.Expected = deliveries, res.LostProtected, res.ExpectedNotices
			for p, q := range res.Latency {
				c.Latency[p] = q
			}
		} else {
			hists := map[string]*hdrhistogram.Histogram{}
			for _, f := range finals {
				if k < len(f) {
					c.Deliveries += f[k].Deliveries
					c.Lost += f[k].Lost
					c.Expected += f[k].Expected
					mergeHists(hists, f[k].Lat)
				}
			}
			for p, h := range hists {
				c.Latency[p] = quantiles(h)
			}
		}
		c.DeliveriesPerS = float64(c.Deliveries) / span
		out = append(out, c)
	}
	return out
}
