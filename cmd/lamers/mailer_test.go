package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lamers-dev/lamers/notify"
	"github.com/lamers-dev/lamers/notify/smtptest"
)

func TestNewMailer(t *testing.T) {
	data := notify.MessageData{To: "hostmaster@example.com", Source: "hostmaster", Findings: []notify.FindingData{{
		Zone: "example.com.", Server: "192.0.2.1", Port: 53, Status: "lame", Reason: "refused",
		FirstSeen: time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC), LastSeen: time.Date(2026, 7, 8, 0, 0, 0, 0, time.UTC), Count: 3}}}

	// A dry run needs neither from and bounce_address nor a transport.
	m, err := newMailer(defaultNotify(), false)
	if err != nil {
		t.Fatal(err)
	}
	if l, err := m.writer.Compose(data); err != nil || m.transport != nil || m.transportName != "smtp" || l.Subject == "" {
		t.Errorf("dry run: transport %v, name %q, letter %+v, %v", m.transport, m.transportName, l, err)
	}

	cfg := defaultNotify()
	cfg.From, cfg.BounceAddress = "DNS health <dns-health@resolver.example.net>", "lamers-bounces@resolver.example.net"
	m, err = newMailer(cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.transport.(*notify.SMTP); !ok || m.transportName != "smtp" {
		t.Errorf("smtp: %T, %q", m.transport, m.transportName)
	}
	cfg.Transport = "sendmail"
	m, err = newMailer(cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.transport.(*notify.Sendmail); !ok || m.transportName != "sendmail" {
		t.Errorf("sendmail: %T, %q", m.transport, m.transportName)
	}
}

// writeTemplate writes one template file into dir, creating it, and
// returns dir.
func writeTemplate(t *testing.T, dir, file, content string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// What would fail at the first message fails at start, naming its cause.
func TestNewMailerErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		return writeTemplate(t, filepath.Join(dir, name), "notify.txt.tmpl", content)
	}
	writeDigest := func(name, content string) string {
		return writeTemplate(t, filepath.Join(dir, name), "digest.html.tmpl", content)
	}
	sending := defaultNotify()
	sending.From, sending.BounceAddress = "dns-health@resolver.example.net", "lamers-bounces@resolver.example.net"
	tests := []struct {
		name string
		edit func(*NotifyConfig)
		want string
	}{
		{"broken template", func(c *NotifyConfig) { c.TemplatesDir = write("broken", "{{.To}\n") }, "broken/notify.txt.tmpl"},
		{"unknown field", func(c *NotifyConfig) {
			c.TemplatesDir = write("field", `{{define "notify subject"}}Lame{{end}}{{range .Findings}}{{.Zon}}{{end}}`+"\n")
		}, "Zon"},
		// A digest template that fails on data fails at start too, also
		// for notify, which shares the templates directory.
		{"digest field", func(c *NotifyConfig) {
			c.TemplatesDir = writeDigest("digest", `{{range .Worst.Servers}}{{.Zone}}{{end}}`+"\n")
		}, "can't evaluate field Zone"},
		{"bounce address with +", func(c *NotifyConfig) { c.BounceAddress = "lamers+x@resolver.example.net" }, "bounce_address"},
		{"no password file", func(c *NotifyConfig) {
			c.SMTPUsername, c.SMTPPasswordFile = "lamers", filepath.Join(dir, "none")
		}, "smtp_password_file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := sending
			tt.edit(&cfg)
			if _, err := newMailer(cfg, true); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("newMailer: %v, want an error with %q", err, tt.want)
			}
		})
	}
}

