package loadtest

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// The forms of --room-sizes, the sizes they give (largest first) and the errors.
func TestRoomPlanSizes(t *testing.T) {
	f := func(spec string, viewers, rooms int, want ...int) {
		t.Helper()
		p, err := newRoomPlan(spec, viewers, rooms)
		if err != nil {
			t.Fatalf("%q %d/%d: %v", spec, viewers, rooms, err)
		}
		if !slices.Equal(p.sizes, want) {
			t.Errorf("%q %d/%d: sizes %v, want %v", spec, viewers, rooms, p.sizes, want)
		}
	}
	f("", 10, 3, 4, 3, 3)
	f("even", 10, 3, 4, 3, 3)
	f("even", 2, 4, 1, 1, 0, 0) // fewer viewers than rooms: as without the flag
	f("zipf:1", 25, 4, 12, 6, 4, 3)
	f("zipf:0", 10, 3, 4, 3, 3)
	// 10 x 1/k^2 over 5 rooms is 6.8, 1.7, 0.76, 0.43, 0.27: the last three get one each and the
	// first two share the other 7 as 5.6 and 1.4.
	f("zipf:2", 10, 5, 6, 1, 1, 1, 1)
	f("zipf:1.1", 5, 5, 1, 1, 1, 1, 1)
	f("2x3,1x5", 11, 3, 5, 3, 3)
	f(" 1x1 , 2x1", 3, 3, 1, 1, 1)

	bad := func(spec string, viewers, rooms int, want string) {
		t.Helper()
		if _, err := newRoomPlan(spec, viewers, rooms); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q %d/%d: err %v, want one about %q", spec, viewers, rooms, err, want)
		}
	}
	bad("zipf:", 10, 2, "exponent")
	bad("zipf:x", 10, 2, "exponent")
	bad("zipf:-1", 10, 2, "exponent")
	bad("zipf:11", 10, 2, "exponent")
	bad("zipf:1", 3, 4, "cannot give each")
	bad("2x", 2, 2, "COUNTxSIZE")
	bad("0x5", 0, 0, "COUNTxSIZE")
	bad("3x0", 0, 3, "COUNTxSIZE")
	bad("uneven", 10, 2, "COUNTxSIZE")
	bad("2x5", 11, 2, "not --viewers 11")
}

// The brief's mix: exact counts, the same every time.
func TestRoomPlanZipf(t *testing.T) {
	p, err := newRoomPlan("zipf:1.1", 10000, 2000)
	if err != nil {
		t.Fatal(err)
	}
	sum, ones := 0, 0
	for k, s := range p.sizes {
		sum += s
		if s == 1 {
			ones++
		}
		if s < 1 || (k > 0 && s > p.sizes[k-1]) {
			t.Fatalf("room %d has %d viewers after %v", k, s, p.sizes[max(0, k-1)])
		}
	}
	if sum != 10000 || len(p.sizes) != 2000 || ones != 1418 || !slices.Equal(p.sizes[:6], []int{1612, 752, 481, 351, 274, 225}) {
		t.Errorf("sum %d, rooms %d, %d of one viewer, largest %v", sum, len(p.sizes), ones, p.sizes[:6])
	}
	rooms, viewers := p.classRooms()
	if rooms != [numClasses]int{1638, 265, 85, 11, 1} || viewers != [numClasses]int{1858, 1274, 2327, 2929, 1612} {
		t.Errorf("classes: rooms %v viewers %v", rooms, viewers)
	}
	if !p.multiClass() {
		t.Error("not several classes")
	}
}

// Viewers are dealt round robin over the rooms with a place left: even sizes are i % rooms,
// and every room gets exactly its size.
func TestRoomPlanAssignment(t *testing.T) {
	for _, c := range []struct{ viewers, rooms int }{{10, 3}, {7, 7}, {2, 5}, {1000, 1}, {1001, 10}} {
		p, err := newRoomPlan("even", c.viewers, c.rooms)
		if err != nil {
			t.Fatal(err)
		}
		for i, k := range p.of {
			if int(k) != i%c.rooms {
				t.Fatalf("even %d/%d: viewer %d in room %d", c.viewers, c.rooms, i, k)
			}
		}
	}
	p, err := newRoomPlan("1x2,1x4,2x1", 8, 4)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(p.of); got != "[0 1 2 3 0 1 0 0]" { // sizes 4 2 1 1
		t.Errorf("assignment %s", got)
	}
	for _, spec := range []string{"zipf:1.1", "zipf:3", "3x500,40x10,1000x1"} {
		v, r := 2900, 1043
		if spec != "3x500,40x10,1000x1" {
			v, r = 10000, 800
		}
		p, err := newRoomPlan(spec, v, r)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]int, len(p.sizes))
		for _, k := range p.of {
			got[k]++
		}
		if len(p.of) != v || !slices.Equal(got, p.sizes) {
			t.Errorf("%s: %d viewers, per room %v, want %v", spec, len(p.of), got[:5], p.sizes[:5])
		}
	}
	if one, _ := newRoomPlan("even", 10000, 1); one.multiClass() {
		t.Error("one room: several classes")
	}
}

