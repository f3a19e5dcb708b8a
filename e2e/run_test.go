package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The daemon: "lamers run" follows BIND's file channel and Unbound's
// logfile while the resolvers write them, verifies every few seconds
// against the lab's tree, and serves /healthz and /metrics on the
// namespace's loopback, and mails the contacts of what it confirms and
// its digest through the lab's Postfix; meanwhile "cron" runs scan, run
// --once, notify (a dry run), report and digest on the same database. The
// stage (testRun) checks the cron jobs, the verdicts, the endpoints, the
// mail, the digest, a SIGHUP that adds a source, and a SIGTERM after which
// a catch-up scan finds nothing left to read.

// runListen is where the daemon serves, inside the namespace.
const runListen = "127.0.0.1:9716"

// runDaemon is the daemon and the cron jobs beside it.
type runDaemon struct {
	db, cfg string
	cronCfg string // the cron jobs' configuration
	p       *proc
	err     error

	stopCron chan struct{}
	cronDone chan struct{}
	cron     []cronRun // valid once cronDone is closed
}

// cronRun is one command the "cron" loop ran.
type cronRun struct {
	args   []string
	code   int
	stderr string
	err    error
}

// runDigestTo is where the daemon mails its digest (postfix_test.go).
const runDigestTo = "operator@" + bounceDomain

// writeRunConfig writes the daemon's configuration, following sources. A
// finding is confirmed by one hard round, and mailed through the lab's
// Postfix (postfix_test.go) every 20 seconds; so is the digest, to
// runDigestTo. The cron jobs' configuration (cron) is the same but for
// notify, a dry run there, and the digest, left out: what Postfix gets is
// the daemon's.
func (l *lab) writeRunConfig(path string, cron bool, sources ...string) error {
	send, notifyEvery, digestEvery := true, "20s", "20s"
	if cron {
		send, notifyEvery, digestEvery = false, "0s", "0s"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "[resolver]\nroot_hints = %q\n\n[tail]\nfrom_start = true\n\n", l.hints)
	b.WriteString("[verify]\nlame_rounds = 1\nlame_span = \"0s\"\n\n")
	fmt.Fprintf(&b, "[notify]\nsend = %v\nfrom = \"DNS health <dns-health@%s>\"\nbounce_address = \"%s@%s\"\n", send, bounceDomain, bounceLocal, bounceDomain)
	fmt.Fprintf(&b, "smtp_host = %q\nsmtp_port = 25\nsmtp_tls = \"none\"\n\n", addrMX)
	fmt.Fprintf(&b, "[digest]\nto = %q\ninterval = %q\n\n", runDigestTo, digestEvery)
	fmt.Fprintf(&b, "[run]\nlisten = %q\nverify_every = \"3s\"\nnotify_every = %q\n", runListen, notifyEvery)
	for _, s := range sources {
		fmt.Fprintf(&b, "\n[[sources]]\npath = %q\n", s)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// startRun starts the daemon and the cron loop before the queries.
func (l *lab) startRun(t *testing.T) *runDaemon {
	t.Helper()
	dir := filepath.Join(l.dir, "db")
	os.MkdirAll(dir, 0o755)
	rd := &runDaemon{db: filepath.Join(dir, "run.db"), cfg: filepath.Join(dir, "run.toml"), cronCfg: filepath.Join(dir, "cron.toml"),
		stopCron: make(chan struct{}), cronDone: make(chan struct{})}
	if l.lamers == "" {
		rd.err = errors.New("lamers did not build")
		close(rd.cronDone)
		return rd
	}
	rd.err = l.writeRunConfig(rd.cfg, false, l.bindFull, l.unboundLog)
	if rd.err == nil {
		rd.err = l.writeRunConfig(rd.cronCfg, true, l.bindFull, l.unboundLog)
	}
	if rd.err != nil {
		close(rd.cronDone)
		return rd
	}
	cmd := l.lamersCmd(context.Background(), rd.db, "--config", rd.cfg, "run")
	if rd.p, rd.err = daemons.startCmd("lamers-run", filepath.Join(dir, "run.out"), cmd); rd.err != nil {
		close(rd.cronDone)
		return rd
	}
	go l.cronLoop(rd)
	return rd
}

// cronLoop runs what cron would on the daemon's database, one command
// after another, until stopCron (at most 200 commands).
func (l *lab) cronLoop(rd *runDaemon) {
	defer close(rd.cronDone)
	jobs := [][]string{
		{"scan", "--no-progress", l.bindFull, l.unboundLog},
		{"run", "--once"},
		{"notify"}, // a dry run: cron.toml
		{"report", "--format", "json"},
		{"digest", "--format", "json", "--since", "1h"},
	}
	for i := 0; i < 200; i++ {
		select {
		case <-rd.stopCron:
			return
		case <-time.After(200 * time.Millisecond): // a cron job every so often, not a synchronisation
		}
		args := append([]string{"--config", rd.cronCfg}, jobs[i%len(jobs)]...)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		cmd := l.lamersCmd(ctx, rd.db, args...)
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = io.Discard, &stderr
		err := cmd.Run()
		cancel()
		r := cronRun{args: args, stderr: stderr.String()}
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			r.code = ee.ExitCode()
		} else {
			r.err = err
		}
		rd.cron = append(rd.cron, r)
	}
}

// eventsByServer sums the events of the findings by server address: what
// zone attribution leaves unchanged.
func eventsByServer(fs []finding) map[string]int64 {
	out := map[string]int64{}
	for _, f := range fs {
		out[f.Server] += f.Count
	}
	return out
}

// verified reports whether every finding has its zone and a verdict.
func verified(fs []finding) bool {
	for _, f := range fs {
		if f.Zone == "" || f.Status == "new" {
			return false
		}
	}
	return len(fs) > 0
}

// waitRun polls the daemon's database until its events per server are
// want's and, with verify, every finding is verified; it returns the last
// report.
func (l *lab) waitRun(t *testing.T, rd *runDaemon, want map[string]int64, verify bool) []finding {
	t.Helper()
	var fs []finding
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		fs = l.report(t, rd.db)
		if cmp.Equal(want, eventsByServer(fs)) && (!verify || verified(fs)) {
			return fs
		}
		time.Sleep(500 * time.Millisecond) // polling another process's commits
	}
	t.Fatalf("after 2 minutes: events by server (-want +run):\n%s\nverified: %v\n%s",
		cmp.Diff(want, eventsByServer(fs)), verified(fs), rd.p.tail())
	return nil
}

