package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lamers-dev/lamers/store"
)

// holdWriteLock creates the database at path and holds its write lock
// until the returned function is called: a process that writes to it waits
// (up to a minute, store's busy handling) meanwhile.
func holdWriteLock(t *testing.T, path string) (release func()) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close(ctx)
	raw, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := raw.Conn(ctx)
	if err == nil {
		_, err = conn.ExecContext(ctx, "BEGIN IMMEDIATE")
	}
	if err != nil {
		raw.Close()
		t.Fatal(err)
	}
	done := false
	release = func() {
		if done {
			return
		}
		done = true
		conn.ExecContext(ctx, "ROLLBACK")
		conn.Close()
		raw.Close()
	}
	t.Cleanup(release)
	return release
}

// waitDelivered waits until the signal sig sent to pid is no longer
// pending (proc(5), /proc/pid/status SigPnd and ShdPnd): the process has
// caught it, or been killed by it.
func waitDelivered(t *testing.T, pid int, sig syscall.Signal) {
	t.Helper()
	bit := uint64(1) << (sig - 1)
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			t.Fatal(err)
		}
		pending := uint64(0)
		for _, line := range strings.Split(string(b), "\n") {
			k, v, _ := strings.Cut(line, ":")
			if k == "SigPnd" || k == "ShdPnd" {
				n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
				if err != nil {
					t.Fatalf("/proc/%d/status: %s: %v", pid, line, err)
				}
				pending |= n
			}
		}
		if pending&bit == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v still pending for process %d", sig, pid)
		}
		time.Sleep(time.Millisecond) // polling another process's state
	}
}

