package schedule

import (
	"strconv"
	"strings"
	"time"

	"github.com/lamers-dev/lamers/store"
)

// StaleClaim is how old a run that has not ended must be for its claim to
// count as left by a process that is gone, when that process cannot be
// looked at: it ran on another host (a second machine or a container on
// the same database), or its PID may have been reused. It is generous —
// far longer than any step takes — because a claim taken over while its
// process still works runs the step twice.
const StaleClaim = 12 * time.Hour

// HolderGone returns the store.HolderGone of a scheduler whose holder is
// self ("host:pid"). The holder of a run that has not ended is gone when
// it is self (a process of this host that had this PID before, such as
// PID 1 of a restarted container: a scheduler runs one step at a time, so
// the run is not one of its own), when it is on self's host and exists
// reports its PID gone, or when the run started StaleClaim or more before
// now (a holder on another host, whose process cannot be looked at; a PID
// reused by another process). A holder that names no host and PID is only
// gone by the age of its run.
func HolderGone(self string, exists func(pid int) bool) store.HolderGone {
	host, _, _ := splitHolder(self)
	return func(r store.StepRun, now time.Time) bool {
		if r.Holder == self || now.Sub(r.StartedAt) >= StaleClaim {
			return true
		}
		h, pid, ok := splitHolder(r.Holder)
		return ok && h == host && host != "" && !exists(pid)
	}
}

// splitHolder splits "host:pid"; ok is false when it is not one.
func splitHolder(holder string) (host string, pid int, ok bool) {
	i := strings.LastIndexByte(holder, ':')
	if i < 0 {
		return "", 0, false
	}
	pid, err := strconv.Atoi(holder[i+1:])
	if err != nil || pid <= 0 {
		return "", 0, false
	}
	return holder[:i], pid, true
}