// Explicit sizes give --viewers and --rooms when they are left out; given, they must agree.
func TestConfigRoomSizes(t *testing.T) {
	c := Config{APIKey: "k", AdminKey: "a", RoomSizes: "2x1000,100x50,4000x2", Prefix: "p"}
	c.applyDefaults()
	if err := c.validate(); err != nil {
		t.Fatal(err)
	}
	if c.Viewers != 15000 || c.Rooms != 4102 {
		t.Errorf("viewers %d rooms %d", c.Viewers, c.Rooms)
	}
	if c.viewerRoom(0) != "p-r0" || c.viewerRoom(1) != "p-r1" || c.viewerRoom(2) != "p-r2" || c.viewerClass(0) != 3 || c.viewerClass(2) != 2 || c.viewerClass(102) != 0 {
		t.Errorf("viewers 0, 1, 2, 102: %s %s %s, classes %d %d %d %d", c.viewerRoom(0), c.viewerRoom(1), c.viewerRoom(2),
			c.viewerClass(0), c.viewerClass(1), c.viewerClass(2), c.viewerClass(102))
	}
	c = Config{APIKey: "k", AdminKey: "a", RoomSizes: "2x5", Viewers: 11}
	c.applyDefaults()
	if err := c.validate(); err == nil {
		t.Error("11 viewers for 2x5 accepted")
	}
}

// A mix through the fake node: the classes' viewers, rooms, deliveries, latency counts, lost
// and expected notices add up to the run's, and each class got every notice of its rooms.
func TestRunRoomSizeClasses(t *testing.T) {
	forEachIO(t, func(t *testing.T, io string) {
		c := newFakeCluster(t, 1)
		// Rooms of 12 (11-100), 4, 4 (3-10), 2, 2, 2 and 1 (1-2): 27 viewers in 3 workers.
		res := fakeRun(t, c, Config{ViewerIO: io, RoomSizes: "1x12,2x4,3x2,1x1", PerWorker: 10, Prefix: "rs", Duration: 2300 * time.Millisecond, // posts not a multiple of the rooms
			Rates: map[string]float64{"normal": 4, "system": 2}}, Options{})
		if res.Config.Viewers != 27 || res.Config.Rooms != 7 || res.Totals.FirstJoins != 27 {
			t.Fatalf("viewers %d rooms %d joined %d", res.Config.Viewers, res.Config.Rooms, res.Totals.FirstJoins)
		}
		if len(res.Classes) != 3 {
			t.Fatalf("classes %+v", res.Classes)
		}
		want := map[string][2]int{"1-2": {4, 7}, "3-10": {2, 8}, "11-100": {1, 12}}
		var rooms, viewers int
		var deliveries, lost, expected int64
		counts := map[string]int64{}
		for _, k := range res.Classes {
			if w := want[k.Class]; k.Rooms != w[0] || k.Viewers != w[1] {
				t.Errorf("class %s: %d rooms, %d viewers; want %v", k.Class, k.Rooms, k.Viewers, w)
			}
			rooms, viewers = rooms+k.Rooms, viewers+k.Viewers
			deliveries, lost, expected = deliveries+k.Deliveries, lost+k.Lost, expected+k.Expected
			var n int64
			for p, q := range k.Latency {
				counts[p] += q.Count
				n += q.Count
			}
			if n != k.Deliveries || k.Expected == 0 || k.Latency["system"].Count != k.Expected || k.DeliveriesPerS <= 0 {
				t.Errorf("class %s: %d deliveries, latency counts %d, system %d of %d expected", k.Class, k.Deliveries, n, k.Latency["system"].Count, k.Expected)
			}
		}
		var total int64
		for _, n := range res.Totals.Deliveries {
			total += n
		}
		if rooms != 7 || viewers != 27 || deliveries != total || lost != res.LostProtected || expected != res.ExpectedNotices || res.LostProtected != 0 {
			t.Errorf("classes sum to %d rooms %d viewers %d deliveries %d lost %d expected; the run: %d deliveries, %d lost, %d expected",
				rooms, viewers, deliveries, lost, expected, total, res.LostProtected, res.ExpectedNotices)
		}
		for p, q := range res.Latency {
			if counts[p] != q.Count {
				t.Errorf("%s: classes' latency counts %d, the run's %d", p, counts[p], q.Count)
			}
		}
		// The fake delivers every message: a class's viewers get every notice of its rooms.
		perClass := map[string]int64{}
		c.mu.Lock()
		for k, size := range res.Config.plan.sizes {
			for _, m := range c.rooms[fmt.Sprintf("rs-r%d", k)].msgs {
				if m.pri == "system" {
					perClass[sizeClasses[classOf(size)].name] += int64(size)
				}
			}
		}
		c.mu.Unlock()
		for _, k := range res.Classes {
			if perClass[k.Class] != k.Expected || k.Lost != 0 {
				t.Errorf("class %s: %d notice deliveries expected, %d lost; the fake's rooms had %d", k.Class, k.Expected, k.Lost, perClass[k.Class])
			}
		}
		if res.Totals.Deliveries["system"] != res.ExpectedNotices {
			t.Errorf("system deliveries %d, expected %d", res.Totals.Deliveries["system"], res.ExpectedNotices)
		}
		// Nothing was dropped, whatever rooms the last posts went to (the biggest come first).
		if d := res.DroppedShare; d["normal"] != 0 || d["system"] != 0 {
			t.Errorf("dropped share %v, want 0", d)
		}

		var txt, html, js bytes.Buffer
		res.Summary(&txt)
		if err := res.WriteHTML(&html); err != nil {
			t.Fatal(err)
		}
		if err := res.WriteJSON(&js); err != nil {
			t.Fatal(err)
		}
		for what, b := range map[string]*bytes.Buffer{"summary": &txt, "HTML": &html, "JSON": &js} {
			for _, want := range []string{"11-100", "3-10", "1-2"} {
				if !strings.Contains(b.String(), want) {
					t.Errorf("the %s lacks class %s", what, want)
				}
			}
		}
		if !strings.Contains(txt.String(), "by room size") || !strings.Contains(html.String(), "<td>11-100</td><td>1</td><td>12</td>") ||
			!strings.Contains(js.String(), `"room_size_classes"`) {
			t.Errorf("summary:\n%s", txt.String())
		}
	})
}