// startBlocked starts the daemon on a database whose write lock is held
// until release is called: it waits in its start-up, opening the database,
// when startBlocked returns.
func startBlocked(t *testing.T) (cmd *exec.Cmd, stderr *lockedBuffer, release func()) {
	t.Helper()
	env := testEnv(t)
	dir := t.TempDir()
	src, cfg := filepath.Join(dir, "named.log"), filepath.Join(dir, "lamers.toml")
	toml := fmt.Sprintf("[digest]\ninterval = \"0s\"\n[run]\nlisten = \"\"\nverify_every = \"0s\"\nnotify_every = \"0s\"\n"+
		"[[sources]]\npath = %q\n", src)
	for p, s := range map[string]string{src: "", cfg: toml} {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env["LAMERS_CONFIG"] = cfg
	release = holdWriteLock(t, env["LAMERS_DB"])
	stderr = &lockedBuffer{}
	cmd = lamersProc(t, env, stderr, "run")
	t.Cleanup(func() { cmd.Process.Kill() })
	waitOpen(t, cmd.Process.Pid, env["LAMERS_DB"])
	return cmd, stderr, release
}

// waitOpen waits until the process pid has the file path open (proc(5),
// /proc/pid/fd).
func waitOpen(t *testing.T, pid int, path string) {
	t.Helper()
	fdDir := fmt.Sprintf("/proc/%d/fd", pid)
	deadline := time.Now().Add(20 * time.Second)
	for {
		ents, _ := os.ReadDir(fdDir)
		for _, e := range ents {
			if target, err := os.Readlink(filepath.Join(fdDir, e.Name())); err == nil && target == path {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d did not open %s", pid, path)
		}
		time.Sleep(time.Millisecond) // polling another process's state
	}
}

// A SIGHUP while the daemon starts (here it waits for the database; the
// tailer may read rotated files it has not seen for seconds) neither kills
// it — systemd would take the signal's exit for a stop and not restart it —
// nor is lost: the configuration is reread once the start-up is over.
func TestRunSIGHUPDuringStart(t *testing.T) {
	cmd, stderr, release := startBlocked(t)
	cmd.Process.Signal(syscall.SIGHUP)
	waitDelivered(t, cmd.Process.Pid, syscall.SIGHUP)
	release()
	waitLog(t, stderr, `msg="run: started"`)
	waitLog(t, stderr, `msg="run: SIGHUP: configuration reread"`)
	cmd.Process.Signal(syscall.SIGTERM)
	if err := waitTimeout(cmd, 20*time.Second); err != nil {
		t.Fatalf("run after SIGTERM: %v\n%s", err, stderr)
	}
	if strings.Contains(stderr.String(), "level=ERROR") {
		t.Errorf("errors logged:\n%s", stderr)
	}
}

// A SIGTERM while the daemon starts is a stop like any other: exit 0, no
// error logged. The database stays locked: opening it gives up when its
// busy timeout (10 s) ends.
func TestRunSIGTERMDuringStart(t *testing.T) {
	cmd, stderr, _ := startBlocked(t)
	cmd.Process.Signal(syscall.SIGTERM)
	if err := waitTimeout(cmd, 20*time.Second); err != nil {
		t.Fatalf("run after SIGTERM: %v\n%s", err, stderr)
	}
	if strings.Contains(stderr.String(), "level=ERROR") || strings.Contains(stderr.String(), "lamers: ") ||
		!strings.Contains(stderr.String(), `msg="run: stopped while starting"`) {
		t.Errorf("errors logged, or not the stop:\n%s", stderr)
	}
}

// A stop while the tailer starts — reading a rotated file it has not seen,
// resuming the live file from its checkpoint — logs no error, and the
// daemon returns as after any stop: what was read before is kept.
func TestRunStopDuringTailerStart(t *testing.T) {
	a := newTestApp(t, "")
	dir := t.TempDir()
	live := filepath.Join(dir, "named.log")
	data, err := os.ReadFile(copyFixture(t, dir, "bind9.log"))
	if err != nil {
		t.Fatal(err)
	}
	bind := strings.SplitAfter(string(data), "\n")
	if err := os.WriteFile(live, []byte(strings.Join(bind[:100], "")), 0o644); err != nil {
		t.Fatal(err)
	}
	a.cfg.Sources = []SourceConfig{{Path: live}}
	a.cfg.Run.Listen, a.cfg.Run.VerifyEvery, a.cfg.Run.NotifyEvery, a.cfg.Digest.Interval = "", 0, 0, 0
	if err := a.runCmd(&scanCommand{noProgress: true}, live); err != nil {
		t.Fatal(err)
	}
	// While no tailer ran, BIND wrote the rest of its log and the file
	// was rotated: named.log.1 holds lines no one read, named.log is new.
	f, err := os.OpenFile(live, os.O_APPEND|os.O_WRONLY, 0)
	if err == nil {
		_, err = f.WriteString(strings.Join(bind[100:], ""))
		f.Close()
	}
	if err == nil {
		err = os.Rename(live, live+".1")
	}
	if err == nil {
		err = os.Rename(copyFixture(t, dir, "unbound.log"), live)
	}
	if err != nil {
		t.Fatal(err)
	}
	sources, err := configSources(a.cfg)
	if err != nil {
		t.Fatal(err)
	}
	db, err := a.openStore(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	// The stop comes as the tailer has read named.log.1, before it
	// resumes named.log.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a.errb.Reset()
	a.log = newLogger(&cancelOn{w: a.errb, s: `msg="tail: read lines left in a rotated file"`, cancel: cancel}, "info")
	r := &runner{a: a.app, db: db}
	if err := r.daemon(ctx, sources, nil); err != nil {
		t.Errorf("daemon stopped while starting = %v", err)
	}
	log := a.errb.String()
	if strings.Contains(log, "level=ERROR") || strings.Contains(log, `msg="run: started"`) || !strings.Contains(log, "path="+live+".1 lines=") ||
		!strings.Contains(log, `msg="run: stopped while starting"`) {
		t.Errorf("errors logged, or not the read and the stop:\n%s", log)
	}
}

// cancelOn writes to w, and calls cancel once a write holds s.
type cancelOn struct {
	w      io.Writer
	s      string
	cancel func()
}

func (c *cancelOn) Write(p []byte) (int, error) {
	if strings.Contains(string(p), c.s) {
		defer c.cancel()
	}
	return c.w.Write(p)
}

// A prune that a stop cuts short fails with the stop's error, so that the
// scheduler abandons it (due again at the next start) rather than record
// it as done for a day.
func TestRunPruneStopped(t *testing.T) {
	a := newTestApp(t, "")
	db, err := a.openStore(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	r := &runner{a: a.app, db: db}
	steps := r.steps(a.cfg, nil, false)
	prune := steps[len(steps)-1]
	if prune.Name != stepPrune {
		t.Fatalf("the last step is %s, want %s", prune.Name, stepPrune)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := prune.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("prune stopped = %v, want context.Canceled", err)
	}
	if _, err := prune.Run(context.Background()); err != nil {
		t.Errorf("prune = %v", err)
	}
}
