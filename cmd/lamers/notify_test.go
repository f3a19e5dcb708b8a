package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/mail"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/google/go-cmp/cmp"

	"github.com/lamers-dev/lamers/notify/smtptest"
	"github.com/lamers-dev/lamers/store"
)

// notifyApp is a test app whose notify needs no network but srv, a relay
// on loopback: its root hints name a loopback address where nothing
// listens, deliverability is not checked, and the mailer is the one
// [notify] configures (the embedded templates, SMTP to srv in clear).
func notifyApp(t *testing.T, srv *smtptest.Server) testApp {
	t.Helper()
	a := newTestApp(t, "")
	a.cfg.Resolver.RootHints = notifyHints(t)
	a.cfg.Resolver.Timeouts = []Duration{Duration(100 * time.Millisecond)}
	a.cfg.Notify.CheckDeliverability = false
	a.cfg.Notify.From = "DNS health <dns-health@resolver.example.net>"
	a.cfg.Notify.BounceAddress = "lamers-bounces@resolver.example.net"
	a.cfg.Notify.SMTPHost, a.cfg.Notify.SMTPPort, a.cfg.Notify.SMTPTLS = srv.Host, srv.Port, "none"
	return a
}

// rejectUnknown makes srv refuse addr at RCPT as Postfix refuses an
// unknown user (e2e/postfix_test.go).
func rejectUnknown(srv *smtptest.Server, addr string) {
	srv.Reply(smtptest.StepRcpt, addr, &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1},
		Message: "<" + addr + ">: Recipient address rejected: User unknown in virtual mailbox table"})
}

