package socket

import (
	"slices"
	"syscall"
	"testing"
)

// A second Close (a server shut down twice) must not close descriptors again: their numbers
// may belong to something else by then (the next server's epoll instance, a connection), as
// they do here.
func TestPollerCloseTwiceClosesNothingElse(t *testing.T) {
	p, err := NewPoller(func(uint64) {}, func(err error) { t.Error(err) })
	if err != nil {
		t.Fatal(err)
	}
	old := []int{p.epfd, p.wake[0], p.wake[1]}
	p.Close()
	var other [2]int // takes the lowest free numbers: those Close just released
	if err := syscall.Pipe2(other[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(other[0])
	defer syscall.Close(other[1])
	if !slices.Contains(old, other[0]) && !slices.Contains(old, other[1]) {
		t.Skipf("the new pipe %v did not reuse the poller's descriptors %v", other, old)
	}
	p.Close()
	if _, err := syscall.Write(other[1], []byte{1}); err != nil {
		t.Fatalf("the pipe that reused the poller's descriptors after a second Close: %v", err)
	}
	b := make([]byte, 2)
	if n, err := syscall.Read(other[0], b); err != nil || n != 1 {
		t.Fatalf("read %d bytes from the pipe, err %v; want the 1 written", n, err)
	}
}
