//go:build !race

// The pull benchmark needs a real membership (an *actors.Member, whose replica a protoactor
// node starts): protoactor's cluster internals race under -race (DESIGN.md section 4).

package transport

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/liveroom/liveroom/actors"
	"github.com/liveroom/liveroom/internal/testwait"
	"github.com/liveroom/liveroom/rooms"
)

// benchSession is a session that only counts what it is told: the benchmark measures the
// session's answer to a pull frame, not a socket.
type benchSession struct{ uid string }

func (s *benchSession) UID() string                     { return s.uid }
func (s *benchSession) Notify(*actors.SharedFrame) bool { return true }
func (s *benchSession) Kick(room, reason string)        {}

// BenchmarkSessionPullFrame is a session's answer to a pull frame of 20 messages: the frame's
// parse, the membership's pull (window cache hit) and the msgs frame (`go test -run '^$'
// -bench SessionPull ./transport/`).
func BenchmarkSessionPullFrame(b *testing.B) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	node, err := actors.NewNode(actors.Config{Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = node.Shutdown(ctx)
	})
	srv, err := New(Config{JWTSecret: tSecret, APIKey: tAPI, AdminKey: tAdmin}, node, node.Metrics(), log)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	ctx := context.Background()
	res, err := node.Join(ctx, &benchSession{uid: "v"}, "bench", actors.JoinOptions{Since: -1})
	if err != nil {
		b.Fatal(err)
	}
	for i := range 20 {
		if _, err := node.Send(ctx, "bench", rooms.SendRequest{UID: "u1", Kind: "chat", Body: []byte(`{"text":"hello there"}`),
			CMID: fmt.Sprint("c", i), Source: rooms.FromServer}); err != nil {
			b.Fatal(err)
		}
	}
	s := &wsSession{hub: srv.ws, viewer: Viewer{UID: "v"}}
	s.rooms.set("bench", res.Member)
	frame := []byte(fmt.Sprintf(`{"op":"pull","room":"bench","since":%d,"limit":100,"id":7}`, res.TS))
	pull := func() int {
		f, ok := parseFlat(frame)
		if !ok {
			b.Fatal("frame not flat")
		}
		reply := s.handleFrame(f)
		n := len(reply)
		bp := s.pooled
		s.pooled = nil
		*bp = (*bp)[:0]
		replyPool.Put(bp)
		return n
	}
	testwait.For(b, 5*time.Second, "the replica to hold the 20 messages", func() bool {
		return pull() > 20*len(`{"text":"hello there"}`)
	})
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		pull()
	}
}
