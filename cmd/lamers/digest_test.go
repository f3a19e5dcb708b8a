package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/lamers-dev/lamers/notify/smtptest"
	"github.com/lamers-dev/lamers/store"
)

// digestJSON is what the tests read of `digest --format json`.
type digestJSON struct {
	Since, Until time.Time
	Totals       map[string]int64
	WorstServers []struct {
		Server       string
		Zones, Count int64
	} `json:"worst_servers"`
}

func readDigestJSON(t *testing.T, out string) digestJSON {
	t.Helper()
	var d digestJSON
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("digest --format json: %v\n%s", err, out)
	}
	return d
}

// digest prints the report of the period in each format, read from a
// database it does not change; the period starts digest.interval back, or
// at --since.
func TestDigestPrint(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	a := notifyApp(t, srv)
	seedNotify(t, a.cfg.DB) // two lame findings of 192.0.2.53, confirmed 48 and 24 hours ago
	before := time.Now()
	if err := a.runCmd(&digestCommand{format: "json"}); err != nil {
		t.Fatal(err)
	}
	d := readDigestJSON(t, a.out.String())
	if d.Until.Before(before.Truncate(time.Second)) || d.Until.After(time.Now()) || d.Until.Sub(d.Since) != 336*time.Hour {
		t.Errorf("period %v to %v, want the 336h (digest.interval) to now", d.Since, d.Until)
	}
	for k, want := range map[string]int64{"findings": 2, "lame": 2, "new": 2, "confirmed": 2, "notified": 0, "needs_human": 0, "events": 8} {
		if d.Totals[k] != want {
			t.Errorf("totals.%s = %d, want %d", k, d.Totals[k], want)
		}
	}
	if len(d.WorstServers) != 1 || d.WorstServers[0].Server != "192.0.2.53" || d.WorstServers[0].Zones != 2 || d.WorstServers[0].Count != 8 {
		t.Errorf("worst_servers %+v", d.WorstServers)
	}

	a.out.Reset()
	if err := a.runCmd(&digestCommand{format: "json", since: "36h"}); err != nil {
		t.Fatal(err)
	}
	// Only b.example. was confirmed in the last 36 hours.
	if d := readDigestJSON(t, a.out.String()); d.Until.Sub(d.Since) != 36*time.Hour || d.Totals["confirmed"] != 1 || d.Totals["still_lame"] != 1 {
		t.Errorf("--since 36h: %v to %v, totals %v", d.Since, d.Until, d.Totals)
	}
	for format, want := range map[string][]string{
		"text": {"Lame delegations seen by our resolvers: digest\n", "\n  192.0.2.53: 2 zones\n    8 events on the period's days\n", "New lame delegations: 2 (confirmed in the period)"},
		"html": {"<!DOCTYPE html>", "<strong style=\"font-family:Consolas, Menlo, monospace;\">192.0.2.53</strong>"},
	} {
		a.out.Reset()
		if err := a.runCmd(&digestCommand{format: format}); err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if !strings.Contains(a.out.String(), w) {
				t.Errorf("--format %s lacks %q:\n%s", format, w, a.out.String())
			}
		}
	}
	if conns, _, _ := srv.Counts(); conns != 0 {
		t.Errorf("printing the digest connected to the relay %d times", conns)
	}
}

// digest --send mails the digest to digest.to and records it; the next
// digest starts where it ended.
func TestDigestSend(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	a := notifyApp(t, srv)
	a.cfg.Digest.To = "noc@resolver.example.net"
	seedNotify(t, a.cfg.DB)
	if err := a.runCmd(&digestCommand{format: "text", send: true}); err != nil {
		t.Fatalf("digest --send: %v\n%s", err, a.errb)
	}
	if out := a.out.String(); !strings.HasPrefix(out, "digest sent to noc@resolver.example.net (") || !strings.Contains(out, "): 250 ") {
		t.Errorf("stdout %q", out)
	}
	txs := srv.Accepted()
	if len(txs) != 1 || txs[0].Rcpt[0] != "noc@resolver.example.net" || !strings.HasPrefix(txs[0].From, "lamers-bounces+") ||
		!strings.Contains(string(txs[0].Data), "Content-Type: multipart/alternative") ||
		!strings.Contains(string(txs[0].Data), "Auto-Submitted: auto-generated") {
		t.Fatalf("transactions %+v", txs)
	}
	db, err := store.OpenReadOnly(context.Background(), a.cfg.DB)
	if err != nil {
		t.Fatal(err)
	}
	last, ok, err := db.LastDigest(context.Background())
	db.Close(context.Background())
	if err != nil || !ok {
		t.Fatalf("LastDigest: %v, %v", ok, err)
	}
	a.out.Reset()
	if err := a.runCmd(&digestCommand{format: "json"}); err != nil {
		t.Fatal(err)
	}
	if d := readDigestJSON(t, a.out.String()); !d.Since.Equal(last.Until) {
		t.Errorf("the next digest starts %v, want the end of the last one sent, %v", d.Since, last.Until)
	}

	// A relay that refuses the operator's address: the line says so and
	// the command fails.
	srv.Reply(smtptest.StepRcpt, "noc@resolver.example.net", &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1},
		Message: "<noc@resolver.example.net>: Recipient address rejected: User unknown"})
	a.out.Reset()
	err = a.runCmd(&digestCommand{format: "text", send: true})
	if !strings.Contains(errString(err), "digest: the relay did not accept the digest: rejected to noc@resolver.example.net: 550 5.1.1") ||
		!strings.HasPrefix(a.out.String(), "digest rejected to noc@resolver.example.net (") {
		t.Errorf("rejected: %v, stdout %q", err, a.out.String())
	}
}

func TestDigestErrors(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	a := notifyApp(t, srv)
	seedNotify(t, a.cfg.DB)
	for _, c := range []struct {
		name string
		cmd  digestCommand
		args []string
		edit func(*Config)
		want string
	}{
		{"format", digestCommand{format: "xml"}, nil, nil, `digest: --format: "xml" is not one of text, html, json`},
		{"argument", digestCommand{format: "text"}, []string{"extra"}, nil, `digest: unexpected argument "extra"`},
		{"since", digestCommand{format: "text", since: "last week"}, nil, nil, `digest: --since: "last week" is not a date, an RFC 3339 time or a duration`},
		{"future", digestCommand{format: "text", since: "2999-01-01"}, nil, nil, "digest: --since: 2999-01-01T00:00:00Z is in the future"},
		{"no to", digestCommand{format: "text", send: true}, nil, nil, "digest: --send needs digest.to in the configuration"},
		{"no from", digestCommand{format: "text", send: true}, nil, func(c *Config) { c.Digest.To, c.Notify.From = "noc@resolver.example.net", "" },
			"digest: --send needs notify.from and notify.bounce_address in the configuration"},
		{"no interval", digestCommand{format: "text"}, nil, func(c *Config) { c.Digest.Interval = 0 },
			"digest: digest.interval is 0 and no digest was sent: give --since"},
	} {
		t.Run(c.name, func(t *testing.T) {
			saved := a.cfg
			defer func() { a.cfg = saved }()
			if c.edit != nil {
				c.edit(&a.cfg)
			}
			if err := a.runCmd(&c.cmd, c.args...); errString(err) != c.want {
				t.Errorf("error %q, want %q", errString(err), c.want)
			}
		})
	}
	if conns, _, _ := srv.Counts(); conns != 0 {
		t.Errorf("a refused command connected to the relay %d times", conns)
	}
}
