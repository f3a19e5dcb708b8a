package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lamers-dev/lamers/notify/smtptest"
	"github.com/lamers-dev/lamers/store"
)

func TestRunConfig(t *testing.T) {
	for _, c := range []struct {
		toml, wantErr string
	}{
		{"[run]\nlisten = \"127.0.0.1:9716\"\n", ""},
		{"[run]\nlisten = \"[::1]:9716\"\n", ""},
		{"[run]\nlisten = \"localhost:0\"\n", ""},
		{"[run]\nlisten = \"\"\nverify_every = \"0s\"\nnotify_every = \"0s\"\n", ""},
		{"[run]\nlisten = \"0.0.0.0:9716\"\nallow_non_loopback = true\n", ""},
		{"[run]\nlisten = \":9716\"\nallow_non_loopback = true\n", ""},
		{"[run]\nlisten = \"0.0.0.0:9716\"\n", `config: run.listen: "0.0.0.0:9716" is not a loopback address: set run.allow_non_loopback = true`},
		{"[run]\nlisten = \":9716\"\n", `config: run.listen: ":9716" is not a loopback address`},
		{"[run]\nlisten = \"192.0.2.1:9716\"\n", `config: run.listen: "192.0.2.1:9716" is not a loopback address`},
		{"[run]\nlisten = \"metrics.example:9716\"\n", `config: run.listen: "metrics.example:9716": "metrics.example" is not an IP address or localhost`},
		{"[run]\nlisten = \"127.0.0.1\"\n", `config: run.listen: "127.0.0.1" is not HOST:PORT`},
		{"[run]\nlisten = \"127.0.0.1:http\"\n", `config: run.listen: "127.0.0.1:http": "http" is not a port number`},
		{"[run]\nverify_every = \"-1h\"\n", "config: run.verify_every: -1h0m0s is negative (0 leaves verify out)"},
		{"[run]\nnotify_every = \"-1s\"\n", "config: run.notify_every: -1s is negative (0 leaves notify out)"},
		{"[run]\nverify_every = \"hourly\"\n", `"hourly" is not a duration like 30m or 24h`},
		{"[digest]\nto = \"noc@resolver.example.net\"\ninterval = \"0s\"\n", ""},
		{"[digest]\ninterval = \"-336h\"\n", "config: digest.interval: -336h0m0s is negative (0 leaves the digest out of run)"},
		{"[digest]\nto = \"noc\"\n", "config: digest.to: "},
		{"[digest]\nto = \"NOC <noc@resolver.example.net>\"\n", "config: digest.to: "},
	} {
		cfg, err := ParseConfig(strings.NewReader(c.toml), "lamers.toml")
		if err == nil {
			err = cfg.Validate()
		}
		if got := errString(err); (c.wantErr == "") != (got == "") || !strings.Contains(got, c.wantErr) {
			t.Errorf("%q: error %q, want %q", c.toml, got, c.wantErr)
		}
	}
	cfg := DefaultConfig()
	cfg.Notify.Send = true
	if err := cfg.checkSendable(); err == nil || err.Error() != "config: notify.send = true needs notify.from and notify.bounce_address" {
		t.Errorf("checkSendable = %v", err)
	}
}

// runApp is a notify test app (no network, letters to srv) whose
// [[sources]] are the lab's BIND log as the live file and Unbound's,
// compressed, as its rotated generation.
func runApp(t *testing.T, srv *smtptest.Server) (testApp, string) {
	t.Helper()
	a := notifyApp(t, srv)
	dir := t.TempDir()
	live := filepath.Join(dir, "named.log")
	if err := os.Rename(copyFixture(t, dir, "bind9.log"), live); err != nil {
		t.Fatal(err)
	}
	gzipFile(t, copyFixture(t, dir, "unbound.log"), live+".1.gz")
	a.cfg.Sources = []SourceConfig{{Path: live}}
	a.cfg.Verify.MinInterval = Duration(2 * time.Hour) // seedNotify's rounds are an hour old
	a.cfg.Run.Listen = ""
	return a, live
}

// stepLines returns "step=result" of every step's log line.
func stepLines(log string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`msg=step step=(\w+) result=(\w+)`).FindAllStringSubmatch(log, -1) {
		out = append(out, m[1]+"="+m[2])
	}
	return out
}

