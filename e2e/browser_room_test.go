package e2e

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/liveroom/liveroom/internal/testwait"
)

// The demo page as a streaming app's viewers see it (issue 12): a late joiner sees the last
// messages and the pinned notice, 1,000 viewers' likes reach the page as about one counters
// update a second with the right total, and the page's main parts keep their room on a phone
// (390x844) and a laptop (1280x800), both screenshotted.
func TestDemoPageRoomInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium and 1,000 WebSocket viewers")
	}
	// 1,000 viewers of one address: the per-IP and per-uid connection limits out of the way.
	srv, actx := startBrowser(t, 1280, 800, "--conn-per-ip", "100000", "--conn-per-uid", "100000",
		"--http-rate-per-ip", "-1", "--http-conns-per-ip", "-1")
	defer srv.kill()

	browser, cancelB := chromedp.NewContext(actx)
	defer cancelB()
	if err := chromedp.Do(browser); err != nil {
		t.Fatal(err)
	}

	const room = "late"
	const pinText = "Pinned: the giveaway winner is announced at 21:00, stay tuned"
	desktop, cancelD := chromedp.NewContext(browser) // the late joiner's tab, a laptop's viewport
	defer cancelD()
	joined := t.Run("late joiner", func(t *testing.T) {
		srv.post(t, "/v1/rooms/"+room+"/notices", "A", `{"body":{"text":`+strconv.Quote(pinText)+`},"pin_s":3600}`)
		for i := range 30 {
			srv.post(t, "/v1/rooms/"+room+"/messages", "K", fmt.Sprintf(`{"uid":"fan%d","kind":"chat","body":{"text":"late %02d"}}`, i%7, i))
		}
		problems := watchPage(t, desktop)
		if err := chromedp.Do(desktop, chromedp.EmulateViewport(1280, 800),
			chromedp.Navigate(fmt.Sprintf("http://%s/?room=%s&uid=latecomer", srv.addr, room))); err != nil {
			t.Fatal(err)
		}
		waitJS(t, desktop, "the late joiner's page open", `document.getElementById('state').textContent === 'open'`)
		waitJS(t, desktop, "the newest message listed", `document.getElementById('chat').textContent.includes('late 29')`)
		waitJS(t, desktop, "the pinned notice", `document.getElementById('pinned').textContent.includes(`+strconv.Quote(pinText)+`)`)
		type seen struct {
			Texts  []string
			Pinned []string
			Lines  int
		}
		s, err := chromedp.Run(desktop, chromedp.Evaluate[seen](`({
			Texts: [...document.querySelectorAll('#chat li .text')].map(e => e.textContent),
			Pinned: [...document.querySelectorAll('#pinned div')].map(e => e.textContent),
			Lines: document.querySelectorAll('#chat li').length })`))
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for i := 10; i < 30; i++ {
			want = append(want, fmt.Sprintf("late %02d", i))
		}
		if s.Lines != 20 || fmt.Sprint(s.Texts) != fmt.Sprint(want) {
			t.Errorf("the late joiner lists %d lines %q, want the last 20 %q", s.Lines, s.Texts, want)
		}
		if len(s.Pinned) != 1 || s.Pinned[0] != "📌 "+pinText {
			t.Errorf("the late joiner's pins: %q", s.Pinned)
		}
		if len(s.Texts) > 0 {
			t.Logf("the late joiner sees %d chat lines, %q first and %q last, and pinned %q", s.Lines, s.Texts[0], s.Texts[len(s.Texts)-1], s.Pinned)
		}
		problems.check(t, "the late joiner's page")
	})
	if !joined {
		return
	}

	t.Run("likes of 1000 viewers", func(t *testing.T) { likesOf1000(t, srv, desktop, room) })

	t.Run("layout and screenshots", func(t *testing.T) {
		phone, cancel := chromedp.NewContext(browser)
		defer cancel()
		problems := watchPage(t, phone)
		if err := chromedp.Do(phone, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch),
			chromedp.Navigate(fmt.Sprintf("http://%s/?room=%s&uid=phone", srv.addr, room))); err != nil {
			t.Fatal(err)
		}
		waitJS(t, phone, "the phone's page open", `document.getElementById('state').textContent === 'open'`)
		waitJS(t, phone, "the phone's pinned notice", `document.getElementById('pinned').textContent.includes(`+strconv.Quote(pinText)+`)`)
		// A notice that is not pinned shows (for 30 s) under the pins on both pages.
		srv.post(t, "/v1/rooms/"+room+"/notices", "A", `{"body":{"text":"The stream starts again in five minutes, stay with us and keep your comments kind"}}`)
		for _, c := range []struct {
			name string
			ctx  context.Context
			w, h int
		}{{"390x844", phone, 390, 844}, {"1280x800", desktop, 1280, 800}} {
			waitJS(t, c.ctx, c.name+": the notice", `document.querySelector('#notices .notice') !== null && document.getElementById('chat').textContent.includes('late 29')`)
			checkLayout(t, c.ctx, c.name)
			screenshot(t, c.ctx, c.name, c.w, c.h)
		}
		problems.check(t, "the phone's page")
	})
}

