package loadtest

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"

	"github.com/HdrHistogram/hdrhistogram-go"
)

type workerProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	ticks chan workerMsg
	final chan workerMsg
	last  Totals
}

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
	wp := &workerProc{cmd: cmd, stdin: stdin, ticks: make(chan workerMsg, 1024), final: make(chan workerMsg, 1)}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			var m workerMsg
			if json.Unmarshal(sc.Bytes(), &m) != nil {
				continue
			}
			if m.Type == "final" {
				wp.final <- m
				return
			}
			select {
			case wp.ticks <- m:
			default:
			}
		}
	}()
	return wp, nil
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
					for p, enc := range m.Lat {
						h := lat[p]
						if h == nil {
							h = newHist()
							lat[p] = h
						}
						h.Merge(decodeHist(enc))
					}
				}
			default:
				break drain
			}
		}
		sum.add(wp.last)
	}
	return sum
}
