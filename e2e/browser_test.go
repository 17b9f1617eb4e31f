package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

const chromium = "/usr/bin/chromium"

// server is a liveroomd process on a fixed port (so it can be restarted on the same one).
type server struct {
	bin, addr string
	extra     []string // more flags (say higher connection limits)
	cmd       *exec.Cmd
}

func (s *server) start(t *testing.T) {
	t.Helper()
	s.cmd = exec.Command(s.bin, "--dev", "--addr", s.addr, "--api-key", "K", "--admin-key", "A", "--jwt-secret", "S",
		"--log-level", "warn")
	s.cmd.Args = append(s.cmd.Args, s.extra...)
	s.cmd.Stderr = os.Stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if r, err := http.Get("http://" + s.addr + "/healthz"); err == nil {
			r.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("liveroomd did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *server) kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGKILL)
		_ = s.cmd.Wait()
	}
}

// startBrowser builds and starts a liveroomd (--dev, with extra flags) on a free port and
// headless Chromium with a window of width x height; the test is skipped without Chromium.
// The browser ends with the test; the server with srv.kill (the tests restart it).
func startBrowser(t *testing.T, width, height int, extra ...string) (*server, context.Context) {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		t.Skip("needs Debian's chromium (.ci/run installs it)")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "liveroomd")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/liveroomd").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &server{bin: bin, addr: ln.Addr().String(), extra: extra}
	ln.Close()
	srv.start(t)
	t.Cleanup(srv.kill)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(filepath.Join(dir, "profile")), chromedp.WindowSize(width, height))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	return srv, actx
}

func (s *server) post(t *testing.T, path, key, body string) {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+s.addr+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("POST %s: %v %v", path, resp, err)
	}
	resp.Body.Close()
}

func (s *server) putKey(t *testing.T, path, key string) {
	t.Helper()
	req, _ := http.NewRequest("PUT", "http://"+s.addr+path, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("PUT %s: %v %v", path, resp, err)
	}
	resp.Body.Close()
}

// waitJS polls a JS boolean expression in a tab until it is true.
func waitJS(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ok, err := chromedp.Run(c, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond)))
	if err != nil || !ok {
		t.Fatalf("%s: %v", what, err)
	}
}

// pageProblems collects what a tab reports that a page must never cause: Content-Security-Policy
// violations (from the securitypolicyviolation event, installed before any script of the page
// runs) and uncaught exceptions.
type pageProblems struct {
	mu   sync.Mutex
	list []string
}

const cspProbe = `document.addEventListener("securitypolicyviolation", (e) =>
	console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " at " + e.sourceFile + ":" + e.lineNumber));`

func watchPage(t *testing.T, ctx context.Context) *pageProblems {
	t.Helper()
	p := &pageProblems{}
	if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspProbe})
		return err
	})); err != nil {
		t.Fatal(err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() || m.Source == "security" || strings.Contains(m.Text, "Content Security Policy") || strings.Contains(m.Text, "CSP violation") {
				p.mu.Lock()
				p.list = append(p.list, m.String())
				p.mu.Unlock()
			}
		}
	}()
	return p
}

// check fails the test for every problem reported so far.
func (p *pageProblems) check(t *testing.T, who string) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range p.list {
		t.Errorf("%s: %s", who, m)
	}
}

