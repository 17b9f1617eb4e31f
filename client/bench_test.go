package client

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"
)

const fakeServerEnv = "LIVEROOM_CLIENT_FAKE_SERVER"

// TestMain doubles as the fake server process of the benchmarks, so that what they measure
// (memory, goroutines, allocations) is the client's alone.
func TestMain(m *testing.M) {
	if os.Getenv(fakeServerEnv) == "1" {
		hub := newFakeHub()
		fs, err := startFakeServer(hub.serveRooms)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(fs.url)
		_, _ = io.Copy(io.Discard, os.Stdin) // until the benchmark process goes away
		os.Exit(0)
	}
	os.Exit(m.Run())
}

var benchSrv struct {
	once  sync.Once
	url   string
	err   error
	stdin io.WriteCloser
}

// benchServer starts the fake server in a child process (once per test binary run).
func benchServer(b *testing.B) string {
	benchSrv.once.Do(func() {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), fakeServerEnv+"=1")
		cmd.Stderr = os.Stderr
		// The child lives until its stdin closes: keep the pipe referenced for good (a
		// collected pipe would be closed by its finalizer).
		if benchSrv.stdin, benchSrv.err = cmd.StdinPipe(); benchSrv.err != nil {
			return
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			benchSrv.err = err
			return
		}
		if err := cmd.Start(); err != nil {
			benchSrv.err = err
			return
		}
		line, err := bufio.NewReader(out).ReadString('\n')
		benchSrv.url, benchSrv.err = strings.TrimSpace(line), err
	})
	if benchSrv.err != nil {
		b.Fatalf("fake server process: %v", benchSrv.err)
	}
	return benchSrv.url
}

// BenchmarkIdleConns opens b.N connections (run it with -benchtime=1000x for 1000) that
// each joined a room and got one notify, then measures what they hold once idle: live heap
// and goroutine stacks per connection, and goroutines per connection. ns/op is the cost of
// one dial + join. Kernel socket buffers are not included. The server is another process.
// IDLE_HEAP_PROFILE=file writes a heap profile of the idle connections (with
// -memprofilerate=1 it names every allocation).
func BenchmarkIdleConns(b *testing.B) {
	url := benchServer(b)
	ctx := context.Background()
	conns := b.N
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	g0 := runtime.NumGoroutine()
	b.ResetTimer()

	cs := make([]*Conn, conns)
	notified := make(chan struct{}, conns)
	for i := range cs {
		c, err := Dial(ctx, url, DialOptions{DevUID: fmt.Sprintf("idle-%d", i),
			OnNotify: func(string, int64) { notified <- struct{}{} }})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Join(ctx, "idle-room", nil); err != nil {
			b.Fatal(err)
		}
		cs[i] = c
	}
	b.StopTimer()
	// One message reaches every connection as a notify (the reader's state warms up).
	if _, err := cs[0].Send(ctx, "idle-room", Outgoing{Kind: "chat", Body: json.RawMessage(`{}`)}); err != nil {
		b.Fatal(err)
	}
	for range conns {
		<-notified
	}
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	g1 := runtime.NumGoroutine()
	if p := os.Getenv("IDLE_HEAP_PROFILE"); p != "" {
		f, _ := os.Create(p)
		_ = pprof.WriteHeapProfile(f)
		f.Close()
	}
	heap := float64(after.HeapAlloc) - float64(before.HeapAlloc)
	stack := float64(after.StackInuse) - float64(before.StackInuse)
	b.ReportMetric(heap/float64(conns), "heap-B/conn")
	b.ReportMetric(stack/float64(conns), "stack-B/conn")
	b.ReportMetric((heap+stack)/float64(conns), "B/conn")
	b.ReportMetric(float64(g1-g0)/float64(conns), "goroutines/conn")
	for _, c := range cs {
		_ = c.Close()
	}
	for _, c := range cs {
		<-c.Done()
	}
}

func benchConn(b *testing.B) *Conn {
	c, err := Dial(context.Background(), benchServer(b), DialOptions{DevUID: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close(); <-c.Done() })
	return c
}

// BenchmarkPing is one request/reply round trip over loopback; allocs are the client's.
func BenchmarkPing(b *testing.B) {
	c := benchConn(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := c.Ping(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPingParallel: many goroutines sharing one Conn (id matching, write mutex).
func BenchmarkPingParallel(b *testing.B) {
	c := benchConn(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Ping(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkPull20 pulls a window of 20 messages with small bodies.
func BenchmarkPull20(b *testing.B) {
	c := benchConn(b)
	ctx := context.Background()
	room := fmt.Sprintf("pull-%d", time.Now().UnixNano())
	j, err := c.Join(ctx, room, nil)
	if err != nil {
		b.Fatal(err)
	}
	var first int64
	for i := range 20 {
		s, err := c.Send(ctx, room, Outgoing{Kind: "chat", Body: json.RawMessage(`{"text":"hello world, this is a danmaku"}`)})
		if err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			first = s.TS
		}
	}
	_ = j
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		m, err := c.Pull(ctx, room, first-1, 0)
		if err != nil || len(m.Msgs) != 20 {
			b.Fatal(len(m.Msgs), err)
		}
	}
}
