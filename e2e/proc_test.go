package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// daemons records every long-running process the inner run starts. It is
// the one piece of package state: the signal path in innerMain must reach it.
var daemons procSet

// proc is one started process, stopped by its PID only.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  string // file with its stdout and stderr
	done chan struct{}
	err  error // from Wait, valid once done is closed
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// tail returns the last lines of the process's output, for error messages.
func (p *proc) tail() string { return fileTail(p.out, 15) }

type procSet struct {
	mu   sync.Mutex
	list []*proc
}

// start runs argv in the background, in the directory of outFile, with its
// output in outFile.
func (s *procSet) start(name, outFile string, argv ...string) (*proc, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = filepath.Dir(outFile)
	return s.startCmd(name, outFile, cmd)
}

// startCmd starts cmd in the background with its output in outFile. The
// child gets SIGKILL if the test process dies without cleaning up.
func (s *procSet) startCmd(name, outFile string, cmd *exec.Cmd) (*proc, error) {
	f, err := os.OpenFile(outFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, out: outFile, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	s.list = append(s.list, p)
	return p, nil
}

// stop sends SIGTERM to p, waits up to grace, then SIGKILLs p and the
// children it had forked (NSD's server and xfrd processes), by PID.
func (s *procSet) stop(p *proc, grace time.Duration) {
	s.stopAll1([]*proc{p}, grace)
}

// stopAll stops every recorded process, most recent first in signal order
// (all at once, so the grace periods overlap).
func (s *procSet) stopAll() {
	s.mu.Lock()
	list := append([]*proc(nil), s.list...)
	s.mu.Unlock()
	s.stopAll1(list, 5*time.Second)
}

func (s *procSet) stopAll1(list []*proc, grace time.Duration) {
	type victim struct {
		pid   int
		start string
	}
	var kids []victim
	for i := len(list) - 1; i >= 0; i-- {
		p := list[i]
		if p.exited() {
			continue
		}
		for _, pid := range descendants(p.cmd.Process.Pid) {
			kids = append(kids, victim{pid, startTime(pid)})
		}
		p.cmd.Process.Signal(syscall.SIGTERM)
	}
	deadline := time.After(grace)
	for _, p := range list {
		select {
		case <-p.done:
		case <-deadline:
		}
	}
	for _, p := range list {
		if !p.exited() {
			fmt.Fprintf(os.Stderr, "e2e: %s (pid %d) ignored SIGTERM, sending SIGKILL\n", p.name, p.cmd.Process.Pid)
			p.cmd.Process.Kill()
			<-p.done
		}
	}
	// Children are reaped by their parent (gone by now) or by init; kill
	// those still alive, checking the start time against PID reuse.
	for _, k := range kids {
		if st := startTime(k.pid); st != "" && st == k.start && !isZombie(k.pid) {
			syscall.Kill(k.pid, syscall.SIGKILL)
		}
	}
	s.mu.Lock()
	kept := s.list[:0]
	for _, p := range s.list {
		if !p.exited() {
			kept = append(kept, p)
		}
	}
	s.list = kept
	s.mu.Unlock()
}

// descendants lists the PIDs below pid, from /proc/PID/task/*/children.
func descendants(pid int) []int {
	var out []int
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(f); err == nil {
				out = append(out, c)
				out = append(out, descendants(c)...)
			}
		}
	}
	return out
}

// statFields returns the fields of /proc/PID/stat after the command name.
func statFields(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+1:]
	}
	return strings.Fields(s)
}

// startTime is field 22 of /proc/PID/stat ("" if the process is gone).
func startTime(pid int) string {
	f := statFields(pid)
	if len(f) < 20 {
		return ""
	}
	return f[19]
}

func isZombie(pid int) bool {
	f := statFields(pid)
	return len(f) > 0 && f[0] == "Z"
}

// fileTail returns the last n lines of a file.
func fileTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