// likesOf1000: 1,000 viewer sessions each add likes 10 times a second for 5 s while the demo
// page watches the room: the page gets at most about one counters update a second and ends
// showing the server's total, which is the number of adds acknowledged.
func likesOf1000(t *testing.T, srv *server, page context.Context, room string) {
	const viewers, perSecond, sending = 1000, 10, 5 * time.Second
	vs := make([]*counterViewer, viewers)
	for i := range vs {
		vs[i] = dialCounterViewer(t, srv.addr, fmt.Sprintf("liker%d", i), room)
	}
	before, _ := roomCounters(t, srv.addr, room)
	// The page's own client reports each counters event it gets; counted from here on.
	if _, err := chromedp.Run(page, chromedp.Evaluate[bool](`window.likeEvents = [];
		window.liveroom.on("counters", (r, c) => window.likeEvents.push({ t: performance.now(), likes: ("likes" in c) ? c.likes : -1 }));
		window.likeStart = performance.now(); true`)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	sent := make([]int, viewers)
	var wg sync.WaitGroup
	for i, v := range vs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(time.Second / perSecond)
			defer tick.Stop()
			for time.Since(start) < sending {
				<-tick.C // pacing the sender (at most 20 adds/s per session), not synchronisation
				sent[i]++
				v.write(t, fmt.Sprintf(`{"op":"add","room":%q,"counter":"likes","delta":1,"id":%d}`, room, sent[i]))
			}
		}()
	}
	wg.Wait()
	sendTime := time.Since(start)
	var total, accepted, refused int
	for i, v := range vs {
		total += sent[i]
		testwait.For(t, 30*time.Second, fmt.Sprintf("liker%d's adds answered", i), func() bool {
			_, _, a, r := v.state()
			return a+r == sent[i]
		})
		_, _, a, r := v.state()
		accepted += a
		refused += r
	}
	want := before["likes"] + int64(accepted)
	var got map[string]int64
	testwait.For(t, 10*time.Second, "the room's likes total", func() bool {
		got, _ = roomCounters(t, srv.addr, room)
		return got["likes"] == want
	})
	waitJS(t, page, "the page's last update to carry the total", fmt.Sprintf(`window.likeEvents.length > 0 && window.likeEvents.at(-1).likes === %d`, want))
	waitJS(t, page, "the page's likes to show the total", fmt.Sprintf(`document.getElementById('likes').textContent === %q`, formatCount(want)))
	type event struct {
		T     float64
		Likes int64
	}
	type observed struct {
		Start  float64
		Now    float64
		Events []event
	}
	o, err := chromedp.Run(page, chromedp.Evaluate[observed](`({ Start: window.likeStart, Now: performance.now(), Events: window.likeEvents })`))
	if err != nil {
		t.Fatal(err)
	}
	window := (o.Now - o.Start) / 1000 // seconds the page was watched, from the first add
	n := len(o.Events)
	// The most updates in any 3 s of the window, and the shortest gap between two.
	most, gap := 0, math.Inf(1)
	for i := range o.Events {
		k := i
		for k < n && o.Events[k].T-o.Events[i].T < 3000 {
			k++
		}
		most = max(most, k-i)
		if i > 0 {
			gap = min(gap, o.Events[i].T-o.Events[i-1].T)
		}
	}
	rate := float64(n) / window
	t.Logf("likes: %d viewers sent %d adds in %v (%.0f/s), %d acknowledged, %d refused; server total %d (%d before); "+
		"the page got %d counters updates in %.1f s (%.2f/s, at most %d in any 3 s, shortest gap %.0f ms), the last with %d, showing %q",
		viewers, total, sendTime.Round(time.Millisecond), float64(total)/sendTime.Seconds(), accepted, refused, got["likes"], before["likes"],
		n, window, rate, most, gap, o.Events[n-1].Likes, formatCount(want))
	if refused != 0 {
		t.Errorf("%d adds refused at %d/s per session (the limit is 20)", refused, perSecond)
	}
	if n < int(sending/time.Second)-1 || rate > 1.25 || most > 4 {
		t.Errorf("the page got %d counters updates in %.1f s (%.2f/s, %d in 3 s): want about one a second", n, window, rate, most)
	}
}

// formatCount is demo_view.js's formatCount: 999, 1.2k, 12k, 1.2M (rounded down).
func formatCount(n int64) string {
	sign := ""
	if n < 0 {
		sign, n = "-", -n
	}
	f := func(v float64, unit string) string {
		if v < 10 {
			return sign + strconv.FormatFloat(math.Floor(v*10)/10, 'f', -1, 64) + unit
		}
		return sign + strconv.FormatFloat(math.Floor(v), 'f', -1, 64) + unit
	}
	switch {
	case n < 1000:
		return sign + strconv.FormatInt(n, 10)
	case n < 1e6:
		return f(float64(n)/1e3, "k")
	case n < 1e9:
		return f(float64(n)/1e6, "M")
	}
	return f(float64(n)/1e9, "B")
}