// run --once scans the sources' live and rotated files, verifies, notifies
// (a dry run, logged) and prunes; again at once, only the scan is due and
// it adds nothing; a step that fails makes it exit 2 after the others ran.
func TestRunOnce(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	a, live := runApp(t, srv)
	seedNotify(t, a.cfg.DB)
	if err := a.runCmd(&runCommand{once: true}); err != nil {
		t.Fatalf("run --once: %v\n%s", err, a.errb)
	}
	log := a.errb.String()
	if got, want := strings.Join(stepLines(log), " "), "scan=ok verify=ok notify=ok digest=ok prune=ok"; got != want {
		t.Fatalf("steps %q, want %q\n%s", got, want, log)
	}
	for _, s := range []string{
		"step=scan result=ok", "files=2 lines=", "step=notify result=ok", "send=false messages=2 dry_run=2",
		`msg="run: notify: would send (dry run: notify.send is false)" result=dry-run to=first.last@a.example contact_source=rname subject="Lame delegation: a.example. on 192.0.2.53" findings=1`,
		`msg="run: digest: would send (dry run: digest.to is empty)" to="" subject="Lame delegations `,
		"step=digest result=ok ", "send=false since=", " lame=2 unresponsive=0 confirmed=2 fixed=0 needs_human=0 worst_server=192.0.2.53 worst_zones=2 result=dry-run",
	} {
		if !strings.Contains(log, s) {
			t.Errorf("log lacks %q:\n%s", s, log)
		}
	}
	if conns, _, mails := srv.Counts(); conns != 0 || mails != 0 {
		t.Errorf("a dry run connected %d times and handed over %d letters", conns, mails)
	}
	// What scan adds over the same files: the same events.
	scanned := newTestApp(t, "")
	if err := scanned.runCmd(&scanCommand{noProgress: true}, live, live+".1.gz"); err != nil {
		t.Fatal(err)
	}
	if got, want := storedEvents(t, a.cfg.DB), storedEvents(t, scanned.cfg.DB)+8; got != want {
		t.Errorf("%d events stored, want %d (the scan's and the 8 seeded)", got, want)
	}

	a.errb.Reset()
	if err := a.runCmd(&runCommand{once: true}); err != nil {
		t.Fatalf("second run --once: %v\n%s", err, a.errb)
	}
	if got := strings.Join(stepLines(a.errb.String()), " "); got != "scan=ok" {
		t.Errorf("second run: steps %q, want the scan only", got)
	}
	if !strings.Contains(a.errb.String(), "files=1 lines=0 ") {
		t.Errorf("second run read lines again, or opened the compressed file:\n%s", a.errb)
	}

	a.errb.Reset()
	os.Remove(live)
	err := a.runCmd(&runCommand{once: true})
	if got := errString(err); got != "run --once: 1 of 1 steps failed: scan (the log says why)" {
		t.Errorf("with the live file gone: %q", got)
	}
	if !strings.Contains(a.errb.String(), "step=scan result=failed") || !strings.Contains(a.errb.String(), "no such file or directory") {
		t.Errorf("the failure is not logged:\n%s", a.errb)
	}
}

