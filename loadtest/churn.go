package loadtest

import (
	"context"
	"time"

	"github.com/fasthttp/websocket"
)

// Churn (--churn F): during the send phase, F of the viewers per minute, spread evenly over
// each minute, close their session on purpose and reconnect at once to the same node,
// resuming with join since. They stay in the loss check: a resumption must not lose a
// notice. Stalled viewers (--slow-mode stop) are left alone.

// churn closes one joined viewer's session after another until ctx ends (the send phase's
// end), at this worker's share of the rate.
func (w *worker) churn(ctx context.Context) {
	perSec := w.cfg.Churn * float64(w.cfg.Count) / 60
	if perSec <= 0 {
		return
	}
	t := time.NewTicker(time.Duration(float64(time.Second) / perSec))
	defer t.Stop()
	start, done, next := time.Now(), 0, 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// As for the senders: every churn due by now, whatever ticks a starved worker missed,
		// and none beyond the send phase's length (the drain line may come late).
		elapsed := min(time.Since(start), w.cfg.Duration)
		for due := int(elapsed.Seconds() * perSec); done < due; done++ {
			if v := w.nextChurn(&next); v != nil && v.churnOut() {
				w.c.churns.Add(1)
			}
		}
	}
}

// nextChurn returns the next joined viewer from *next on, round the list (nil: none).
func (w *worker) nextChurn(next *int) *wsViewer {
	w.mu.Lock()
	defer w.mu.Unlock()
	for k := range len(w.ws) {
		i := (*next + k) % len(w.ws)
		if v := w.ws[i]; v.slow != slowStop && v.cur.Load() != nil {
			*next = i + 1
			return v
		}
	}
	return nil
}

// churnOut closes the viewer's joined session from another goroutine (Close and WriteControl
// may run alongside the viewer's reads and writes). False: it was not joined.
func (v *wsViewer) churnOut() bool {
	conn := v.cur.Load()
	if conn == nil || !v.churned.CompareAndSwap(nil, conn) {
		return false
	}
	_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "churn"), time.Now().Add(time.Second))
	_ = conn.Close()
	return true
}
