package main

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lamers-dev/lamers/internal/golden"
)

// Every real log of the lab, scanned alone into a fresh database: the
// findings it produces.
func TestScanLabGolden(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join("..", "..", "testdata", "lab"))
	if err != nil || len(entries) == 0 {
		t.Fatalf("no lab logs in testdata/lab: %v", err)
	}
	goldenDir := filepath.Join("..", "..", "testdata", "golden", "scan")
	var names []string
	for _, e := range entries {
		names = append(names, e.Name()+".json")
		t.Run(e.Name(), func(t *testing.T) {
			env := testEnv(t)
			path := copyFixture(t, t.TempDir(), e.Name())
			r := lamers(t, env, nil, "scan", path)
			if r.code != 0 {
				t.Fatalf("scan: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout, "lame-looking lines not understood: 0\n") {
				t.Errorf("lines not understood:\n%s", r.stdout)
			}
			rep := lamers(t, env, nil, "report", "--format", "json")
			if rep.code != 0 {
				t.Fatalf("report: exit %d\n%s", rep.code, rep.stderr)
			}
			golden.Check(t, filepath.Join(goldenDir, e.Name()+".json"), []byte(rep.stdout))
		})
	}
	golden.Orphans(t, goldenDir, names)
}

// The scan summary counts what was read but not stored: evidence against
// scan.ignore_servers, kinds past 16 per finding, times outside the window.
func TestScanSummaryCounts(t *testing.T) {
	env := testEnv(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "lamers.toml")
	if err := os.WriteFile(conf, []byte("[scan]\nignore_servers = [\"192.0.2.53\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env["LAMERS_CONFIG"] = conf
	var b strings.Builder
	// BIND 9.18 resolver.c add_bad() under "forward first": the forwarder
	// timed out
	b.WriteString("22-Nov-2026 02:01:50.000 lame-servers: info: timed out resolving 'www.example.com/A/IN': 192.0.2.53#53\n")
	// the lab's bind9.log line with a forged year
	b.WriteString("22-Nov-9999 02:01:50.284 lame-servers: info: lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53\n")
	// 20 unassigned rcode numbers on one finding (resolver.c add_bad() form)
	for i := range 20 {
		b.WriteString("22-Nov-2026 02:01:51.000 lame-servers: info: " + strconv.Itoa(30+i) + " unexpected RCODE resolving 'v.victim.example/A/IN': 192.0.2.9#53\n")
	}
	log := filepath.Join(dir, "named.log")
	if err := os.WriteFile(log, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(log, labTime, labTime); err != nil {
		t.Fatal(err)
	}
	r := lamers(t, env, nil, "scan", log)
	if r.code != 0 {
		t.Fatalf("scan: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"lines recognised: 22\n",
		"evidence against ignored servers (scan.ignore_servers), not stored: 1\n",
		"events of evidence kinds past 16 per finding, not stored: 4\n",
		"lines with a time before 2000, over ten years old or in the future, counted at the file's time: 1\n",
		"findings: 2 new, 0 updated\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestScanCommand(t *testing.T) {
	a := newTestApp(t, "")
	log := copyFixture(t, t.TempDir(), "bind9.log")
	if err := a.runCmd(&scanCommand{noProgress: true}, log); err != nil {
		t.Fatalf("%v\n%s", err, a.errb)
	}
	if !strings.Contains(a.out.String(), "lines read: 188\n") {
		t.Errorf("summary:\n%s", a.out)
	}
}

// The whole argument list is checked before anything is read: `scan - a.log
// -` used to commit two inputs, then fail.
func TestScanCommandRejectsArgumentsFirst(t *testing.T) {
	dir := t.TempDir()
	log := copyFixture(t, dir, "bind9.log")
	tests := []struct {
		args []string
		want string
	}{
		{nil, "scan: no files given (use - for standard input)"},
		{[]string{"-", log, "-"}, "scan: argument 3: - (standard input) is already argument 1"},
		{[]string{log, ""}, "scan: argument 2 is an empty file name"},
	}
	for _, tt := range tests {
		a := newTestApp(t, "22-Nov-2026 02:01:50.284 lame-servers: info: lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53\n")
		err := a.runCmd(&scanCommand{noProgress: true}, tt.args...)
		var ue *usageError
		if !errors.As(err, &ue) || err.Error() != tt.want {
			t.Errorf("scan %q: %v, want the usage error %q", tt.args, err, tt.want)
		}
		if a.out.String() != "" {
			t.Errorf("scan %q read something:\n%s", tt.args, a.out)
		}
	}
	r := lamers(t, testEnv(t), strings.NewReader(""), "scan", "-", log, "-")
	if r.code != exitFailure || r.stdout != "" || !strings.Contains(r.stderr, "argument 3") {
		t.Errorf("lamers scan - %s -: exit %d\nstdout: %s\nstderr: %s", log, r.code, r.stdout, r.stderr)
	}
}

// Stopped by the first signal, scan keeps what it committed, prints its
// summary and ends well: a rerun continues. The signal comes while
// standard input is read: what was spooled of it is dropped (a stream cut
// anywhere, maybe inside a line), and the file after it is not scanned.
func TestScanCommandGracefulStop(t *testing.T) {
	a := newTestApp(t, "")
	log := copyFixture(t, t.TempDir(), "bind9.log")
	a.stdin = &stopReader{r: strings.NewReader("22-Nov-2026 02:01:50.284 lame-servers: info: lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53\n"),
		stop: func() { a.stop.receive(syscall.SIGTERM) }}
	if err := a.runCmd(&scanCommand{noProgress: true}, "-", log); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(a.out.String(), "files: 0\nlines read: 0\n") {
		t.Errorf("summary:\n%s", a.out)
	}
	if want := "lamers: scan stopped early (terminated signal received): committed batches are kept; run it again to continue\n"; a.errb.String() != want {
		t.Errorf("stderr %q, want %q", a.errb, want)
	}
}

// stopReader calls stop at its first read.
type stopReader struct {
	r    io.Reader
	stop func()
	once sync.Once
}

func (s *stopReader) Read(p []byte) (int, error) {
	s.once.Do(s.stop)
	return s.r.Read(p)
}

// Standard input is ingested exactly once too.
func TestScanStdin(t *testing.T) {
	env := testEnv(t)
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "lab", "bind9.log"))
	if err != nil {
		t.Fatal(err)
	}
	r := lamers(t, env, strings.NewReader(string(data)), "scan", "-")
	if r.code != 0 || !strings.Contains(r.stdout, "lines read: 188") {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = lamers(t, env, strings.NewReader(string(data)), "scan", "-")
	if !strings.Contains(r.stdout, "lines read: 0\n") || !strings.Contains(r.stdout, "already ingested by earlier runs: 188") {
		t.Fatalf("second scan of the same input:\n%s", r.stdout)
	}
}

// A FIFO among the inputs (issue 15 item 3) is refused at once with one
// line, and the file after it is scanned: opening a FIFO without a writer
// used to wait for ever.
func TestScanFIFO(t *testing.T) {
	env := testEnv(t)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "named.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	log := copyFixture(t, dir, "bind9.log")
	done := make(chan result, 1)
	go func() { done <- lamers(t, env, nil, "scan", fifo, log) }()
	var r result
	select {
	case r = <-done:
	case <-time.After(time.Minute): // a hang, not a measure of speed
		t.Fatal("scan of a FIFO did not return")
	}
	if r.code != exitFailure || strings.Count(r.stderr, "\n") != 2 || !strings.Contains(r.stderr, fifo+": not a regular file but a pipe") {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "lines read: 188\n") {
		t.Errorf("the file after the FIFO was not scanned:\n%s", r.stdout)
	}
}

// One SIGTERM stops `scan -` while it waits on a silent standard input
// (issue 15 item 3): the process ends by itself, exit 0, saying so.
func TestScanStdinStopsOnSignal(t *testing.T) {
	env := testEnv(t)
	spool := t.TempDir()
	env["TMPDIR"] = spool
	var stderr lockedBuffer
	cmd := exec.Command(os.Args[0], "scan", "--no-progress", "-")
	cmd.Env = append(os.Environ(), envExec+"=1")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The spool file exists once scan reads standard input, after the
	// signal handlers are in place.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		if m, _ := filepath.Glob(filepath.Join(spool, "lamers-stdin-*")); len(m) > 0 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("scan - never started spooling\n%s", stderr.String())
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil || !strings.Contains(stderr.String(), "scan stopped early") {
			t.Errorf("exit: %v\n%s", err, stderr.String())
		}
	case <-time.After(time.Minute): // a hang, not a measure of speed
		cmd.Process.Kill()
		<-exited
		t.Fatalf("scan - did not stop on SIGTERM\n%s", stderr.String())
	}
}