// Two demo pages in headless Chromium: a comment sent from one appears on the other, a notice
// posted through the HTTP API is pinned, and after the server is killed and restarted the pages
// reconnect and show new comments.
func TestDemoPageInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	srv, actx := startBrowser(t, 1280, 720)
	defer srv.kill()
	alice, cancelA := chromedp.NewContext(actx)
	defer cancelA()
	if err := chromedp.Do(alice); err != nil { // start the browser before opening a second tab
		t.Fatal(err)
	}
	bob, cancelB := chromedp.NewContext(alice) // a second tab of the same browser
	defer cancelB()
	alicePage, bobPage := watchPage(t, alice), watchPage(t, bob)
	page := func(uid string) string { return fmt.Sprintf("http://%s/?room=browser&uid=%s", srv.addr, uid) }
	if err := chromedp.Do(alice, chromedp.Navigate(page("alice"))); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(bob, chromedp.Navigate(page("bob"))); err != nil {
		t.Fatal(err)
	}
	joined := `document.getElementById('state').textContent === 'open' && document.getElementById('online').textContent !== '-'`
	waitJS(t, alice, "alice joined", joined)
	waitJS(t, bob, "bob joined", joined)

	// A comment typed on one page shows on the other.
	if err := chromedp.Do(alice, chromedp.SendKeys(chromedp.CSS("#text"), "hello from alice"),
		chromedp.Click(chromedp.CSS("#sendForm button"))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, bob, "alice's comment on bob's page", `document.getElementById('chat').textContent.includes('hello from alice')`)

	// A system notice from the HTTP API is pinned.
	srv.post(t, "/v1/rooms/browser/notices", "A", `{"body":{"text":"pinned notice"}}`)
	waitJS(t, bob, "pinned notice", `[...document.querySelectorAll('#notices .notice')].some(n => n.textContent.includes('pinned notice'))`)

	// Kill the server, restart it on the same port: the pages reconnect and resume.
	srv.kill()
	waitJS(t, bob, "bob noticed the outage", `document.getElementById('state').textContent !== 'open'`)
	srv.start(t)
	waitJS(t, bob, "bob reconnected", `document.getElementById('state').textContent === 'open'`)
	waitJS(t, alice, "alice reconnected", `document.getElementById('state').textContent === 'open'`)
	// The page rejoins right after the hello; post until a comment shows (a post may land just
	// before the rejoin, which the page then does not see).
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; ; i++ {
		srv.post(t, "/v1/rooms/browser/messages", "K", fmt.Sprintf(`{"uid":"carol","kind":"chat","body":{"text":"after restart %d"}}`, i))
		c, cancel := context.WithTimeout(bob, 2*time.Second)
		ok, err := chromedp.Run(c, chromedp.Poll[bool](`document.getElementById('chat').textContent.includes('after restart')`,
			chromedp.WithPollingInterval(50*time.Millisecond)))
		cancel()
		if err == nil && ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no comment shown after the restart")
		}
	}

	// At the room's limit (200 normal msg/s) the page renders what a person can read, keeps
	// the chat list bounded, counts what it skipped, and stays smooth.
	var minFPS float64 = 1000
	for i := 0; i < 600; i++ { // 3 s at ~200 msg/s
		srv.post(t, "/v1/rooms/browser/messages", "K", fmt.Sprintf(`{"uid":"crowd","kind":"chat","body":{"text":"flood %d"}}`, i))
		time.Sleep(5 * time.Millisecond) // pacing the sender, not synchronisation
		if i%200 == 199 {
			fps, err := chromedp.Run(bob, chromedp.Evaluate[float64](`window.liveroomFPS`))
			if err != nil {
				t.Fatal(err)
			}
			minFPS = min(minFPS, fps)
		}
	}
	waitJS(t, bob, "flood skipped and bounded", `Number(document.getElementById('skipped').textContent) > 0 && document.getElementById('chat').children.length <= 100`)
	// Alone on this box the page keeps ~47 frames/s here; CI runs other test packages at the
	// same time, so the bar is a page that keeps animating, not a number of frames.
	if minFPS < 10 {
		t.Errorf("the page rendered %v frames/s under 200 msg/s", minFPS)
	}
	t.Logf("frames per second under the flood: at least %v", minFPS)

	alicePage.check(t, "alice's page")
	bobPage.check(t, "bob's page")

	// The admin page runs its script under the same policy: without a key, room stats is a 401.
	admin, cancelAdmin := chromedp.NewContext(alice)
	defer cancelAdmin()
	adminPage := watchPage(t, admin)
	if err := chromedp.Do(admin, chromedp.Navigate("http://"+srv.addr+"/admin"), chromedp.Click(chromedp.CSS("#stats"))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, admin, "the admin page answered", `document.getElementById('out').textContent.startsWith('401')`)
	// With the key: a global ban and a room mute show in their lists, the demo's room in the
	// active rooms with its two viewers.
	if err := chromedp.Do(admin, chromedp.SetValue("#key", "A"), chromedp.SetValue("#room", "browser"),
		chromedp.SetValue("#guid", "evil<b>"), chromedp.Click(chromedp.CSS("#gban"))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, admin, "an invalid uid refused", `document.getElementById('out').textContent.startsWith('400')`)
	if err := chromedp.Do(admin, chromedp.SetValue("#guid", "evil"), chromedp.Click(chromedp.CSS("#gban"))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, admin, "the global ban set", `document.getElementById('out').textContent.startsWith('200')`)
	srv.putKey(t, "/v1/rooms/browser/mutes/loud", "K")
	rows := `[...document.querySelectorAll('#listBody tr')].map(r => r.textContent)`
	for _, c := range []struct{ button, row string }{
		{`[data-show="bans"]`, "evilforever"}, {`[data-show="room/mutes"]`, "loudforever"}, {`[data-show="rooms"]`, "browser2"},
	} {
		if err := chromedp.Do(admin, chromedp.Click(chromedp.CSS(c.button))); err != nil {
			t.Fatal(err)
		}
		waitJS(t, admin, "the list of "+c.button, rows+`.includes(`+strconv.Quote(c.row)+`)`)
	}
	adminPage.check(t, "the admin page")

	checkPhoneLayout(t, alice, srv)

	png, err := chromedp.Run(bob, chromedp.FullScreenshot(100)) // quality 100: PNG
	if err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(t.TempDir(), "demo.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	if p := os.Getenv("LIVEROOM_SCREENSHOT"); p != "" {
		_ = os.WriteFile(p, png, 0o644)
	}
	t.Logf("screenshot: %s (%d bytes)", shot, len(png))
}

