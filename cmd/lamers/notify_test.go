package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lamers-dev/lamers/notify"
	"github.com/lamers-dev/lamers/store"
)

// testComposer writes a letter whose subject names the zones.
type testComposer struct{}

func (testComposer) Compose(d notify.MessageData) (notify.Letter, error) {
	var zones []string
	for _, f := range d.Findings {
		zones = append(zones, f.Zone)
	}
	return notify.Letter{Token: d.Token, To: d.To, Subject: "Lame delegation of " + strings.Join(zones, ", "),
		MessageID: "<lamers." + d.Token + "@resolver.example.net>"}, nil
}

// testTransport accepts every letter but those to reject; openErr fails
// Open.
type testTransport struct {
	openErr error
	reject  string
	sent    []string
}

func (tr *testTransport) Open(ctx context.Context) error { return tr.openErr }

func (tr *testTransport) Send(ctx context.Context, l *notify.Letter) notify.Delivery {
	tr.sent = append(tr.sent, l.To)
	if l.To == tr.reject {
		return notify.Delivery{Result: notify.ResultRejected, Code: 550, Enhanced: "5.1.1", Detail: "<" + l.To + ">: Recipient address rejected: User unknown"}
	}
	return notify.Delivery{Result: notify.ResultSent, Code: 250, Enhanced: "2.0.0", Detail: "Ok: queued as 4QxYz"}
}

func (tr *testTransport) Close(ctx context.Context) error { return nil }

// notifyApp is a test app whose notify needs no network: its root hints
// name a loopback address where nothing listens, deliverability is not
// checked, and letters go to tr.
func notifyApp(t *testing.T, tr *testTransport) testApp {
	t.Helper()
	a := newTestApp(t, "")
	hints := filepath.Join(t.TempDir(), "named.root")
	if err := os.WriteFile(hints, []byte(".  3600000 NS A.ROOT.TEST.\nA.ROOT.TEST. 3600000 A 127.0.0.254\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a.cfg.Resolver.RootHints = hints
	a.cfg.Resolver.Timeouts = []Duration{Duration(100 * time.Millisecond)}
	a.cfg.Notify.CheckDeliverability = false
	a.cfg.Notify.From = "DNS health <dns-health@resolver.example.net>"
	a.cfg.Notify.BounceAddress = "lamers-bounces@resolver.example.net"
	a.mailer = func(NotifyConfig, bool) (notify.Composer, notify.Transport, string, error) {
		return testComposer{}, tr, "smtp", nil
	}
	return a
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
	tr := &testTransport{}
	a := notifyApp(t, tr)
	seedNotify(t, a.cfg.DB)
	if err := a.runCmd(&notifyCommand{format: "text"}); err != nil {
		t.Fatal(err)
	}
	want := `dry-run  first.last@a.example (rname): Lame delegation of a.example.
         a.example. 192.0.2.53 lame upward_referral
dry-run  hostmaster@b.example (hostmaster): Lame delegation of b.example.
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
    "subject": "Lame delegation of b.example.",
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
	if len(tr.sent) != 0 {
		t.Errorf("a dry run handed over %v", tr.sent)
	}
}

// Sending: the first RNAME is rejected, its zone's hostmaster gets the
// message in the same run; report shows each finding's contact.
func TestNotifySend(t *testing.T) {
	tr := &testTransport{reject: "first.last@a.example"}
	a := notifyApp(t, tr)
	seedNotify(t, a.cfg.DB)
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
	want := []string{"first.last@a.example rname rejected 1", "hostmaster@a.example hostmaster sent 1", "hostmaster@b.example hostmaster sent 1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
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
		mod  func(a testApp, tr *testTransport)
		want string
	}{
		{"no from", notifyCommand{format: "text", send: true}, func(a testApp, tr *testTransport) { a.cfg.Notify.From = "" },
			"notify: sending needs notify.from and notify.bounce_address in the configuration"},
		{"no bounce address, send in the config", notifyCommand{format: "text"}, func(a testApp, tr *testTransport) {
			a.cfg.Notify.BounceAddress, a.cfg.Notify.Send = "", true
		}, "notify: sending needs notify.from and notify.bounce_address in the configuration"},
		{"mandatory TLS not offered", notifyCommand{format: "text", send: true}, func(a testApp, tr *testTransport) {
			tr.openErr = fmt.Errorf("smtp 127.0.0.1:25: %w", notify.ErrTLSUnavailable)
		}, "notify: relay: smtp 127.0.0.1:25: notify: the relay does not offer STARTTLS"},
		{"bad format", notifyCommand{format: "xml"}, nil, `notify: --format: "xml" is not one of text, json`},
		{"negative limit", notifyCommand{format: "text", limit: -1}, nil, "notify: --limit: -1 is negative"},
		{"bad zone", notifyCommand{format: "text", zone: "a..b"}, nil, `notify: --zone: canonical name "a..b": empty label`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := &testTransport{}
			a := notifyApp(t, tr)
			seedNotify(t, a.cfg.DB)
			if tt.mod != nil {
				tt.mod(a, tr)
			}
			err := a.runCmd(&tt.cmd)
			if errString(err) != tt.want {
				t.Errorf("error %q, want %q", errString(err), tt.want)
			}
			if len(tr.sent) != 0 {
				t.Errorf("handed over %v", tr.sent)
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
}

// Reset empties the buffer.
func (l *lockedBuffer) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Reset()
}
