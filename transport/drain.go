package transport

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/liveroom/liveroom/rooms"
	"github.com/liveroom/liveroom/wire"
)

// Draining a node (PROTOCOL.md section 8.8): readiness answers 503 at once, the node leaves the
// route directory, upgrades are refused with 503, and the sessions are kicked spread evenly
// over the drain period, each told to come back after a random delay of at most retryMs, so
// that the clients' reconnects reach the other nodes at about sessions / drain per second
// instead of all at once.

// drainRetryMs is the retry_ms of a drain's kicks: the client waits a random [0, R] before it
// reconnects through /v1/route. A second spreads one kick instant's clients over a second;
// longer would only delay viewers.
const drainRetryMs = 1000

// Drain takes the node out of service and kicks its sessions evenly over spread; it returns
// once every session is gone (or ctx ends). Shutdown after it closes what is left. Safe to
// call more than once: the later calls wait for the first.
func (s *Server) Drain(ctx context.Context, spread time.Duration) {
	s.drainOnce.Do(func() {
		s.draining.Store(true)
		s.log.Info("draining", "spread", spread.String(), "sessions", s.ws.count())
		s.eng.Drain()
		s.ws.drain(ctx, spread)
		close(s.drained)
	})
	select {
	case <-s.drained:
	case <-ctx.Done():
	}
}

// DrainRequested is closed when an admin asked for a drain (POST /v1/node/drain): the binary
// then drains and exits as on SIGTERM.
func (s *Server) DrainRequested() <-chan struct{} { return s.drainAsked }

// handleDrain is `POST /v1/node/drain` (admin key): 202 `{"ok":true}`; the node drains and
// exits.
func (s *Server) handleDrain(ctx *fasthttp.RequestCtx) {
	s.askOnce.Do(func() { close(s.drainAsked) })
	writeOK(ctx)
	ctx.SetStatusCode(fasthttp.StatusAccepted)
}

var errDraining = rooms.Errorf(rooms.CodeUnavailable, "the node is draining: ask /v1/route for another")

// drain kicks every session with reason shutdown and a retry_ms, one at a time at even
// intervals over spread, and waits until the sessions are gone. Sessions that connect after
// it started are refused by serve (Server.draining).
func (h *wsHub) drain(ctx context.Context, spread time.Duration) {
	h.draining.Store(true) // before the snapshot: add checks it under the shard lock
	all := h.sessions()
	kick := wire.AppendKickRetry(nil, "shutdown", drainRetryMs)
	start := time.Now()
	for i, sess := range all {
		if at := start.Add(spread * time.Duration(i) / time.Duration(len(all))); time.Until(at) > 0 {
			t := time.NewTimer(time.Until(at))
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return
			}
		}
		go func() {
			_ = sess.write(kick)
			sess.closeWith(closeCodeFor("shutdown"), "shutdown")
		}()
	}
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// sessions returns the open sessions in a random order (so that no group of viewers is always
// the last to move).
func (h *wsHub) sessions() []*wsSession {
	var all []*wsSession
	for i := range h.shards {
		sh := &h.shards[i]
		sh.mu.Lock()
		for _, sess := range sh.m {
			all = append(all, sess)
		}
		sh.mu.Unlock()
	}
	rand.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	return all
}
