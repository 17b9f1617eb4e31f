package loadtest

import (
	"context"
	"errors"
	"maps"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// senders post messages over the HTTP API at fixed rates per room and priority.
//
// Chat posts (low, normal, high) are sent once: a failure is counted by cause. A system notice
// carries a cmid (<prefix>-n<i>) and, unless Config.NoticeRetryOff, is retried with the same
// cmid (on the next node each time) until a 200 acknowledges it (a "dup":true answer carries
// the original ts) or until the retry context ends (shortly before the drain does): only
// acknowledged notices enter the loss check, with the ts of their acknowledgement.
type senders struct {
	cfg    Config
	client *fasthttp.Client
	acks   *acks

	mu       sync.Mutex
	sent     map[string]int64     // acknowledged posts
	byRoom   map[string]*[4]int64 // acknowledged posts by room and priority (priOf)
	errs     map[string]int64     // failed attempts
	causes   map[string]int64     // "pri: cause" -> failed attempts
	retries  int64                // notice attempts after the first
	unacked  int64                // notices never acknowledged
	notice   map[string][]int64
	noticeWG sync.WaitGroup // notices being retried
}

func newSenders(cfg Config) *senders {
	return &senders{cfg: cfg, client: &fasthttp.Client{MaxConnsPerHost: 64, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second},
		acks: newAcks(), sent: map[string]int64{}, byRoom: map[string]*[4]int64{}, errs: map[string]int64{}, causes: map[string]int64{}, notice: map[string][]int64{}}
}

// run sends at the configured rates until ctx ends and returns when the chat posts in flight
// are answered; notices still being retried go on until retryCtx ends (waitNotices).
func (s *senders) run(ctx, retryCtx context.Context) {
	s.acks.begin(time.Now(), s.cfg.Rates)
	defer func() { s.acks.end(time.Now()) }()
	var wg sync.WaitGroup
	pris := make([]string, 0, len(s.cfg.Rates))
	for p := range s.cfg.Rates {
		pris = append(pris, p)
	}
	sort.Strings(pris)
	for _, p := range pris {
		rate := s.cfg.Rates[p] * float64(s.cfg.postRooms())
		if rate <= 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.loop(ctx, retryCtx, p, rate)
		}()
	}
	wg.Wait()
}

// loop posts priority p at rate per second until ctx ends.
func (s *senders) loop(ctx, retryCtx context.Context, p string, rate float64) {
	interval := time.Duration(float64(time.Second) / rate)
	t := time.NewTicker(interval)
	defer t.Stop()
	sem := make(chan struct{}, 32) // bounded requests in flight
	var inflight sync.WaitGroup
	retry := p == "system" && !s.cfg.NoticeRetryOff
	// A ticker drops the ticks a starved process misses: each tick sends every post due by
	// then, so the offered rate holds whatever the scheduling.
	start := time.Now()
	for i := 0; ; {
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		if ctx.Err() != nil { // also after a tick that came late: nothing is posted after the phase
			inflight.Wait()
			return
		}
		for due := int(time.Since(start).Seconds() * rate); i < due; i++ {
			if retry {
				s.noticeWG.Add(1)
				go func(i int) {
					defer s.noticeWG.Done()
					s.postNotice(retryCtx, sem, i)
				}(i)
				continue
			}
			select {
			case sem <- struct{}{}:
			default:
				s.count(p, "busy") // 32 posts in flight: the server is not keeping up, counts as an error
				continue
			}
			inflight.Add(1)
			go func(i int) {
				defer inflight.Done()
				defer func() { <-sem }()
				first := time.Now()
				if ts, cause := s.post(p, i, i, time.Now().Add(10*time.Second)); cause == "" {
					s.acked(p, s.cfg.postRoom(i), ts, first)
				} else {
					s.count(p, cause)
				}
			}(i)
		}
	}
}

// postNotice posts notice i until it is acknowledged, it is refused for good (a 4xx other than
// 408 and 429: a request no node will take), or ctx ends. Attempt a goes to node i+a; each
// waits for a slot among the priority's 32 in flight and lasts at most cfg.NoticeTimeout.
func (s *senders) postNotice(ctx context.Context, sem chan struct{}, i int) {
	first := time.Now()
	pause := 100 * time.Millisecond
	for a := 0; ; a++ {
		if a > 0 {
			s.mu.Lock()
			s.retries++
			s.mu.Unlock()
			t := time.NewTimer(pause)
			select {
			case <-ctx.Done():
				t.Stop()
				s.giveUp()
				return
			case <-t.C:
			}
			pause = min(2*pause, time.Second)
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			s.giveUp()
			return
		}
		deadline := time.Now().Add(s.cfg.NoticeTimeout)
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		ts, cause := s.post("system", i, i+a, deadline)
		<-sem
		if cause == "" {
			s.acked("system", s.cfg.postRoom(i), ts, first)
			return
		}
		s.count("system", cause)
		if permanent(cause) {
			s.giveUp()
			return
		}
	}
}