// With notify.send = true and digest.to set, run --once mails the digest
// after notify's messages (which it counts), and logs the step in one
// line; the next pass finds it not due.
func TestRunOnceSendsDigest(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	a, _ := runApp(t, srv)
	seedNotify(t, a.cfg.DB)
	a.cfg.Notify.Send, a.cfg.Digest.To = true, "noc@resolver.example.net"
	// A digest's period ends on a whole second, the messages of its last
	// partial second belonging to the next digest: this one ends a second
	// later than the clock says, after notify's messages in any case.
	a.now = func() time.Time { return time.Now().Add(time.Second) }
	if err := a.runCmd(&runCommand{once: true}); err != nil {
		t.Fatalf("run --once: %v\n%s", err, a.errb)
	}
	log := a.errb.String()
	for _, s := range []string{"step=digest result=ok ", "send=true since=", " worst_server=192.0.2.53 worst_zones=2 result=sent to=noc@resolver.example.net relay=\"250 "} {
		if !strings.Contains(log, s) {
			t.Errorf("log lacks %q:\n%s", s, log)
		}
	}
	txs := srv.Accepted()
	if len(txs) != 3 || txs[2].Rcpt[0] != "noc@resolver.example.net" {
		t.Fatalf("%d messages accepted, want notify's two then the digest: %+v", len(txs), txs)
	}
	if !regexp.MustCompile(`Messages to contacts sent +2\r?\n`).Match(txs[2].Data) {
		t.Errorf("the digest does not count notify's two messages:\n%s", txs[2].Data)
	}
	a.errb.Reset()
	if err := a.runCmd(&runCommand{once: true}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(stepLines(a.errb.String()), " "); got != "scan=ok" || len(srv.Accepted()) != 3 {
		t.Errorf("second pass: steps %q, %d messages accepted", got, len(srv.Accepted()))
	}
}

// notify.send = true without a sender is refused before anything runs.
func TestRunRefusesSendWithoutSender(t *testing.T) {
	a, _ := runApp(t, smtptest.Start(t, smtptest.Options{}))
	a.cfg.Notify.Send, a.cfg.Notify.From = true, ""
	if err := a.runCmd(&runCommand{once: true}); errString(err) != "config: notify.send = true needs notify.from and notify.bounce_address" {
		t.Errorf("run --once = %v", err)
	}
}

// listenRE finds the address `run` serves on in its "run: started" line.
var listenRE = regexp.MustCompile(`msg="run: started" .*listen=(127\.0\.0\.1:\d+)`)

func getBody(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// The daemon follows [[sources]] like tail, serves /healthz and /metrics,
// keeps its configuration when SIGHUP brings one with an error, takes a
// good one (a new source), and exits 0 on SIGTERM with every line stored.
func TestRunDaemon(t *testing.T) {
	env := testEnv(t)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
	cfg := filepath.Join(dir, "lamers.toml")
	writeCfg := func(extra string, paths ...string) {
		s := "[digest]\ninterval = \"0s\"\n[run]\nlisten = \"127.0.0.1:0\"\nverify_every = \"0s\"\nnotify_every = \"0s\"\n" + extra
		for _, p := range paths {
			s += fmt.Sprintf("[[sources]]\npath = %q\n", p)
		}
		if err := os.WriteFile(cfg, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeCfg("", a)
	env["LAMERS_CONFIG"] = cfg
	wa := &crashWriter{t: t, path: a}
	wa.open()
	defer wa.f.Close()
	var stderr lockedBuffer
	cmd := lamersProc(t, env, &stderr, "run")
	defer cmd.Process.Kill()
	waitLog(t, &stderr, "run: started")
	m := listenRE.FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("no listen address logged:\n%s", stderr.String())
	}
	base := "http://" + m[1]
	wa.write(10)
	waitEvents(t, env["LAMERS_DB"], 10, 20*time.Second, &stderr)
	if code, body := getBody(t, base+"/healthz"); code != 200 || !strings.HasPrefix(body, "ok\n") {
		t.Errorf("/healthz = %d %q", code, body)
	}
	if code, body := getBody(t, base+"/metrics"); code != 200 || !strings.Contains(body, fmt.Sprintf("lamers_tail_lines_read_total{source=%q} 10\n", a)) {
		t.Errorf("/metrics = %d:\n%s", code, body)
	}

	writeCfg("[run]\nverify_every = \"-1h\"\n", a, b) // [run] twice: a TOML error
	cmd.Process.Signal(syscall.SIGHUP)
	waitLog(t, &stderr, `msg="run: SIGHUP: the configuration has an error, keeping the one running"`)
	wa.write(5)
	waitEvents(t, env["LAMERS_DB"], 15, 20*time.Second, &stderr)

	wb := &crashWriter{t: t, path: b, n: 1000}
	wb.open()
	defer wb.f.Close()
	wb.write(5) // before the reload: a new source is read from its end
	writeCfg("", a, b)
	cmd.Process.Signal(syscall.SIGHUP)
	waitLog(t, &stderr, `msg="tail: following" path=`+b)
	wb.write(7)
	waitEvents(t, env["LAMERS_DB"], 22, 20*time.Second, &stderr)
	if code, body := getBody(t, base+"/metrics"); code != 200 || !strings.Contains(body, fmt.Sprintf("lamers_tail_lines_read_total{source=%q} 7\n", b)) {
		t.Errorf("/metrics after SIGHUP = %d:\n%s", code, body)
	}

	cmd.Process.Signal(syscall.SIGTERM)
	if err := waitTimeout(cmd, 20*time.Second); err != nil {
		t.Fatalf("run after SIGTERM: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), `msg="run: stopped" lines=22 `) {
		t.Errorf("no final line:\n%s", stderr.String())
	}
	if got := storedEvents(t, env["LAMERS_DB"]); got != 22 {
		t.Errorf("%d events stored after the stop, want 22", got)
	}
	runs := stepRuns(t, env["LAMERS_DB"])
	if len(runs) != 1 || runs[0].Name != stepPrune || runs[0].Err != "" || runs[0].FinishedAt.IsZero() {
		t.Errorf("step runs %+v, want prune's, finished", runs)
	}
}

func stepRuns(t *testing.T, dbPath string) []store.StepRun {
	t.Helper()
	db, err := store.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	runs, err := db.StepRuns(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return runs
}
