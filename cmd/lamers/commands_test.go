package main

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// testApp is the app runCommand would hand a command: the default
// configuration on a fresh database in UTC, stdin from in, stdout and
// stderr captured, stop stages that the test moves with stop.receive.
type testApp struct {
	*app
	out, errb *lockedBuffer // tail writes its log while the test reads
}

func newTestApp(t *testing.T, in string) testApp {
	t.Helper()
	out, errb := new(lockedBuffer), new(lockedBuffer)
	a := newApp(context.Background(), strings.NewReader(in), out, errb, func(string) string { return "" })
	a.stop = newStopper(context.Background(), errb, func(code int) { t.Errorf("the stop exited %d", code) })
	cfg := DefaultConfig()
	cfg.DB = filepath.Join(t.TempDir(), "lamers.db")
	cfg.Timezone = "UTC"
	a.configure(cfg)
	return testApp{a, out, errb}
}

// runCmd runs c as runCommand would, on the graceful stage.
func (ta testApp) runCmd(c command, args ...string) error {
	return c.run(ta.stop.context(), ta.app, args)
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
// standard input is read; the file after it is not scanned.
func TestScanCommandGracefulStop(t *testing.T) {
	a := newTestApp(t, "")
	log := copyFixture(t, t.TempDir(), "bind9.log")
	a.stdin = &stopReader{r: strings.NewReader("22-Nov-2026 02:01:50.284 lame-servers: info: lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53\n"),
		stop: func() { a.stop.receive(syscall.SIGTERM) }}
	if err := a.runCmd(&scanCommand{noProgress: true}, "-", log); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(a.out.String(), "files: 1\n") {
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

// tail commits what it read and returns nil at the first signal.
func TestTailCommandGracefulStop(t *testing.T) {
	a := newTestApp(t, "")
	log := copyFixture(t, t.TempDir(), "bind9.log")
	// The database exists before the test polls it: two first opens of a
	// new database at once can fail with "database is locked" (store/,
	// reported apart).
	storedEvents(t, a.cfg.DB)
	done := make(chan error, 1)
	go func() { done <- a.runCmd(&tailCommand{fromStart: true}, log) }()
	// bind9.log's 188 lines hold 156 events: the sum of the counts in
	// testdata/golden/scan/bind9.log.json.
	deadline := time.Now().Add(20 * time.Second)
	for storedEvents(t, a.cfg.DB) != 156 {
		select {
		case err := <-done:
			t.Fatalf("tail returned before the stop: %v\n%s", err, a.errb)
		case <-time.After(20 * time.Millisecond): // polling the tailer's commits
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events stored after 20s, want 156\n%s", storedEvents(t, a.cfg.DB), a.errb)
		}
	}
	a.stop.receive(syscall.SIGINT)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("tail did not return within 20s of the graceful stop")
	}
	if got := storedEvents(t, a.cfg.DB); got != 156 {
		t.Errorf("%d events stored after the stop, want 156", got)
	}
	if !strings.Contains(a.errb.String(), `msg="tail: stopped" lines=188 `) {
		t.Errorf("no final log line:\n%s", a.errb)
	}
}

func TestReportCommand(t *testing.T) {
	tests := []struct {
		cmd     reportCommand
		stdout  string // exact
		wantErr string // exact
	}{
		{reportCommand{format: "table"}, "no findings\n", ""},
		{reportCommand{format: "csv"}, "zone,qname,server,port,server_names,sources,observed,count,first_seen,last_seen,status,reason,rounds,last_probed\n", ""},
		{reportCommand{format: "json", zone: "UPREF.lab"}, "[]\n", ""},
		{reportCommand{format: "xml"}, "", `report: --format: "xml" is not one of table, json, csv`},
		{reportCommand{format: "table", since: "yesterday"}, "", `report: --since: "yesterday" is not a date, an RFC 3339 time or a duration`},
	}
	for _, tt := range tests {
		a := newTestApp(t, "")
		err := a.runCmd(&tt.cmd)
		if got := errString(err); got != tt.wantErr {
			t.Errorf("%+v: error %q, want %q", tt.cmd, got, tt.wantErr)
		}
		if a.out.String() != tt.stdout {
			t.Errorf("%+v: stdout %q, want %q", tt.cmd, a.out, tt.stdout)
		}
	}
}

// check's own errors, before any packet is sent.
func TestCheckCommand(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "named.root")
	tests := []struct {
		cmd     checkCommand
		args    []string
		wantErr string
	}{
		{checkCommand{format: "text"}, nil, "check: want exactly one ZONE, got 0 arguments"},
		{checkCommand{format: "yaml"}, []string{"example.com"}, `check: --format: "yaml" is not one of text, json`},
		{checkCommand{format: "text", rf: resolverFlags{rootHints: missing}}, []string{"example.com"}, "root hints: open " + missing + ": no such file or directory"},
	}
	for _, tt := range tests {
		a := newTestApp(t, "")
		if got := errString(a.runCmd(&tt.cmd, tt.args...)); got != tt.wantErr {
			t.Errorf("check %q: error %q, want %q", tt.args, got, tt.wantErr)
		}
	}
}

// On an empty database verify sends nothing and prints its summary.
func TestVerifyCommand(t *testing.T) {
	a := newTestApp(t, "")
	if err := a.runCmd(&verifyCommand{}); err != nil {
		t.Fatal(err)
	}
	if want := "zone-less findings attributed: 0\nprobe rounds: 0\n"; a.out.String() != want {
		t.Errorf("stdout %q, want %q", a.out, want)
	}
	a = newTestApp(t, "")
	if got, want := errString(a.runCmd(&verifyCommand{maxRounds: -1})), "verify: --max-rounds: -1 is negative"; got != want {
		t.Errorf("error %q, want %q", got, want)
	}
}

func TestVersionCommand(t *testing.T) {
	a := newTestApp(t, "")
	if err := a.runCmd(&versionCommand{}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(a.out.String(), "lamers ") || !strings.Contains(a.out.String(), "\nsqlite 3.") {
		t.Errorf("stdout:\n%s", a.out)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