// getURL returns the status and body of GET url.
func getURL(t *testing.T, url string) (int, []byte) {
	t.Helper()
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// endCron stops the cron loop once the resolvers are done writing.
func (rd *runDaemon) endCron() {
	close(rd.stopCron)
	<-rd.cronDone
}

func (l *lab) testRun(t *testing.T, rd *runDaemon) {
	l.needs(t, "scan", "report", "run", "digest")
	if rd.err != nil {
		t.Fatal(rd.err)
	}
	if rd.p.exited() {
		t.Fatalf("lamers run exited early (%v):\n%s", rd.p.err, rd.p.tail())
	}
	t.Run("cron", func(t *testing.T) { checkCron(t, rd) })

	want := eventsByServer(l.report(t, l.scanDB(t, "scan-run", l.bindFull, l.unboundLog)))
	checkVerified(t, l.waitRun(t, rd, want, true))

	code, body := getURL(t, "http://"+runListen+"/healthz")
	if code != 200 || !bytes.HasPrefix(body, []byte("ok\n")) {
		t.Errorf("/healthz = %d:\n%s", code, body)
	}
	code, body = getURL(t, "http://"+runListen+"/metrics")
	check := exec.Command("promtool", "check", "metrics")
	check.Stdin = bytes.NewReader(body)
	if out, err := check.CombinedOutput(); code != 200 || err != nil {
		t.Errorf("/metrics = %d, promtool check metrics: %v\n%s\n%s", code, err, out, body)
	}
	for _, s := range []string{`lamers_findings{status="lame"} `, `lamers_tail_lines_read_total{source="` + l.bindFull + `"} `,
		`lamers_step_runs_total{result="ok",step="verify"} `} {
		if !bytes.Contains(body, []byte(s)) {
			t.Errorf("/metrics lacks %s", s)
		}
	}

	t.Run("notify", func(t *testing.T) { l.checkRunMail(t, rd) })
	t.Run("digest", func(t *testing.T) { l.checkRunDigest(t, rd) })

	// SIGHUP: a third source, BIND's other file channel, read from its
	// start (tail.from_start).
	if err := l.writeRunConfig(rd.cfg, false, l.bindFull, l.unboundLog, l.bindISO); err != nil {
		t.Fatal(err)
	}
	rd.p.cmd.Process.Signal(syscall.SIGHUP)
	want = eventsByServer(l.report(t, l.scanDB(t, "scan-run-hup", l.bindFull, l.unboundLog, l.bindISO)))
	l.waitRun(t, rd, want, false)
	if out, _ := os.ReadFile(rd.p.out); !bytes.Contains(out, []byte(`msg="tail: following" path=`+l.bindISO)) {
		t.Errorf("no sign of the new source after SIGHUP:\n%s", rd.p.tail())
	}

	rd.p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-rd.p.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("lamers run did not exit within 60s of SIGTERM:\n%s", rd.p.tail())
	}
	if rd.p.err != nil {
		t.Errorf("lamers run after SIGTERM: %v, want exit 0:\n%s", rd.p.err, rd.p.tail())
	}
	out, _ := l.lamersRun(t, rd.db, []int{0}, "scan", "--no-progress", l.bindFull, l.unboundLog, l.bindISO)
	if !bytes.Contains(out, []byte("lines read: 0\n")) {
		t.Errorf("the catch-up scan read lines the daemon had not stored:\n%s", out)
	}
	if got := eventsByServer(l.report(t, rd.db)); !cmp.Equal(want, got) {
		t.Errorf("events by server after the stop (-scan +run):\n%s", cmp.Diff(want, got))
	}
	if log, _ := os.ReadFile(rd.p.out); bytes.Contains(log, []byte("database is locked")) {
		t.Errorf("the daemon met a locked database:\n%s", log)
	}
}