// permanent tells a refusal that a retry cannot change.
func permanent(cause string) bool {
	st, ok := strings.CutPrefix(cause, "status ")
	if !ok {
		return false
	}
	code, _ := strconv.Atoi(st)
	return code >= 400 && code < 500 && code != 408 && code != 429
}

func (s *senders) giveUp() {
	s.mu.Lock()
	s.unacked++
	s.mu.Unlock()
}

// waitNotices waits for the notices still being retried (their context must end).
func (s *senders) waitNotices() { s.noticeWG.Wait() }

// post sends post n of priority pri (to its room, through node k % nodes) once, and returns the
// ts of its acknowledgement, or why it failed ("timeout", "transport", "status N").
func (s *senders) post(pri string, n, k int, deadline time.Time) (int64, string) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod("POST")
	req.Header.SetContentType("application/json")
	room, num := s.cfg.postRoom(n), strconv.Itoa(n)
	if pri == "system" {
		req.SetRequestURI(s.cfg.node(k) + "/v1/rooms/" + room + "/notices")
		req.Header.Set("Authorization", "Bearer "+s.cfg.AdminKey)
		cmid := ""
		if !s.cfg.NoticeRetryOff {
			cmid = `"cmid":"` + s.cfg.Prefix + "-n" + num + `",`
		}
		req.SetBodyString(`{"kind":"notice",` + cmid + `"body":{"n":` + num + `}}`)
	} else {
		req.SetRequestURI(s.cfg.node(k) + "/v1/rooms/" + room + "/messages")
		req.Header.Set("Authorization", "Bearer "+s.cfg.APIKey)
		req.SetBodyString(`{"uid":"` + s.cfg.Prefix + `-sender","kind":"chat","pri":"` + pri + `","body":{"n":` + num + `}}`)
	}
	if err := s.client.DoDeadline(req, resp, deadline); err != nil {
		if errors.Is(err, fasthttp.ErrTimeout) {
			return 0, "timeout"
		}
		return 0, "transport"
	}
	if resp.StatusCode() != 200 {
		return 0, "status " + strconv.Itoa(resp.StatusCode())
	}
	ts, _ := intField(resp.Body(), keyTS)
	return ts, ""
}

// acked records an acknowledged post: counted as sent, its latency from the first attempt,
// and a notice's ts for the loss check.
func (s *senders) acked(pri, room string, ts int64, first time.Time) {
	s.acks.record(priOf([]byte(pri)), first, time.Now())
	s.mu.Lock()
	s.sent[pri]++
	n := s.byRoom[room]
	if n == nil {
		n = new([4]int64)
		s.byRoom[room] = n
	}
	n[priOf([]byte(pri))]++
	if pri == "system" {
		s.notice[room] = append(s.notice[room], ts)
	}
	s.mu.Unlock()
}

// count records a failed attempt of priority pri with its cause.
func (s *senders) count(pri, cause string) {
	s.mu.Lock()
	s.errs[pri]++
	s.causes[pri+": "+cause]++
	s.mu.Unlock()
}

func (s *senders) total() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for _, v := range s.sent {
		n += v
	}
	return n
}

// counts returns copies of the sent, error and error-cause counters.
func (s *senders) counts() (sent, errs, causes map[string]int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.sent), maps.Clone(s.errs), maps.Clone(s.causes)
}

// possible is how many deliveries the acknowledged posts of each priority could make: each
// one to every viewer of its room in readers.
func (s *senders) possible(readers map[string]int64) [4]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out [4]int64
	for room, n := range s.byRoom {
		for p := range n {
			out[p] += n[p] * readers[room]
		}
	}
	return out
}

// noticeCounts returns the notice attempts after the first and the notices never acknowledged.
func (s *senders) noticeCounts() (retries, unacked int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.retries, s.unacked
}

func (s *senders) noticeTS() map[string][]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]int64{}
	for k, v := range s.notice {
		out[k] = append([]int64(nil), v...)
	}
	return out
}
