//go:build !linux

package loadtest

import "syscall"

// bindNoPort: IP_BIND_ADDRESS_NO_PORT is Linux's (dial_linux.go).
func bindNoPort(_, _ string, _ syscall.RawConn) error { return nil }