// checkPhoneLayout opens the demo page on a 390x844 phone viewport: the video keeps at least
// 40 % of the height, and a pinned notice wraps at the width of the screen (not one word per
// line, as in the two-column layout that left the video 70 px).
func checkPhoneLayout(t *testing.T, browser context.Context, srv *server) {
	t.Helper()
	phone, cancel := chromedp.NewContext(browser)
	defer cancel()
	problems := watchPage(t, phone)
	if err := chromedp.Do(phone, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch),
		chromedp.Navigate(fmt.Sprintf("http://%s/?room=phone&uid=phone", srv.addr))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, phone, "phone joined", `document.getElementById('state').textContent === 'open'`)
	srv.post(t, "/v1/rooms/phone/notices", "A", `{"body":{"text":"The stream starts again in five minutes, stay with us and keep your comments kind"}}`)
	waitJS(t, phone, "notice on the phone", `document.querySelector('#notices .notice') !== null`)
	type layout struct{ Stage, StageW, Width, Height, NoticeW, NoticeH, Line float64 }
	m, err := chromedp.Run(phone, chromedp.Evaluate[layout](`(() => {
		const n = document.querySelector('#notices .notice');
		const st = document.getElementById('stage').getBoundingClientRect();
		return { Stage: st.height, StageW: st.width, Width: window.innerWidth, Height: window.innerHeight,
			NoticeW: n.getBoundingClientRect().width, NoticeH: n.getBoundingClientRect().height,
			Line: parseFloat(getComputedStyle(n).lineHeight) || 1.2 * parseFloat(getComputedStyle(n).fontSize) };
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if m.Stage < 0.4*m.Height || m.StageW < 0.9*m.Width {
		t.Errorf("phone: the video is %.0fx%.0f px of %.0fx%.0f (want the width and at least 40 %% of the height)", m.StageW, m.Stage, m.Width, m.Height)
	}
	if lines := m.NoticeH / m.Line; m.NoticeW < 250 || lines > 4 {
		t.Errorf("phone: the notice is %.0f px wide, %.1f lines (%+v)", m.NoticeW, lines, m)
	}
	t.Logf("phone 390x844: video %.0f of %.0f px, notice %.0f px wide, %.0f px high", m.Stage, m.Height, m.NoticeW, m.NoticeH)
	problems.check(t, "the phone page")
}
