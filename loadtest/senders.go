package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// senders post messages over the HTTP API at fixed rates per room and priority.
type senders struct {
	cfg    Config
	client *fasthttp.Client
	mu     sync.Mutex
	sent   map[string]int64
	errs   map[string]int64
	causes map[string]int64 // "pri: cause" -> errors
	notice map[string][]int64
}

func newSenders(cfg Config) *senders {
	return &senders{cfg: cfg, client: &fasthttp.Client{MaxConnsPerHost: 64, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second},
		sent: map[string]int64{}, errs: map[string]int64{}, causes: map[string]int64{}, notice: map[string][]int64{}}
}

func (s *senders) run(ctx context.Context) {
	var wg sync.WaitGroup
	pris := make([]string, 0, len(s.cfg.Rates))
	for p := range s.cfg.Rates {
		pris = append(pris, p)
	}
	sort.Strings(pris)
	for _, p := range pris {
		rate := s.cfg.Rates[p] * float64(s.cfg.Rooms)
		if rate <= 0 {
			continue
		}
		wg.Add(1)
		go func(p string, rate float64) {
			defer wg.Done()
			interval := time.Duration(float64(time.Second) / rate)
			t := time.NewTicker(interval)
			defer t.Stop()
			sem := make(chan struct{}, 32) // bounded requests in flight
			var inflight sync.WaitGroup
			// A ticker drops the ticks a starved process misses: each tick sends every post due
			// by then, so the offered rate holds whatever the scheduling.
			start := time.Now()
			for i := 0; ; {
				select {
				case <-ctx.Done():
					inflight.Wait()
					return
				case <-t.C:
				}
				for due := int(time.Since(start).Seconds() * rate); i < due; i++ {
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
						s.post(p, s.cfg.room(i), i)
					}(i)
				}
			}
		}(p, rate)
	}
	wg.Wait()
}

// post sends message n of priority pri to room, through node n % nodes.
func (s *senders) post(pri, room string, n int) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod("POST")
	req.Header.SetContentType("application/json")
	if pri == "system" {
		req.SetRequestURI(s.cfg.node(n) + "/v1/rooms/" + room + "/notices")
		req.Header.Set("Authorization", "Bearer "+s.cfg.AdminKey)
		req.SetBodyString(`{"kind":"notice","body":{"n":` + strconv.Itoa(n) + `}}`)
	} else {
		req.SetRequestURI(s.cfg.node(n) + "/v1/rooms/" + room + "/messages")
		req.Header.Set("Authorization", "Bearer "+s.cfg.APIKey)
		req.SetBodyString(`{"uid":"` + s.cfg.Prefix + `-sender","kind":"chat","pri":"` + pri + `","body":{"n":` + strconv.Itoa(n) + `}}`)
	}
	if err := s.client.DoTimeout(req, resp, 10*time.Second); err != nil {
		cause := "transport"
		if errors.Is(err, fasthttp.ErrTimeout) {
			cause = "timeout"
		}
		s.count(pri, cause)
		return
	} else if resp.StatusCode() != 200 {
		s.count(pri, "status "+strconv.Itoa(resp.StatusCode()))
		return
	}
	if pri == "system" {
		var st struct {
			TS int64 `json:"ts"`
		}
		if json.Unmarshal(resp.Body(), &st) == nil {
			s.mu.Lock()
			s.notice[room] = append(s.notice[room], st.TS)
			s.mu.Unlock()
		}
	}
	s.count(pri, "")
}

// count records a post of priority pri: sent when cause is "", else an error with its cause.
func (s *senders) count(pri, cause string) {
	s.mu.Lock()
	if cause == "" {
		s.sent[pri]++
	} else {
		s.errs[pri]++
		s.causes[pri+": "+cause]++
	}
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

func (s *senders) noticeTS() map[string][]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]int64{}
	for k, v := range s.notice {
		out[k] = append([]int64(nil), v...)
	}
	return out
}
