package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lamers-dev/lamers/notify/smtptest"
)

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

// TestNotifyMailerFailures: a relay setting that cannot work and a broken
// template stop notify with exit status 2 and one line, before anything
// is sent.
func TestNotifyMailerFailures(t *testing.T) {
	plain := smtptest.Start(t, smtptest.Options{InsecureAuth: true, User: "lamers", Password: "secret"})
	broken := t.TempDir()
	if err := os.WriteFile(filepath.Join(broken, "notify.txt.tmpl"), []byte("{{define \"notify subject\"}}x{{end}}\n{{.Nope}"), 0o644); err != nil {
		t.Fatal(err)
	}
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
		{"broken template", fmt.Sprintf("templates_dir = %q\n", broken), []string{filepath.Join(broken, "notify.txt.tmpl"), ":2:"}},
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
