package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lamers-dev/lamers/internal/golden"
	"github.com/lamers-dev/lamers/internal/testio"
	"github.com/lamers-dev/lamers/notify"
	"github.com/lamers-dev/lamers/notify/bounce"
	"github.com/lamers-dev/lamers/store"
)

// The tokens of the messages seedBounces records: sentToken's was handed
// to the relay for hostmaster@a.example about both findings; labToken is
// the token the e2e suite's Postfix DSNs carry (testdata/bounces).
const (
	sentToken = "mztwq2lknnwg23tpobyx"
	labToken  = "abcdefghijklmnopqrst"
)

// readSample reads a returned message of testdata/bounces.
func readSample(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "bounces", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// seedBounces stores seedNotify's two findings and a message about both to
// hostmaster@a.example for each token, handed over at sent.
func seedBounces(t *testing.T, path string, sent time.Time, tokens ...string) {
	t.Helper()
	seedNotify(t, path)
	ctx := context.Background()
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	fs, err := db.Findings(ctx, store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, token := range tokens {
		if _, err := db.AddOutbox(ctx, store.OutboxEntry{Token: token, Recipient: "hostmaster@a.example", Source: store.SourceHostmaster,
			Subject: "Lame delegations", MessageID: "<lamers." + token + "@resolver.example.net>", State: store.OutboxPending,
			Transport: "smtp", CreatedAt: sent, FindingIDs: []int64{fs[0].ID, fs[1].ID}}); err != nil {
			t.Fatal(err)
		}
		if err := db.FinishOutbox(ctx, token, store.OutboxOutcome{State: store.OutboxSent, Code: 250}, sent); err != nil {
			t.Fatal(err)
		}
	}
}

// pipeEnv is what Postfix's local(8) puts in a pipe's environment for a
// message to lamers-bounces+EXTENSION@resolver.example.net.
func pipeEnv(env map[string]string, extension string) map[string]string {
	out := map[string]string{}
	for k, v := range env {
		out[k] = v
	}
	to := "lamers-bounces+" + extension + "@resolver.example.net"
	out["ORIGINAL_RECIPIENT"], out["RECIPIENT"] = to, to
	return out
}

// listed returns `bounce --list --format json` as decoded JSON.
func listed(t *testing.T, env map[string]string, args ...string) []jsonBounce {
	t.Helper()
	r := lamers(t, env, nil, append([]string{"bounce", "--list", "--format", "json", "--since", "2000-01-01"}, args...)...)
	if r.code != 0 {
		t.Fatalf("bounce --list: exit %d\n%s", r.code, r.stderr)
	}
	var bs []jsonBounce
	if err := json.Unmarshal([]byte(r.stdout), &bs); err != nil {
		t.Fatalf("bounce --list: %v\n%s", err, r.stdout)
	}
	return bs
}

// localFromLine is the line Postfix's local(8) writes before a message it
// pipes to a command.
const localFromLine = "From MAILER-DAEMON  Fri Dec  4 20:09:10 2026\n"

// truncatedDSN is the lab's DSN cut inside its delivery-status part.
func truncatedDSN(t *testing.T) string {
	dsn := readSample(t, "postfix-lab-bounce.eml")
	return dsn[:strings.Index(dsn, "Action: failed")]
}

// A report without recipients: multipart/report whose delivery-status
// part has the per-message fields only (RFC 3464 §2.1 asks for at least
// one recipient block).
const noRecipientsDSN = `From: MAILER-DAEMON@mx.example.net
To: lamers-bounces+mztwq2lknnwg23tpobyx@resolver.example.net
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

The mail system could not deliver your message.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

--B--
`

// lamers bounce on standard input, as a pipe alias runs it: each message
// and the line it prints, the exit status, what the database holds after.
func TestBouncePipe(t *testing.T) {
	env := testEnv(t)
	seedBounces(t, env["LAMERS_DB"], time.Now().Add(-time.Hour), sentToken, labToken)
	dsn := readSample(t, "postfix-lab-bounce.eml")
	garbage := "\x00\xff\xfe garbage \x1b[31m\n\x00"
	steps := []struct {
		name   string
		env    map[string]string
		stdin  string
		code   int
		stdout string // a regular expression
		stderr string
	}{
		{"a DSN, the token in the pipe's environment", pipeEnv(env, sentToken), localFromLine + dsn, 0,
			`^bounce 1: hard 5\.1\.1 gone@nic\.lab; message mztwq2lknnwg23tpobyx to hostmaster@a\.example: dead for the message's findings \(2 marks\)\n$`, ""},
		// Postfix again, after a 75 or a lost answer: a new From line.
		{"the same again", pipeEnv(env, sentToken), "From MAILER-DAEMON  Fri Dec  4 20:10:00 2026\n" + dsn, 0,
			`^bounce 1: hard 5\.1\.1 gone@nic\.lab; stored before, nothing done again\n$`, ""},
		// No environment (a .forward, a test by hand): Delivered-To.
		{"the token in Delivered-To", env, dsn[strings.Index(dsn, "\n")+1:], 0,
			`^bounce 2: hard 5\.1\.1 gone@nic\.lab; message abcdefghijklmnopqrst to hostmaster@a\.example: dead .*\n$`, ""},
		// Postfix lowercases EXTENSION but not ORIGINAL_RECIPIENT.
		{"a token lamers never sent", pipeEnv(env, "ZZZZZZZZZZZZZZZZZZZZ"), localFromLine + readSample(t, "postfix-lab-delay.eml"), 0,
			`^bounce 3: delay 4\.2\.1 slow@nic\.lab; token zzzzzzzzzzzzzzzzzzzz of no message: unmatched, kept for a person\n$`, ""},
		{"garbage", pipeEnv(env, sentToken), garbage, 0,
			`^bounce 4: unknown; message mztwq2lknnwg23tpobyx to hostmaster@a\.example: no effect\n$`, ""},
		// The status is cut off, the text part still says "mailbox
		// unavailable"; no valid token in the environment, the one in
		// Delivered-To counts; the address was dead for those findings
		// already (step 3).
		{"truncated MIME", pipeEnv(env, "no-token"), truncatedDSN(t), 0,
			`^bounce 5: hard gone@nic\.lab; message abcdefghijklmnopqrst to hostmaster@a\.example: dead for the message's findings \(0 marks\)\n$`, ""},
		{"a report without recipients", env, noRecipientsDSN, 0,
			`^bounce 6: unknown; message mztwq2lknnwg23tpobyx to hostmaster@a\.example: no effect\n$`, ""},
		{"an ARF complaint", pipeEnv(env, sentToken), readSample(t, "arf-abuse.eml"), 0,
			`^bounce 7: complaint redacted@example\.net; message mztwq2lknnwg23tpobyx to hostmaster@a\.example: suppressed \(complaint\)\n$`, ""},
		{"empty input", pipeEnv(env, sentToken), "", 2, `^$`, "standard input is empty"},
		{"an argument", env, dsn, 2, `^$`, `bounce: unexpected argument "x"`},
	}
	for _, s := range steps {
		args := []string{"bounce"}
		if s.name == "an argument" {
			args = append(args, "x")
		}
		r := lamers(t, s.env, strings.NewReader(s.stdin), args...)
		if r.code != s.code || !regexp.MustCompile(s.stdout).MatchString(r.stdout) || !strings.Contains(r.stderr, s.stderr) {
			t.Errorf("%s: exit %d\nstdout %q\nstderr %q\nwant exit %d, stdout matching %q, stderr holding %q",
				s.name, r.code, r.stdout, r.stderr, s.code, s.stdout, s.stderr)
		}
	}
	bs := listed(t, env)
	var got []string
	for _, b := range bs {
		got = append(got, fmt.Sprintf("%d %s %s %s matched=%v %q", b.ID, b.Class, b.Effect, b.Token, b.Matched, b.Problem))
	}
	want := []string{
		`1 hard dead mztwq2lknnwg23tpobyx matched=true ""`,
		`2 hard dead abcdefghijklmnopqrst matched=true ""`,
		`3 delay none zzzzzzzzzzzzzzzzzzzz matched=false ""`,
		`4 unknown none mztwq2lknnwg23tpobyx matched=true "not a bounce (no header)"`,
		`5 hard dead abcdefghijklmnopqrst matched=true "multipart not closed"`,
		`6 unknown none mztwq2lknnwg23tpobyx matched=true "delivery report without recipients"`,
		`7 complaint suppressed mztwq2lknnwg23tpobyx matched=true "multipart not closed"`,
	}
	if d := diffLines(want, got); d != "" {
		t.Errorf("stored (-want +got):\n%s", d)
	}
	sup := lamers(t, env, nil, "suppress", "--list")
	if !regexp.MustCompile(`(?m)^hostmaster@a\.example +address +complaint +\S+ \S+ +bounce 7, complaint about message <lamers\.mztwq2lknnwg23tpobyx@resolver\.example\.net>$`).MatchString(sup.stdout) {
		t.Errorf("suppress --list:\n%s", sup.stdout)
	}
}

// diffLines is "" when got is want, else both, one per line.
func diffLines(want, got []string) string {
	if strings.Join(want, "\n") == strings.Join(got, "\n") {
		return ""
	}
	return "-" + strings.Join(want, "\n-") + "\n+" + strings.Join(got, "\n+")
}

// A mail to the List-Unsubscribe address suppresses the recipient of the
// message it names at once; notify then passes the address over.
func TestBounceUnsubscribe(t *testing.T) {
	env := testEnv(t)
	seedBounces(t, env["LAMERS_DB"], time.Now().Add(-time.Hour), sentToken)
	// What a mail client sends for List-Unsubscribe: <mailto:…> (RFC 2369)
	msg := "From: Hostmaster <hostmaster@a.example>\nTo: lamers-bounces+" + sentToken + "-unsubscribe@resolver.example.net\n" +
		"Subject: unsubscribe\nMessage-ID: <1@a.example>\n\nunsubscribe\n"
	r := lamers(t, pipeEnv(env, sentToken+"-unsubscribe"), strings.NewReader(localFromLine+msg), "bounce")
	if r.code != 0 || !strings.HasSuffix(r.stdout, "; message "+sentToken+" to hostmaster@a.example: suppressed (unsubscribe)\n") {
		t.Fatalf("bounce: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	sup := lamers(t, env, nil, "suppress", "--list")
	if !regexp.MustCompile(`(?m)^hostmaster@a\.example +address +unsubscribe +.*bounce 1, unsubscribe about message <lamers\.` + sentToken + `@`).MatchString(sup.stdout) {
		t.Errorf("suppress --list:\n%s", sup.stdout)
	}
}

// With notify.bounce_address set, a token counts only in that address:
// the lab's DSN, whose token is at resolver.lab, is unmatched on standard
// input, in a Maildir and in an mbox; the same DSN returned to our own
// domain (resolver.example.net) is matched.
func TestBounceOnlyOurAddress(t *testing.T) {
	lab := readSample(t, "postfix-lab-bounce.eml")
	ours := strings.ReplaceAll(lab, "@resolver.lab", "@resolver.example.net")
	const unmatched = "bounce 1: hard 5.1.1 gone@nic.lab; no token: unmatched, kept for a person"
	const matched = "bounce 1: hard 5.1.1 gone@nic.lab; message " + labToken + " to hostmaster@a.example: dead for the message's findings (2 marks)"
	for _, c := range []struct {
		name, msg, want string
		args            []string // bounce's; "" is replaced by a Maildir or mbox holding msg
	}{
		{"stdin, another domain", lab, unmatched + "\n", nil},
		{"stdin, ours", ours, matched + "\n", nil},
		{"maildir, another domain", lab, "1764878950.V801I1M1.mx: " + unmatched + "\nstored: 1 (unmatched: 1), stored before: 0\n", []string{"--maildir", ""}},
		{"mbox, another domain", lab, "message 1: " + unmatched + "\nstored: 1 (unmatched: 1), stored before: 0\n", []string{"--mbox", ""}},
		{"mbox, ours", ours, "message 1: " + matched + "\nstored: 1 (unmatched: 0), stored before: 0\n", []string{"--mbox", ""}},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := testEnv(t)
			seedBounces(t, env["LAMERS_DB"], time.Now().Add(-time.Hour), labToken)
			dir := t.TempDir()
			conf := filepath.Join(dir, "lamers.toml")
			if err := os.WriteFile(conf, []byte("[notify]\nbounce_address = \"lamers-bounces@resolver.example.net\"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			env["LAMERS_CONFIG"] = conf
			var stdin io.Reader
			switch {
			case c.args == nil:
				// The pipe's envelope recipient as the lab's Postfix gives it.
				env["ORIGINAL_RECIPIENT"] = "lamers-bounces+" + labToken + "@resolver.lab"
				env["RECIPIENT"] = env["ORIGINAL_RECIPIENT"]
				stdin = strings.NewReader(localFromLine + c.msg)
			case c.args[0] == "--maildir":
				for _, sub := range []string{"new", "cur", "tmp"} {
					if err := os.MkdirAll(filepath.Join(dir, "md", sub), 0o755); err != nil {
						t.Fatal(err)
					}
				}
				if err := os.WriteFile(filepath.Join(dir, "md", "new", "1764878950.V801I1M1.mx"), []byte(c.msg), 0o644); err != nil {
					t.Fatal(err)
				}
				c.args[1] = filepath.Join(dir, "md")
			default:
				c.args[1] = filepath.Join(dir, "bounces.mbox")
				if err := os.WriteFile(c.args[1], []byte(localFromLine+c.msg+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			r := lamers(t, env, stdin, append([]string{"bounce"}, c.args...)...)
			if r.code != 0 || r.stdout != c.want {
				t.Errorf("bounce %v: exit %d\n%s\nwant:\n%s%s", c.args, r.code, r.stdout, c.want, r.stderr)
			}
		})
	}
}

// --maildir stores and moves each message, once; a corrupt file is stored
// as unknown and moved like the others; a second run finds nothing.
func TestBounceMaildir(t *testing.T) {
	env := testEnv(t)
	seedBounces(t, env["LAMERS_DB"], time.Now().Add(-time.Hour), labToken)
	md := t.TempDir()
	for _, sub := range []string{"new", "cur", "tmp"} {
		if err := os.Mkdir(filepath.Join(md, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		"1764878950.V801I1M1.mx": readSample(t, "postfix-lab-bounce.eml"),
		"1764878951.V801I2M1.mx": "\x00\x01 corrupt \xff\n\n--",
		"1764878952.V801I3M1.mx": readSample(t, "postfix-lab-delay.eml"),
		// fetchmail with an mbox-style From line
		"1764878953.V801I4M1.mx": localFromLine + readSample(t, "postfix-lab-bounce.eml"),
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(md, "new", name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := lamers(t, env, nil, "bounce", "--maildir", md)
	want := `1764878950.V801I1M1.mx: bounce 1: hard 5.1.1 gone@nic.lab; message abcdefghijklmnopqrst to hostmaster@a.example: dead for the message's findings (2 marks)
1764878951.V801I2M1.mx: bounce 2: unknown; no token: unmatched, kept for a person
1764878952.V801I3M1.mx: bounce 3: delay 4.2.1 slow@nic.lab; token delayabcdefghijklmno of no message: unmatched, kept for a person
1764878953.V801I4M1.mx: bounce 1: hard 5.1.1 gone@nic.lab; stored before, nothing done again
stored: 3 (unmatched: 2), stored before: 1
`
	if r.code != 0 || r.stdout != want {
		t.Errorf("bounce --maildir: exit %d\n%s\nwant:\n%s%s", r.code, r.stdout, want, r.stderr)
	}
	newLeft, _ := os.ReadDir(filepath.Join(md, "new"))
	cur, _ := os.ReadDir(filepath.Join(md, "cur"))
	if len(newLeft) != 0 || len(cur) != 4 || cur[0].Name() != "1764878950.V801I1M1.mx:2,S" {
		t.Errorf("new/ %v, cur/ %v; want all four in cur/ with :2,S", newLeft, cur)
	}
	r = lamers(t, env, nil, "bounce", "--maildir", md)
	if r.code != 0 || r.stdout != "stored: 0 (unmatched: 0), stored before: 0\n" {
		t.Errorf("bounce --maildir again: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if n := len(listed(t, env)); n != 3 {
		t.Errorf("%d bounces stored, want 3", n)
	}
	r = lamers(t, env, nil, "bounce", "--maildir", filepath.Join(md, "new"))
	if r.code != 2 || !strings.Contains(r.stderr, "new/new: no such file or directory") && !strings.Contains(r.stderr, "new: no such file") {
		t.Errorf("bounce --maildir of no Maildir: exit %d\n%s", r.code, r.stderr)
	}
}

// --mbox reads a file without changing it; reading it again adds nothing.
func TestBounceMbox(t *testing.T) {
	env := testEnv(t)
	seedBounces(t, env["LAMERS_DB"], time.Now().Add(-time.Hour), labToken)
	var mbox strings.Builder
	for _, s := range []string{"postfix-lab-bounce.eml", "arf-opt-out.eml", "postfix-lab-bounce-smtputf8.eml"} {
		mbox.WriteString(localFromLine + readSample(t, s) + "\n")
	}
	path := filepath.Join(t.TempDir(), "bounces.mbox")
	if err := os.WriteFile(path, []byte(mbox.String()), 0o444); err != nil {
		t.Fatal(err)
	}
	first := lamers(t, env, nil, "bounce", "--mbox", path)
	if first.code != 0 || !strings.HasSuffix(first.stdout, "stored: 3 (unmatched: 2), stored before: 0\n") {
		t.Errorf("bounce --mbox: exit %d\n%s%s", first.code, first.stdout, first.stderr)
	}
	again := lamers(t, env, nil, "bounce", "--mbox", path)
	if again.code != 0 || !strings.HasSuffix(again.stdout, "stored: 0 (unmatched: 0), stored before: 3\n") {
		t.Errorf("bounce --mbox again: exit %d\n%s%s", again.code, again.stdout, again.stderr)
	}
	if b, _ := os.ReadFile(path); string(b) != mbox.String() {
		t.Error("the mbox file changed")
	}
	if n := len(listed(t, env)); n != 3 {
		t.Errorf("%d bounces stored, want 3", n)
	}
	r := lamers(t, env, nil, "bounce", "--mbox", path+".nope")
	if r.code != 2 || !strings.Contains(r.stderr, "no such file") {
		t.Errorf("bounce --mbox of no file: exit %d\n%s", r.code, r.stderr)
	}
}

// A 50 MB message goes through: stored with its size, its first 256 KiB
// kept. (Its memory is measured by bench/bounce.sh.)
func TestBounceHugeMessage(t *testing.T) {
	env := testEnv(t)
	seedBounces(t, env["LAMERS_DB"], time.Now().Add(-time.Hour), sentToken)
	dsn := readSample(t, "postfix-lab-bounce.eml")
	cut := strings.Index(dsn, "case abcdefghijklmnopqrst\n")
	line := "a line of the returned message, 50 MB of them in all, as a mail loop or an attachment would make\n"
	body := io.MultiReader(strings.NewReader(localFromLine+dsn[:cut]),
		testio.Repeat(line, 50<<20), strings.NewReader(dsn[cut:]))
	r := lamers(t, pipeEnv(env, sentToken), body, "bounce")
	if r.code != 0 || !strings.Contains(r.stdout, "bounce 1: hard 5.1.1 gone@nic.lab; message "+sentToken) {
		t.Fatalf("bounce: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	bs := listed(t, env)
	if want := int64(len(dsn) + 50<<20); len(bs) != 1 || bs[0].Size != want {
		t.Errorf("stored %+v, want one of %d bytes", bs, want)
	}
	db, err := store.Open(context.Background(), env["LAMERS_DB"])
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	raw, err := db.Bounces(context.Background(), store.BounceFilter{WithRaw: true})
	if err != nil || len(raw) != 1 || len(raw[0].Raw) != store.MaxBounceRaw || !strings.HasPrefix(dsn, string(raw[0].Raw[:1000])) {
		t.Errorf("raw prefix: %d bytes, %v", len(raw[0].Raw), err)
	}
}

// Flags that do not go together are usage errors (exit 2), and so is
// --list's output format; a configuration that cannot be read is a
// temporary failure for the pipe (75: the MTA keeps the message), a plain
// one for --list.
func TestBounceUsage(t *testing.T) {
	env := testEnv(t)
	bad := filepath.Join(t.TempDir(), "bad.toml")
	if err := os.WriteFile(bad, []byte("[notify\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	badEnv := map[string]string{"LAMERS_CONFIG": bad, "LAMERS_DB": env["LAMERS_DB"]}
	for _, tt := range []struct {
		env    map[string]string
		args   []string
		code   int
		stderr string
	}{
		{env, []string{"--maildir", "a", "--mbox", "b"}, 2, "--maildir and --mbox are one or the other"},
		{env, []string{"--list", "--mbox", "b"}, 2, "--list takes no --maildir or --mbox"},
		{env, []string{"--format", "json"}, 2, "--unmatched and --format are for --list"},
		{env, []string{"--list", "--format", "csv"}, 2, `--format: "csv" is not one of text, json`},
		{env, []string{"--list", "--since", "yesterday"}, 2, `--since: "yesterday" is not a date`},
		{badEnv, nil, 75, "lamers: config"},
		{badEnv, []string{"--list"}, 2, "lamers: config"},
	} {
		r := lamers(t, tt.env, strings.NewReader(readSample(t, "qmail.eml")), append([]string{"bounce"}, tt.args...)...)
		if r.code != tt.code || !strings.Contains(r.stderr, tt.stderr) {
			t.Errorf("bounce %v: exit %d, stderr %q; want %d, %q", tt.args, r.code, r.stderr, tt.code, tt.stderr)
		}
	}
}

// The golden outputs of bounce --list for a fixed database: every sample,
// some answering messages of the outbox, taken in at fixed times.
func TestBounceListGolden(t *testing.T) {
	env := testEnv(t)
	sent := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	seedBounces(t, env["LAMERS_DB"], sent, sentToken, labToken)
	ctx := context.Background()
	db, err := store.Open(ctx, env["LAMERS_DB"])
	if err != nil {
		t.Fatal(err)
	}
	in := notify.NewIntake(db)
	for i, s := range []struct {
		file, extension string
	}{
		{"postfix-lab-bounce.eml", ""},
		{"postfix-lab-delay.eml", ""},
		{"postfix-expired-4.4.1.eml", sentToken},
		{"yahoo-dsn-policy.eml", sentToken},
		{"arf-abuse-yahoo.eml", sentToken},
		{"autoreply-windows-1252-qp.eml", ""},
		{"not-a-bounce.eml", ""},
		{"exchange2007-iso-8859-1.eml", "zzzzzzzzzzzzzzzzzzzz"},
	} {
		in.Now = func() time.Time { return sent.Add(time.Duration(i+1) * time.Hour) }
		var env bounce.Options
		if s.extension != "" {
			env.OriginalRecipient = "lamers-bounces+" + s.extension + "@resolver.example.net"
		}
		if _, err := in.Take(ctx, strings.NewReader(readSample(t, s.file)), store.BouncePipe, env); err != nil {
			t.Fatal(err)
		}
	}
	// a subject with a bidirectional override, which package bounce
	// takes out (writeTerminalJSON would escape it: TestTerminalJSON)
	in.Now = func() time.Time { return sent.Add(10 * time.Hour) }
	evil := "From: x@example.net\nSubject: =?utf-8?q?invoice_=E2=80=AEfdp.exe?=\n\nhello\n"
	if _, err := in.Take(ctx, strings.NewReader(evil), store.BouncePipe, bounce.Options{}); err != nil {
		t.Fatal(err)
	}
	db.Close(ctx)
	dir := filepath.Join("..", "..", "testdata", "golden", "bounce-list")
	for _, g := range []struct {
		name string
		args []string
	}{
		{"all.json", []string{"--format", "json"}},
		{"all.txt", nil},
		{"unmatched.json", []string{"--format", "json", "--unmatched"}},
		{"since.txt", []string{"--since", "2026-11-22T17:00:00Z"}},
	} {
		r := lamers(t, env, nil, append([]string{"bounce", "--list", "--since", "2026-11-01"}, g.args...)...)
		if r.code != 0 {
			t.Fatalf("%s: exit %d\n%s", g.name, r.code, r.stderr)
		}
		if strings.ContainsRune(r.stdout, '\u202e') {
			t.Errorf("%s: a raw bidirectional override reaches the terminal", g.name)
		}
		golden.Check(t, filepath.Join(dir, g.name), []byte(r.stdout))
	}
	golden.Orphans(t, dir, []string{"all.json", "all.txt", "unmatched.json", "since.txt"})
	var bs []jsonBounce
	r := lamers(t, env, nil, "bounce", "--list", "--format", "json", "--since", "2026-11-01")
	if err := json.NewDecoder(bytes.NewReader([]byte(r.stdout))).Decode(&bs); err != nil || bs[len(bs)-1].Subject != "invoice fdp.exe" {
		t.Errorf("decoded JSON: %v, last subject %q", err, bs[len(bs)-1].Subject)
	}
}

// unprivileged runs lamers where file permissions hold: in this process
// when the test does not run as root, else as nobody (uid 65534), from a
// copy of the test binary that nobody may run.
type unprivileged struct {
	dir string // a directory everyone may enter, for the databases
	bin string // the copy of the test binary, when root
}

func newUnprivileged(t *testing.T) *unprivileged {
	t.Helper()
	dir, err := os.MkdirTemp("", "lamers-bounce-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			os.Chmod(p, 0o755) // so that a non-root test can remove what it locked
			return nil
		})
		os.RemoveAll(dir)
	})
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	u := &unprivileged{dir: dir}
	if os.Geteuid() != 0 {
		return u
	}
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	u.bin = filepath.Join(dir, "lamers.test")
	if err := os.WriteFile(u.bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	return u
}

// run runs `lamers args…` with the environment env and stdin.
func (u *unprivileged) run(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	if u.bin == "" {
		return lamers(t, env, strings.NewReader(stdin), args...)
	}
	cmd := exec.Command(u.bin, args...)
	cmd.Env = []string{envExec + "=1", "PATH=/usr/bin:/bin"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	code := 0
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return result{code, out.String(), errb.String()}
}

// When the database cannot be written bounce exits 75 and keeps nothing
// half: the MTA keeps the message and gives it again, and once the
// database can be written it is stored; a Maildir message stays in new/.
func TestBounceTempFail(t *testing.T) {
	u := newUnprivileged(t)
	dsn := localFromLine + readSample(t, "postfix-lab-bounce.eml")
	for _, tt := range []struct {
		name  string
		setup func(t *testing.T, dbDir, db string) // makes the database unwritable
	}{
		{"read-only database file", func(t *testing.T, dbDir, db string) {
			os.Chmod(dbDir, 0o777)
			os.Chmod(db, 0o444)
		}},
		// SQLite cannot create the write-ahead log next to the file.
		{"unwritable directory", func(t *testing.T, dbDir, db string) {
			os.Chmod(db, 0o666)
			os.Chmod(dbDir, 0o555)
		}},
		{"no directory", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dbDir := filepath.Join(u.dir, strings.ReplaceAll(tt.name, " ", "-"))
			if err := os.Mkdir(dbDir, 0o755); err != nil {
				t.Fatal(err)
			}
			env := testEnv(t)
			env["LAMERS_DB"] = filepath.Join(dbDir, "lamers.db")
			seedBounces(t, env["LAMERS_DB"], time.Now().Add(-time.Hour), labToken)
			conf := filepath.Join(u.dir, "empty.toml")
			if err := os.WriteFile(conf, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			env["LAMERS_CONFIG"] = conf
			runEnv := env
			if tt.setup == nil {
				runEnv = map[string]string{"LAMERS_CONFIG": conf, "LAMERS_DB": filepath.Join(dbDir, "gone", "lamers.db")}
			} else {
				tt.setup(t, dbDir, env["LAMERS_DB"])
			}
			r := u.run(t, runEnv, dsn, "bounce")
			if r.code != 75 || !strings.Contains(r.stderr, "store: ") {
				t.Errorf("bounce: exit %d\nstdout %s\nstderr %s; want 75 and the store's error", r.code, r.stdout, r.stderr)
			}
			md := filepath.Join(u.dir, strings.ReplaceAll(tt.name, " ", "-")+"-maildir")
			for _, sub := range []string{"", "new", "cur", "tmp"} {
				os.Mkdir(filepath.Join(md, sub), 0o777)
				os.Chmod(filepath.Join(md, sub), 0o777)
			}
			msg := filepath.Join(md, "new", "1764878950.V801I1M1.mx")
			if err := os.WriteFile(msg, []byte(dsn), 0o644); err != nil {
				t.Fatal(err)
			}
			r = u.run(t, runEnv, "", "bounce", "--maildir", md)
			if _, err := os.Stat(msg); r.code != 75 || err != nil {
				t.Errorf("bounce --maildir: exit %d (%s), the message in new/: %v; want 75 and the message there", r.code, r.stderr, err)
			}
			// Mended: the MTA's retry is stored, so is the Maildir's message
			// (the same message: once).
			os.Chmod(dbDir, 0o755)
			os.Chmod(env["LAMERS_DB"], 0o644)
			if r := lamers(t, env, strings.NewReader(dsn), "bounce"); r.code != 0 || !strings.HasPrefix(r.stdout, "bounce 1: hard") {
				t.Errorf("bounce once mended: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			if r := lamers(t, env, nil, "bounce", "--maildir", md); r.code != 0 || !strings.Contains(r.stdout, "stored before: 1") {
				t.Errorf("bounce --maildir once mended: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
		})
	}
}

// A stop (SIGTERM) before the message on standard input is stored is a
// temporary failure, never a success the MTA would drop the message for;
// a stop during --maildir leaves the messages not taken in new/ and exits
// 0 (the stop contract of command).
func TestBounceStopped(t *testing.T) {
	a := newTestApp(t, localFromLine+readSample(t, "postfix-lab-bounce.eml"))
	a.stop.receive(syscall.SIGTERM)
	err := a.runCmd(&bounceCommand{format: "text"})
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != exitTempFail || !errors.Is(err, context.Canceled) {
		t.Errorf("bounce on stdin after SIGTERM: %v, want exit 75 for the cancelled store", err)
	}
	md := t.TempDir()
	for _, sub := range []string{"new", "cur", "tmp"} {
		os.Mkdir(filepath.Join(md, sub), 0o755)
	}
	os.WriteFile(filepath.Join(md, "new", "1.a"), []byte(readSample(t, "postfix-lab-bounce.eml")), 0o644)
	if err := a.runCmd(&bounceCommand{maildir: md, format: "text"}); err != nil || !strings.Contains(a.errb.String(), "bounce stopped early") {
		t.Errorf("bounce --maildir after SIGTERM: %v, stderr %q", err, a.errb.String())
	}
	if _, err := os.Stat(filepath.Join(md, "new", "1.a")); err != nil {
		t.Errorf("the message left new/: %v", err)
	}
}
