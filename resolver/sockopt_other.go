//go:build !linux

package resolver

import "syscall"

// recvErrControl does nothing here: without IP_RECVERR an unconnected UDP
// socket does not learn about ICMP port unreachable, so a closed port looks
// like silence (both are soft evidence).
func recvErrControl(string, string, syscall.RawConn) error { return nil }
