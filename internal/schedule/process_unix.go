//go:build unix

package schedule

import (
	"errors"
	"syscall"
)

// ProcessExists reports whether the process pid exists on this host:
// kill(pid, 0) (POSIX.1-2017, kill(): signal 0 checks without sending)
// fails with ESRCH only when no such process exists; EPERM is a process
// of another user.
func ProcessExists(pid int) bool {
	if pid <= 0 {
		return true // a process group, not a process: cannot tell
	}
	return !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
