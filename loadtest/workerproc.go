package loadtest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// workerProc is the driver's end of one worker: a child process (os.Executable --worker, its
// Config in WorkerEnv) or, in-process, a goroutine running RunWorker over two pipes. Either
// way the driver writes driverMsg lines to in and a reader goroutine turns the worker's lines
// into ticks (the latest kept, older ones dropped when the driver is late) and the final.
type workerProc struct {
	in         io.WriteCloser
	ticks      chan workerMsg
	final      chan workerMsg
	readerDone chan struct{} // the worker's output was read to its end
	done       chan struct{} // the worker ended (process waited for, or RunWorker returned)
	kill       func()        // ends a worker that does not end by itself (nil in-process)
	pid        int           // the worker's process (this one's in-process)
	last       Totals
	closeOnce  sync.Once
}

func newWorkerProc(in io.WriteCloser) *workerProc {
	return &workerProc{in: in, ticks: make(chan workerMsg, 1024), final: make(chan workerMsg, 1),
		readerDone: make(chan struct{}), done: make(chan struct{})}
}

// startWorker runs a worker process: os.Executable with --worker.
func startWorker(ctx context.Context, self string, cfg Config) (*workerProc, error) {
	b, _ := json.Marshal(cfg)
	cmd := exec.CommandContext(ctx, self, "--worker")
	cmd.Env = append(os.Environ(), WorkerEnv+"="+string(b))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	wp := newWorkerProc(stdin)
	wp.kill = func() { _ = cmd.Process.Kill() }
	wp.pid = cmd.Process.Pid
	go wp.read(stdout)
	go func() {
		<-wp.readerDone // Wait closes stdout: read it to its end first
		_ = cmd.Wait()
		close(wp.done)
	}()
	return wp, nil
}

// startWorkerInProcess runs RunWorker in a goroutine of this process, over pipes: for Go tests,
// whose binary cannot be re-executed as a worker. The viewers then share this process's file
// limit.
func startWorkerInProcess(ctx context.Context, cfg Config) *workerProc {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	wp := newWorkerProc(inW)
	wp.pid = os.Getpid()
	go wp.read(outR)
	go func() {
		defer close(wp.done)
		err := RunWorker(ctx, cfg, inR, outW)
		_ = inR.Close() // a driver still writing gets an error instead of blocking
		_ = outW.CloseWithError(err)
	}()
	return wp
}

// read turns the worker's output lines into ticks and the final report, then reads the rest to
// its end (a worker never blocks on its output).
func (wp *workerProc) read(out io.Reader) {
	defer close(wp.readerDone)
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 64<<20) // grows for the final (a line, whatever its size); one per worker
	for sc.Scan() {
		var m workerMsg
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue
		}
		if m.Type == "final" {
			wp.final <- m
			break
		}
		select {
		case wp.ticks <- m:
		default:
		}
	}
	_, _ = io.Copy(io.Discard, out)
}

// send writes one line to the worker.
func (wp *workerProc) send(m driverMsg) error {
	b, _ := json.Marshal(m)
	if _, err := wp.in.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	return nil
}

// stop closes the worker's input (a worker that was not told to finish finishes now) and waits
// for it to end: 30 s, then a process is killed.
func (wp *workerProc) stop() {
	wp.closeOnce.Do(func() { _ = wp.in.Close() })
	t := time.NewTimer(30 * time.Second)
	defer t.Stop()
	select {
	case <-wp.done:
		return
	case <-t.C:
	}
	if wp.kill != nil {
		wp.kill()
	}
	<-wp.done
}

// collect drains the workers' ticks and returns the summed latest totals; lat, if not nil,
// receives the merged per-second latency histograms.
func collect(workers []*workerProc, lat map[string]*hdrhistogram.Histogram) Totals {
	var sum Totals
	for _, wp := range workers {
	drain:
		for {
			select {
			case m := <-wp.ticks:
				wp.last = m.Totals
				if lat != nil {
					mergeHists(lat, m.Lat)
				}
			default:
				break drain
			}
		}
		sum.add(wp.last)
	}
	return sum
}

// broadcast writes m to every worker.
func broadcast(workers []*workerProc, m driverMsg) error {
	for _, wp := range workers {
		if err := wp.send(m); err != nil {
			return err
		}
	}
	return nil
}
