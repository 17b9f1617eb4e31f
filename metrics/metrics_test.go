package metrics

import (
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

func TestHandlerServesTextFormat(t *testing.T) {
	m := New()
	m.Accepted.Add(3)
	m.Kicks.WithLabelValues("unresponsive").Inc()
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI("/metrics")
	m.Handler()(&ctx)
	body := string(ctx.Response.Body())
	for _, want := range []string{"liveroom_accepted_total 3", `liveroom_kicks_total{reason="unresponsive"} 1`, "go_goroutines"} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics output lacks %q", want)
		}
	}
}