// notifyHints writes root hints naming a loopback address where nothing
// listens: notify's DNS lookups fail at once.
func notifyHints(t *testing.T) string {
	t.Helper()
	hints := filepath.Join(t.TempDir(), "named.root")
	if err := os.WriteFile(hints, []byte(".  3600000 NS A.ROOT.TEST.\nA.ROOT.TEST. 3600000 A 127.0.0.254\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return hints
}

// seedNotify stores two lame findings of one server, confirmed a day apart
// and probed an hour ago, and the SOA of the first zone: RNAME
// first\.last.a.example. from an authoritative round.
func seedNotify(t *testing.T, path string) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	now := time.Now().UTC()
	seen := now.Add(-72 * time.Hour)
	var counts []store.Count
	for _, z := range []string{"a.example.", "b.example."} {
		// lame-servers: info: lame server resolving 'www.a.example' (in 'a.example'?): 192.0.2.53#53
		counts = append(counts, store.Count{Zone: z, QName: "www." + z, Server: netip.MustParseAddr("192.0.2.53"), Port: 53,
			Source: "bind", Evidence: "lame_referral", Day: store.DayOf(seen), N: 4, First: seen, Last: seen})
	}
	if _, err := db.Commit(ctx, store.Batch{Base: store.Checkpoint{Fingerprint: []byte("notify test")},
		Next: store.Checkpoint{Offset: 1, Lines: 2, Path: "named.log"}, Counts: counts}); err != nil {
		t.Fatal(err)
	}
	fs, err := db.Findings(ctx, store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range fs {
		r := store.Round{FindingID: f.ID, At: now.Add(-time.Duration(48-i*24) * time.Hour), Verdict: store.VerdictLame,
			Reason: "upward_referral", Class: store.ClassHard}
		if _, err := db.RecordRound(ctx, r, store.FindingUpdate{Status: store.StatusLame, Reason: "upward_referral"}); err != nil {
			t.Fatal(err)
		}
		r.At = now.Add(-time.Hour)
		if _, err := db.RecordRound(ctx, r, store.FindingUpdate{Status: store.StatusLame, Reason: "upward_referral"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.RecordZoneSOA(ctx, store.ZoneSOA{SOA: store.SOA{MName: "ns1.a.example.", RName: `first\.last.a.example.`, Serial: 1},
		Zone: "a.example.", Server: netip.MustParseAddr("192.0.2.54"), At: now.Add(-2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
}

func TestNotifyDryRun(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	a := notifyApp(t, srv)
	seedNotify(t, a.cfg.DB)
	if err := a.runCmd(&notifyCommand{format: "text"}); err != nil {
		t.Fatal(err)
	}
	want := `dry-run  first.last@a.example (rname): Lame delegation: a.example. on 192.0.2.53
         a.example. 192.0.2.53 lame upward_referral
dry-run  hostmaster@b.example (hostmaster): Lame delegation: b.example. on 192.0.2.53
         b.example. 192.0.2.53 lame upward_referral
messages: 2 (dry run: nothing was sent; --send sends them)
`
	if diff := cmp.Diff(want, a.out.String()); diff != "" {
		t.Errorf("stdout (-want +got):\n%s", diff)
	}
	a.out.Reset()
	if err := a.runCmd(&notifyCommand{format: "json", zone: "B.example"}); err != nil {
		t.Fatal(err)
	}
	wantJSON := `[
  {
    "to": "hostmaster@b.example",
    "contact_source": "hostmaster",
    "subject": "Lame delegation: b.example. on 192.0.2.53",
    "findings": [
      {
        "zone": "b.example.",
        "server": "192.0.2.53",
        "port": 53,
        "status": "lame",
        "reason": "upward_referral"
      }
    ],
    "result": "dry-run"
  }
]
`
	if diff := cmp.Diff(wantJSON, a.out.String()); diff != "" {
		t.Errorf("JSON (-want +got):\n%s", diff)
	}
	if conns, _, _ := srv.Counts(); conns != 0 {
		t.Errorf("a dry run connected to the relay %d times", conns)
	}
}

// verpRE is the envelope sender notify uses with the tests' bounce
// address: lamers-bounces+TOKEN@resolver.example.net.
var verpRE = regexp.MustCompile(`^lamers-bounces\+([a-z2-7]{20})@resolver\.example\.net$`)

// sendJSON runs notify --send --format json and returns "to source
// result" of each message.
func sendJSON(t *testing.T, a testApp) []string {
	t.Helper()
	if err := a.runCmd(&notifyCommand{format: "json", send: true}); err != nil {
		t.Fatal(err)
	}
	var msgs []jsonMessage
	if err := json.Unmarshal([]byte(a.out.String()), &msgs); err != nil {
		t.Fatalf("%v: %s", err, a.out)
	}
	var got []string
	for _, m := range msgs {
		got = append(got, fmt.Sprintf("%s %s %s %d", m.To, m.ContactSource, m.Result, len(m.Findings)))
	}
	return got
}

// wantSent are the messages of seedNotify's findings when the relay
// refuses the RNAME of a.example: its hostmaster is mailed next, in the
// same run.
var wantSent = []string{"first.last@a.example rname rejected 1", "hostmaster@a.example hostmaster sent 1",
	"hostmaster@b.example hostmaster sent 1"}

// Sending through a relay on loopback that refuses the first RNAME at
// RCPT: its zone's hostmaster gets the message in the same run, all on
// one connection with the VERP envelope sender; report shows each
// finding's contact.
func TestNotifySend(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	rejectUnknown(srv, "first.last@a.example")
	a := notifyApp(t, srv)
	seedNotify(t, a.cfg.DB)
	if diff := cmp.Diff(wantSent, sendJSON(t, a)); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
	txs := srv.Transactions()
	if len(txs) != 3 {
		t.Fatalf("%d transactions, want 3: %+v", len(txs), txs)
	}
	for _, tx := range txs {
		if tx.Conn != 1 {
			t.Errorf("transaction on connection %d: one connection per run", tx.Conn)
		}
		m := verpRE.FindStringSubmatch(tx.From)
		if m == nil {
			t.Errorf("MAIL FROM:<%s> is not the VERP sender", tx.From)
			continue
		}
		if !tx.Accepted {
			continue
		}
		msg, err := mail.ReadMessage(bytes.NewReader(tx.Data))
		if err != nil {
			t.Fatal(err)
		}
		to := strings.Join(tx.Rcpt, ",")
		zone := strings.TrimPrefix(to, "hostmaster@") + "."
		for k, want := range map[string]string{
			"Message-Id":     "<lamers." + m[1] + "@resolver.example.net>",
			"X-Lamers-Token": m[1],
			"Subject":        "Lame delegation: " + zone + " on 192.0.2.53",
			"To":             "<" + to + ">",
			"From":           `"DNS health" <dns-health@resolver.example.net>`,
		} {
			if got := msg.Header.Get(k); got != want {
				t.Errorf("message to %s: %s: %q, want %q", to, k, got, want)
			}
		}
	}
	a.out.Reset()
	if err := a.runCmd(&reportCommand{format: "json"}); err != nil {
		t.Fatal(err)
	}
	var fs []jsonFinding
	if err := json.Unmarshal([]byte(a.out.String()), &fs); err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.Contact != "hostmaster@"+strings.TrimSuffix(f.Zone, ".") || f.ContactSource != "hostmaster" || f.LastNotified == nil || f.NeedsHuman {
			t.Errorf("report of %s: contact %q (%s), last notified %v, needs human %v", f.Zone, f.Contact, f.ContactSource, f.LastNotified, f.NeedsHuman)
		}
	}
	a.out.Reset()
	if err := a.runCmd(&reportCommand{format: "table"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(a.out.String(), "hostmaster@a.example (hostmaster)") {
		t.Errorf("the table shows no contact:\n%s", a.out)
	}
}

func TestNotifyFailures(t *testing.T) {
	tests := []struct {
		name string
		cmd  notifyCommand
		mod  func(a testApp)
		want string
	}{
		{"no from", notifyCommand{format: "text", send: true}, func(a testApp) { a.cfg.Notify.From = "" },
			"notify: sending needs notify.from and notify.bounce_address in the configuration"},
		{"no bounce address, send in the config", notifyCommand{format: "text"}, func(a testApp) {
			a.cfg.Notify.BounceAddress, a.cfg.Notify.Send = "", true
		}, "notify: sending needs notify.from and notify.bounce_address in the configuration"},
		{"mandatory TLS not offered", notifyCommand{format: "text", send: true}, func(a testApp) {
			a.cfg.Notify.SMTPTLS = "mandatory"
		}, "notify: relay: notify: smtp %s: STARTTLS not offered, and smtp_tls is mandatory: notify: the relay does not offer STARTTLS"},
		// A sendmail_path that cannot be run ends the run before its first
		// message, like a missing STARTTLS.
		{"sendmail_path missing", notifyCommand{format: "text", send: true}, func(a testApp) {
			a.cfg.Notify.Transport, a.cfg.Notify.SendmailPath = "sendmail", "/nonexistent/sbin/sendmail"
		}, "notify: relay: notify: sendmail_path: stat /nonexistent/sbin/sendmail: no such file or directory"},
		{"bad format", notifyCommand{format: "xml"}, nil, `notify: --format: "xml" is not one of text, json`},
		{"negative limit", notifyCommand{format: "text", limit: -1}, nil, "notify: --limit: -1 is negative"},
		{"bad zone", notifyCommand{format: "text", zone: "a..b"}, nil, `notify: --zone: canonical name "a..b": empty label`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.Start(t, smtptest.Options{})
			a := notifyApp(t, srv)
			seedNotify(t, a.cfg.DB)
			if tt.mod != nil {
				tt.mod(a)
			}
			err := a.runCmd(&tt.cmd)
			if want := strings.ReplaceAll(tt.want, "%s", srv.Addr); errString(err) != want {
				t.Errorf("error %q, want %q", errString(err), want)
			}
			if _, _, mails := srv.Counts(); mails != 0 {
				t.Errorf("the relay saw %d MAIL commands", mails)
			}
		})
	}
}

// Every serious failure is exit status 2; a run with rejected messages
// completed and is 0.
func TestNotifyExitStatus(t *testing.T) {
	env := testEnv(t)
	seedNotify(t, env["LAMERS_DB"])
	r := lamers(t, env, nil, "notify", "--send")
	if r.code != 2 || !strings.Contains(r.stderr, "notify: sending needs notify.from") {
		t.Errorf("notify --send without from: exit %d, stderr %q", r.code, r.stderr)
	}
	// A wrong sendmail_path: exit 2 and one line. The DNS goes to
	// loopback only (notifyHints).
	conf := filepath.Join(t.TempDir(), "lamers.toml")
	if err := os.WriteFile(conf, []byte(`[resolver]
root_hints = "`+notifyHints(t)+`"
timeouts = ["100ms"]

[notify]
from = "DNS health <dns-health@resolver.example.net>"
bounce_address = "lamers-bounces@resolver.example.net"
transport = "sendmail"
sendmail_path = "/nonexistent/sbin/sendmail"
check_deliverability = false
`), 0o644); err != nil {
		t.Fatal(err)
	}
	env["LAMERS_CONFIG"] = conf
	r = lamers(t, env, nil, "notify", "--send")
	if want := "lamers: notify: relay: notify: sendmail_path: stat /nonexistent/sbin/sendmail: no such file or directory\n"; r.code != 2 || r.stderr != want {
		t.Errorf("notify --send with a wrong sendmail_path: exit %d, stderr %q; want 2, %q", r.code, r.stderr, want)
	}
}

// Reset empties the buffer.
func (l *lockedBuffer) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Reset()
}