// checkLayout fails for a main part of the demo page (the video stage, the chat list, the
// notices and pins, the like button, the counter chips) that is narrower than it needs or
// out of the viewport: no horizontal overflow, the stage the full width on a phone and most
// of it on a laptop, a notice as wide as its text on one line or most of the screen (never
// one word per line), chips on one line, a like button a thumb can hit, chat lines readable.
func checkLayout(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	type result struct {
		Problems []string
		Summary  string
	}
	res, err := chromedp.Run(ctx, chromedp.Evaluate[result](`(() => {
		const out = [], W = window.innerWidth, phone = W <= 640;
		const r = (e) => e.getBoundingClientRect();
		const lineOf = (e) => parseFloat(getComputedStyle(e).lineHeight) || 1.2 * parseFloat(getComputedStyle(e).fontSize);
		// The width of an element's text on one line (what it needs at most).
		const natural = (e) => {
			const c = e.cloneNode(true);
			c.style.cssText = "position:absolute;visibility:hidden;width:max-content;max-width:none;left:0;top:0";
			e.parentNode.append(c);
			const w = c.getBoundingClientRect().width;
			c.remove();
			return w;
		};
		const doc = document.documentElement;
		if (doc.scrollWidth > W + 1) out.push("the page scrolls sideways: " + doc.scrollWidth + " > " + W);
		const parts = [["stage", document.getElementById("stage")], ["chat", document.getElementById("chat")],
			["like", document.getElementById("like")], ["likes", document.getElementById("likes")],
			...[...document.querySelectorAll("#hud .chip")].map((e, i) => ["chip " + i, e]),
			...[...document.querySelectorAll("#notices .notice")].map((e, i) => ["notice " + i, e]),
			...[...document.querySelectorAll("#pinned div")].map((e, i) => ["pin " + i, e])];
		for (const [n, e] of parts) {
			const b = r(e);
			if (b.width === 0 || b.height === 0) { out.push(n + " is not visible"); continue; }
			if (b.left < -1 || b.right > W + 1) out.push(n + " outside the viewport: " + b.left + ".." + b.right + " of " + W);
		}
		const st = r(document.getElementById("stage"));
		if (phone ? st.width < W - 1 : st.width < 0.6 * W) out.push("the stage is " + st.width + " px of " + W);
		const chat = r(document.getElementById("chat"));
		if (chat.width < (phone ? W - 1 : 300)) out.push("the chat list is " + chat.width + " px of " + W);
		for (const [n, e] of parts.filter(([n]) => n.startsWith("notice") || n.startsWith("pin"))) {
			const w = r(e).width, need = Math.min(natural(e), (phone ? 0.75 : 0.5) * W);
			if (w < need - 1) out.push(n + " is " + w + " px wide, its text needs " + need);
			const lines = r(e).height / lineOf(e);
			if (lines > 4) out.push(n + " wraps into " + lines.toFixed(1) + " lines at " + w + " px");
		}
		for (const [n, e] of parts.filter(([n]) => n.startsWith("chip"))) {
			if (r(e).height > 1.9 * lineOf(e)) out.push(n + " wraps: " + r(e).height + " px high");
			if (r(e).right > st.right + 1) out.push(n + " leaves the stage");
		}
		const like = r(document.getElementById("like"));
		if (like.width < 40 || like.height < 40) out.push("the like button is " + like.width + "x" + like.height);
		for (const e of document.querySelectorAll("#chat li .text")) {
			if (r(e).width < Math.min(natural(e), 150) - 1) { out.push("a chat line is " + r(e).width + " px wide"); break; }
		}
		const px = (n, e) => n + " " + Math.round(r(e).width) + "x" + Math.round(r(e).height);
		return { Problems: out, Summary: parts.map(([n, e]) => px(n, e)).join(", ") + ", page " + doc.scrollWidth + " of " + W };
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range res.Problems {
		t.Errorf("%s: %s", name, p)
	}
	t.Logf("layout %s: %s", name, res.Summary)
}

// screenshot writes the tab's viewport as demo-WxH.png under t.TempDir() and, when
// LIVEROOM_SCREENSHOT_DIR is set, copies it there.
func screenshot(t *testing.T, ctx context.Context, name string, w, h int) {
	t.Helper()
	b, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Width != w || cfg.Height != h {
		t.Errorf("%s: the screenshot is %dx%d", name, cfg.Width, cfg.Height)
	}
	file := "demo-" + name + ".png"
	shot := filepath.Join(t.TempDir(), file)
	if err := os.WriteFile(shot, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if d := os.Getenv("LIVEROOM_SCREENSHOT_DIR"); d != "" {
		if err := os.WriteFile(filepath.Join(d, file), b, 0o644); err != nil {
			t.Error(err)
		}
		t.Logf("screenshot %s: %s and %s (%d bytes)", name, shot, filepath.Join(d, file), len(b))
	} else {
		t.Logf("screenshot %s: %s (%d bytes)", name, shot, len(b))
	}
}