// TestNotifySendmail: notify with the sendmail transport, a script that
// records its arguments and message and answers EX_NOUSER (67) for one
// recipient.
func TestNotifySendmail(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "sendmail")
	if err := os.WriteFile(script, []byte(`#!/bin/sh
f=$(mktemp "$0.call.XXXXXX") || exit 75
printf '%s\n' "$@" >"$f.args"
cat >"$f.msg"
for last; do :; done
[ "$last" = first.last@a.example ] && exit 67
exit 0
`), 0o755); err != nil {
		t.Fatal(err)
	}
	a := notifyApp(t, smtptest.Start(t, smtptest.Options{})) // the relay is not used
	a.cfg.Notify.Transport, a.cfg.Notify.SendmailPath = "sendmail", script
	seedNotify(t, a.cfg.DB)
	if diff := cmp.Diff(wantSent, sendJSON(t, a)); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
	calls, err := filepath.Glob(script + ".call.*.args")
	if err != nil || len(calls) != 3 {
		t.Fatalf("%d calls of sendmail (%v), want 3", len(calls), err)
	}
	var rcpts []string
	for _, c := range calls {
		b, err := os.ReadFile(c)
		if err != nil {
			t.Fatal(err)
		}
		args := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		if len(args) != 5 || args[0] != "-f" || !verpRE.MatchString(args[1]) || args[2] != "-i" || args[3] != "--" {
			t.Errorf("sendmail %q, want -f VERP -i -- RCPT", args)
			continue
		}
		rcpts = append(rcpts, args[4])
		msg, err := os.ReadFile(strings.TrimSuffix(c, ".args") + ".msg")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(msg, []byte("\nX-Lamers-Token: "+verpRE.FindStringSubmatch(args[1])[1]+"\n")) || bytes.Contains(msg, []byte("\r\n")) {
			t.Errorf("sendmail for %s got a message without its token or with CRLF line ends:\n%s", args[4], msg)
		}
	}
	for _, want := range []string{"first.last@a.example", "hostmaster@a.example", "hostmaster@b.example"} {
		if !strings.Contains(strings.Join(rcpts, " "), want) {
			t.Errorf("sendmail never ran for %s: %q", want, rcpts)
		}
	}
}

// TestNotifyMailerFailures: a relay setting that cannot work stops notify
// with exit status 2 and one line, before anything is sent.
func TestNotifyMailerFailures(t *testing.T) {
	plain := smtptest.Start(t, smtptest.Options{InsecureAuth: true, User: "lamers", Password: "secret"})
	password := filepath.Join(t.TempDir(), "smtp-password")
	if err := os.WriteFile(password, []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	relay := fmt.Sprintf("smtp_host = %q\nsmtp_port = %d\n", plain.Host, plain.Port)
	for _, c := range []struct {
		name, config string
		want         []string // in the one line on stderr
	}{
		{"mandatory TLS not offered", relay, []string{"STARTTLS not offered", "smtp_tls is mandatory"}},
		{"AUTH without TLS", relay + fmt.Sprintf("smtp_tls = \"opportunistic\"\nsmtp_username = \"lamers\"\nsmtp_password_file = %q\n", password),
			[]string{"AUTH needs TLS"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := testEnv(t)
			seedNotify(t, env["LAMERS_DB"])
			conf := filepath.Join(t.TempDir(), "lamers.toml")
			if err := os.WriteFile(conf, []byte(`[resolver]
timeouts = ["100ms"]

[notify]
from = "DNS health <dns-health@resolver.example.net>"
bounce_address = "lamers-bounces@resolver.example.net"
check_deliverability = false
`+c.config), 0o644); err != nil {
				t.Fatal(err)
			}
			env["LAMERS_CONFIG"] = conf
			env["LAMERS_ROOT_HINTS"] = notifyHints(t)
			r := lamers(t, env, nil, "notify", "--send")
			if r.code != 2 || strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("exit %d, stderr %q; want 2 and one line", r.code, r.stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr %q does not say %q", r.stderr, w)
				}
			}
		})
	}
	if _, _, mails := plain.Counts(); mails != 0 {
		t.Errorf("the relay saw %d MAIL commands", mails)
	}
}
