package rooms

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/liveroom/liveroom/ring"
)

// BenchmarkAccept is one viewer message through every check: kind, moderation lookups,
// priority, de-dup, bucket, stamp, encode.
func BenchmarkAccept(b *testing.B) {
	for _, withCMID := range []bool{false, true} {
		b.Run(fmt.Sprintf("cmid=%v", withCMID), func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.Rate.Normal = MaxRate
			cfg.Rate.PerUID = MaxRate // one sender: the per-uid share would refuse it after its burst
			r := NewRoom("r", cfg)
			_ = r.Moderate(ModOp{List: Bans, UID: "someone", Set: true}, t0)
			req := SendRequest{UID: "u1", Kind: "chat", Pri: ring.Normal, Body: json.RawMessage(`{"text":"hello"}`), Source: FromViewer}
			cmids := make([]string, 1024)
			for i := range cmids {
				cmids[i] = fmt.Sprintf("c-%d", i)
			}
			now := t0
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				now = now.Add(time.Millisecond)
				if withCMID {
					req.CMID = cmids[i%len(cmids)]
					req.UID = cmids[(i/len(cmids))%len(cmids)] // a new (uid, cmid) pair for 1M sends
				}
				if _, _, err := r.Accept(req, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