// checkCron wants every command run beside the daemon to have succeeded
// and none to have met a locked or busy database.
func checkCron(t *testing.T, rd *runDaemon) {
	if len(rd.cron) < 6 {
		t.Errorf("only %d cron commands ran beside the daemon", len(rd.cron))
	}
	t.Logf("%d cron commands ran beside the daemon", len(rd.cron))
	for _, r := range rd.cron {
		if r.err != nil || r.code != 0 || strings.Contains(r.stderr, "locked") || strings.Contains(r.stderr, "busy") {
			t.Errorf("lamers %s: exit %d (%v)\n%s", strings.Join(r.args, " "), r.code, r.err, r.stderr)
		}
	}
}

// checkRunMail waits until the daemon has mailed the contacts of
// confirmed findings, then wants each finding
// notified to have its message in its contact's Maildir — from lamers, to
// that address, listing the zone — and the contacts the lab's DNS makes:
// postmaster@nic.lab for the zones of the ns-*.nic.lab servers, the SOA
// RNAME first.last@rname.lab for rname.lab.
func (l *lab) checkRunMail(t *testing.T, rd *runDaemon) {
	var fs []contactFinding
	deadline := time.Now().Add(2 * time.Minute)
	for {
		fs = l.contactReport(t, rd.db)
		if n := notified(fs); n["postmaster@nic.lab"] > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no finding mailed to postmaster@nic.lab after 2 minutes:\n%s\n%s", rd.p.tail(), l.mail.diagnostics())
		}
		time.Sleep(time.Second) // polling the daemon's next notify
	}
	for _, f := range fs {
		switch {
		case f.Status != "lame" && f.Status != "unresponsive":
			continue
		case f.Zone == "upref.lab." && (f.Contact != "postmaster@nic.lab" || f.ContactSource != "postmaster"):
			t.Errorf("%s %s: contact %q (%s), want postmaster@nic.lab (postmaster)", f.Zone, f.Server, f.Contact, f.ContactSource)
		case f.Zone == "rname.lab." && (f.Contact != "first.last@rname.lab" || f.ContactSource != "rname"):
			t.Errorf("%s %s: contact %q (%s), want first.last@rname.lab (rname)", f.Zone, f.Server, f.Contact, f.ContactSource)
		}
		if f.LastNotified == nil {
			continue
		}
		msgs := l.mail.waitMessages(t, f.Contact, 1, func(m mailMsg) bool { return listsZone(t, m, f.Zone) })
		m := msgs[0]
		if to, err := mail.ParseAddress(m.header.Get("To")); err != nil || to.Address != f.Contact {
			t.Errorf("%s: To %q, want %s", m.path, m.header.Get("To"), f.Contact)
		}
		if rp := m.header.Get("Return-Path"); !strings.HasPrefix(rp, "<"+bounceLocal+"+") || !strings.HasSuffix(rp, "@"+bounceDomain+">") {
			t.Errorf("%s: Return-Path %q, want <%s+TOKEN@%s>", m.path, rp, bounceLocal, bounceDomain)
		}
		if m.header.Get("Auto-Submitted") != "auto-generated" {
			t.Errorf("%s: Auto-Submitted %q", m.path, m.header.Get("Auto-Submitted"))
		}
	}
}

