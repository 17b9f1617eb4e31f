// Package testproc runs the processes of multi-process tests (liveroomd nodes, redis-server,
// etcd) so that a test can fault them: kill -9, SIGSTOP and SIGCONT, SIGTERM, and start them
// again with the same arguments (the same ports). Every process it starts is stopped when the
// test ends; it signals only the processes it started, by pid.
package testproc

import (
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Proc is one restartable process.
type Proc struct {
	Name string
	Bin  string
	Args []string
	Out  *os.File // where its stdout and stderr go (nil: discarded)
	Env  []string // its environment (nil: this process's)

	t       testing.TB
	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the current run has been waited for
	stopped bool          // SIGSTOPped
}

// Start runs bin with args until the test ends (or Kill, Term).
func Start(t testing.TB, name, bin string, args ...string) *Proc {
	t.Helper()
	return StartProc(t, &Proc{Name: name, Bin: bin, Args: args})
}

// StartProc runs p (its Name, Bin, Args and Out set) until the test ends (or Kill, Term).
func StartProc(t testing.TB, p *Proc) *Proc {
	t.Helper()
	p.t = t
	if err := p.start(); err != nil {
		t.Fatalf("%s: %v", p.Name, err)
	}
	t.Cleanup(func() { p.Kill() })
	return p
}

func (p *Proc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	cmd := exec.Command(p.Bin, p.Args...)
	cmd.Env = p.Env
	if p.Out != nil {
		cmd.Stdout, cmd.Stderr = p.Out, p.Out
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	p.cmd, p.exited, p.stopped = cmd, exited, false
	return nil
}

// Pid is the current run's pid.
func (p *Proc) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd.Process.Pid
}

// Running reports whether the current run has not exited.
func (p *Proc) Running() bool {
	p.mu.Lock()
	exited := p.exited
	p.mu.Unlock()
	select {
	case <-exited:
		return false
	default:
		return true
	}
}

func (p *Proc) signal(sig syscall.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	_ = p.cmd.Process.Signal(sig)
}

// Kill is kill -9, waiting until the process is gone.
func (p *Proc) Kill() {
	p.mu.Lock()
	cmd, exited, stopped := p.cmd, p.exited, p.stopped
	p.mu.Unlock()
	_ = cmd.Process.Kill()
	if stopped {
		_ = cmd.Process.Signal(syscall.SIGCONT)
	}
	<-exited
}

// Freeze is SIGSTOP: the process holds its sockets but runs nothing.
func (p *Proc) Freeze() {
	p.signal(syscall.SIGSTOP)
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
}

// Thaw is SIGCONT.
func (p *Proc) Thaw() {
	p.signal(syscall.SIGCONT)
	p.mu.Lock()
	p.stopped = false
	p.mu.Unlock()
}

// Term is SIGTERM, waiting up to timeout for the exit (then kill -9); it reports how long the
// process took to exit and whether it did so by itself.
func (p *Proc) Term(timeout time.Duration) (time.Duration, bool) {
	p.mu.Lock()
	exited := p.exited
	p.mu.Unlock()
	start := time.Now()
	p.signal(syscall.SIGTERM)
	select {
	case <-exited:
		return time.Since(start), true
	case <-time.After(timeout):
		p.Kill()
		return time.Since(start), false
	}
}

// Restart starts the process again with the same arguments; the previous run must have
// exited (Kill or Term).
func (p *Proc) Restart() {
	p.t.Helper()
	if p.Running() {
		p.t.Fatalf("%s: restart of a running process", p.Name)
	}
	if err := p.start(); err != nil {
		p.t.Fatalf("%s: restart: %v", p.Name, err)
	}
}