// contactReport is report --format json with the contact fields.
func (l *lab) contactReport(t *testing.T, db string) []contactFinding {
	t.Helper()
	out, _ := l.lamersRun(t, db, []int{0}, "report", "--format", "json")
	var fs []contactFinding
	if err := json.Unmarshal(out, &fs); err != nil {
		t.Fatalf("report --format json: %v\n%s", err, out)
	}
	return fs
}

// notified counts the findings notified, by contact.
func notified(fs []contactFinding) map[string]int {
	out := map[string]int{}
	for _, f := range fs {
		if f.LastNotified != nil {
			out[f.Contact]++
		}
	}
	return out
}

// listsZone reports whether the plain-text part of m names zone.
func listsZone(t *testing.T, m mailMsg, zone string) bool {
	t.Helper()
	return strings.Contains(textParts(t, m)["text/plain"], strings.TrimSuffix(zone, "."))
}

// checkRunDigest waits for a digest from the daemon in runDigestTo's
// Maildir that names the lab's worst server — ns-upref.nic.lab's address,
// lame for upref.lab., we\.ird.lab. and servfail.lab. (and halflame.lab.
// when a resolver asked it) — in both parts of its multipart/alternative,
// with the headers of a report; then reads `digest --format json` of the
// daemon's database.
func (l *lab) checkRunDigest(t *testing.T, rd *runDaemon) {
	var m mailMsg
	var parts map[string]string
	deadline := time.Now().Add(90 * time.Second) // the daemon's digest comes every 20 seconds
	for m.path == "" {
		msgs, err := l.mail.messages(runDigestTo)
		if err != nil {
			t.Fatal(err)
		}
		for _, msg := range msgs {
			if p := textParts(t, msg); strings.Contains(p["text/plain"], "Worst server:   "+addrUpref+",") {
				m, parts = msg, p
			}
		}
		if m.path == "" && time.Now().After(deadline) {
			t.Fatalf("no digest naming %s as the worst server in %s's Maildir after 90 s (%d messages):\n%s\n%s",
				addrUpref, runDigestTo, len(msgs), rd.p.tail(), l.mail.diagnostics())
		}
		if m.path == "" {
			time.Sleep(time.Second) // polling the daemon's next digest
		}
	}
	for h, want := range map[string]string{"Auto-Submitted": "auto-generated", "List-Unsubscribe": "", "Precedence": "bulk"} {
		if got := m.header.Get(h); got != want {
			t.Errorf("%s: %s %q, want %q", m.path, h, got, want)
		}
	}
	if to, err := mail.ParseAddress(m.header.Get("To")); err != nil || to.Address != runDigestTo {
		t.Errorf("%s: To %q, want %s", m.path, m.header.Get("To"), runDigestTo)
	}
	if rp := m.header.Get("Return-Path"); !strings.HasPrefix(rp, "<"+bounceLocal+"+") || !strings.HasSuffix(rp, "@"+bounceDomain+">") {
		t.Errorf("%s: Return-Path %q, want <%s+TOKEN@%s>", m.path, rp, bounceLocal, bounceDomain)
	}
	if !strings.Contains(parts["text/html"], ">"+addrUpref+"</strong>") || !strings.Contains(parts["text/plain"], "upref.lab.") {
		t.Errorf("%s: the parts do not list the worst server and its zones:\n%s", m.path, parts)
	}
	if log, _ := os.ReadFile(rd.p.out); !bytes.Contains(log, []byte("step=digest result=ok")) || !bytes.Contains(log, []byte("result=sent to="+runDigestTo)) {
		t.Errorf("the daemon's log has no digest step that sent:\n%s", rd.p.tail())
	}
	checkDigestJSON(t, l, rd.db)
}

// checkDigestJSON reads `digest --format json` of db: the contract's
// fields, and the lab's worst server first.
func checkDigestJSON(t *testing.T, l *lab, db string) {
	out, _ := l.lamersRun(t, db, []int{0}, "digest", "--format", "json", "--since", "24h")
	var d struct {
		Since, Until time.Time
		Totals       map[string]int64
		WorstServers []struct {
			Server       string
			Zones, Count int64
		} `json:"worst_servers"`
	}
	if err := json.Unmarshal(out, &d); err != nil {
		t.Fatalf("digest --format json: %v\n%s", err, out)
	}
	if d.Until.Sub(d.Since) != 24*time.Hour {
		t.Errorf("digest --since 24h: %v to %v", d.Since, d.Until)
	}
	for _, k := range []string{"findings", "new", "lame", "unresponsive", "fixed", "stale", "inconclusive", "notified", "bounced", "needs_human"} {
		if _, ok := d.Totals[k]; !ok {
			t.Errorf("totals lack %q:\n%s", k, out)
		}
	}
	if d.Totals["lame"] < 5 || d.Totals["notified"] < 1 || d.Totals["findings"] < d.Totals["lame"] {
		t.Errorf("totals %v: want the lab's lame findings and the daemon's messages", d.Totals)
	}
	if len(d.WorstServers) < 2 || d.WorstServers[0].Server != addrUpref || d.WorstServers[0].Zones < 3 || d.WorstServers[0].Count < 1 ||
		d.WorstServers[1].Zones > d.WorstServers[0].Zones {
		t.Errorf("worst_servers %+v, want %s first with 3 zones at least", d.WorstServers, addrUpref)
	}
}

// textParts returns the decoded parts of a multipart message by content
// type (multipart.Reader decodes quoted-printable; base64 is decoded
// here).
func textParts(t *testing.T, m mailMsg) map[string]string {
	t.Helper()
	out := map[string]string{}
	mt, params, err := mime.ParseMediaType(m.header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Errorf("%s: Content-Type %q, want multipart/alternative", m.path, m.header.Get("Content-Type"))
		return out
	}
	mr := multipart.NewReader(bytes.NewReader(m.body), params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			return out
		}
		var r io.Reader = p
		if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "base64") {
			r = base64.NewDecoder(base64.StdEncoding, p)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Errorf("%s: %v", m.path, err)
			return out
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		out[ct] = string(b)
	}
}
