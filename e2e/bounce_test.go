package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testBounce runs the real loop of docs/notify.md §7 through the lab's
// Postfix: `lamers notify --send` hands a message to Postfix for
// hostmaster@rname.lab, which Postfix accepts and then cannot deliver;
// Postfix writes its own DSN to the VERP envelope sender, delivers it
// through the alias pipe to `lamers bounce` (run as the pipe runs it, as
// nobody), and the next `lamers notify --send` mails the next contact of
// the chain, postmaster@nic.lab. Then a delayed DSN for a message with
// that message's envelope sender (recorded, no effect), and a mail to the
// List-Unsubscribe address of the message postmaster@nic.lab received
// (the address is suppressed; the finding then needs a human). Every
// check reads the database through report, suppress --list and bounce
// --list.
func (l *lab) testBounce(t *testing.T) {
	l.needs(t, "scan", "verify", "notify", "suppress", "bounce")
	p := l.mail
	p.logOnFailure(t)
	start := time.Now()
	dir := l.mkdir(t, "bounce")
	dbDir := filepath.Join(dir, "db")
	if err := os.Mkdir(dbDir, 0o755); err != nil {
		t.Fatal(err)
	}
	// The pipe's lamers runs as mailUser: the database and its directory
	// are that user's. (SQLite gives the journal files a root process
	// makes the database file's owner.)
	p.giveToMailUser(t, dbDir)
	db := filepath.Join(dbDir, "lamers.db")
	conf := filepath.Join(dir, "lamers.toml")
	writeFile(t, conf, fmt.Sprintf(`# the bounce stage (e2e/bounce_test.go)
[resolver]
root_hints = %q

[verify]
# one round confirms: the stage needs a lame finding now
lame_rounds = 1
lame_span = "0s"

[notify]
from = "DNS health <dns-health@%[2]s>"
bounce_address = "%[3]s@%[2]s"
smtp_host = %[4]q
smtp_port = 25
smtp_tls = "none"
`, l.hints, bounceDomain, bounceLocal, addrMX))
	lamers := func(codes []int, args ...string) []byte {
		t.Helper()
		out, _ := l.lamersRun(t, db, codes, append([]string{"--config", conf}, args...)...)
		return out
	}

	// A finding for rname.lab's REFUSED server, as BIND 9.18 logs it,
	// confirmed lame by one round; its SOA RNAME, first.last@rname.lab,
	// is suppressed so that its chain starts with hostmaster@rname.lab.
	logFile := filepath.Join(dir, "named.log")
	writeFile(t, logFile, time.Now().UTC().Format("02-Jan-2006 15:04:05.000")+
		" lame-servers: info: lame server resolving 'www.rname.lab' (in 'rname.lab'?): "+addrRefuser+"#53\n")
	lamers([]int{0}, "scan", logFile)
	p.giveToMailUser(t, db)
	lamers([]int{0}, "verify", "--all")
	lamers([]int{0}, "suppress", "first.last@rname.lab", "--reason", "e2e: reach hostmaster@rname.lab")
	f := l.rnameFinding(t, db)
	if f.Status != "lame" {
		t.Fatalf("rname.lab %s: status %q reason %q, want lame", addrRefuser, f.Status, f.Reason)
	}

	p.setPipeCommand(t, l.lamers, "--config", conf, "--db", db, "bounce")
	t.Cleanup(func() { p.setPipeCommand(t) })

	// 1. hostmaster@rname.lab: accepted, then returned by Postfix.
	l.notifySend(t, lamers, "hostmaster@rname.lab", "hostmaster")
	rec := p.waitRecordings(t, 1, func(r pipeRecording) bool {
		return recordedSince(r, start) && strings.Contains(string(r.message.body), "Final-Recipient: rfc822; hostmaster@rname.lab")
	})[0]
	if r := rec.message.header.Get("Subject"); rec.status != 0 || r != "Undelivered Mail Returned to Sender" {
		t.Fatalf("%s: the pipe's lamers bounce exited %d on %q:\n%s", rec.dir, rec.status, r, rec.output)
	}
	token := rec.env["EXTENSION"]
	bs := l.bounces(t, lamers)
	if len(bs) != 1 {
		t.Fatalf("bounce --list: %+v, want the DSN", bs)
	}
	want := listedBounce{Source: "pipe", Class: "hard", Format: "rfc3464", Effect: "dead", Marks: 1, Matched: true, Token: token,
		TokenSource: "original-recipient", To: "hostmaster@rname.lab", Recipient: "hostmaster@rname.lab", Status: "5.1.1",
		Action: "failed", Diagnostic: strings.TrimPrefix(bounceText, "5.1.1 ")}
	if got := bs[0].stable(); got != want {
		t.Errorf("bounce --list:\n got %+v\nwant %+v", got, want)
	}
	// report still names the contact of the last run
	if f := l.rnameFinding(t, db); f.Contact != "hostmaster@rname.lab" || f.ContactSource != "hostmaster" {
		t.Errorf("report after the bounce: contact %q (%s), want hostmaster@rname.lab (hostmaster)", f.Contact, f.ContactSource)
	}

	// 2. The next run mails the next contact of the chain.
	l.notifySend(t, lamers, "postmaster@nic.lab", "postmaster")
	if f := l.rnameFinding(t, db); f.Contact != "postmaster@nic.lab" || f.ContactSource != "postmaster" || f.NeedsHuman {
		t.Errorf("report after the second run: contact %q (%s), needs_human %v; want postmaster@nic.lab (postmaster)",
			f.Contact, f.ContactSource, f.NeedsHuman)
	}
	letter := p.waitMessages(t, "postmaster@nic.lab", 1, func(m mailMsg) bool {
		return m.header.Get("X-Lamers-Token") != "" && deliveredSince(m, start)
	})[0]
	sent := letter.header.Get("X-Lamers-Token")
	unsubscribe := regexp.MustCompile(`^<mailto:(` + bounceLocal + `\+` + sent + `-unsubscribe@` + regexp.QuoteMeta(bounceDomain) + `)>$`).
		FindStringSubmatch(letter.header.Get("List-Unsubscribe"))
	if unsubscribe == nil {
		t.Fatalf("%s: List-Unsubscribe %q", letter.path, letter.header.Get("List-Unsubscribe"))
	}

	// 3. A delayed DSN for a message with that message's envelope sender:
	// recorded, no effect.
	sendMail(t, "slow@nic.lab", sent, false)
	rec = p.waitRecordings(t, 1, func(r pipeRecording) bool {
		return recordedSince(r, start) && r.env["EXTENSION"] == sent
	})[0]
	if rec.status != 0 {
		t.Fatalf("%s: the pipe's lamers bounce exited %d:\n%s", rec.dir, rec.status, rec.output)
	}

	// 4. The recipient asks to hear no more: a mail to List-Unsubscribe.
	sendUnsubscribe(t, "postmaster@nic.lab", unsubscribe[1])
	rec = p.waitRecordings(t, 1, func(r pipeRecording) bool {
		return recordedSince(r, start) && r.env["EXTENSION"] == sent+"-unsubscribe"
	})[0]
	if rec.status != 0 {
		t.Fatalf("%s: the pipe's lamers bounce exited %d:\n%s", rec.dir, rec.status, rec.output)
	}
	bs = l.bounces(t, lamers)
	var got []string
	for _, b := range bs {
		s := b.stable()
		got = append(got, fmt.Sprintf("%s %s %s %s to=%s status=%s", s.Class, s.Effect, s.Token, s.TokenSource, s.To, s.Status))
	}
	wantList := []string{
		fmt.Sprintf("hard dead %s original-recipient to=hostmaster@rname.lab status=5.1.1", token),
		fmt.Sprintf("delay none %s original-recipient to=postmaster@nic.lab status=4.2.1", sent),
		fmt.Sprintf("unsubscribe suppressed %s original-recipient to=postmaster@nic.lab status=", sent),
	}
	if strings.Join(got, "\n") != strings.Join(wantList, "\n") {
		t.Errorf("bounce --list:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantList, "\n"))
	}
	sup := string(lamers([]int{0}, "suppress", "--list"))
	wantSup := regexp.MustCompile(`(?m)^postmaster@nic\.lab +address +unsubscribe +\S+ \S+ +bounce 3, unsubscribe about message <lamers\.` +
		sent + `@` + regexp.QuoteMeta(bounceDomain) + `>$`)
	if !wantSup.MatchString(sup) {
		t.Errorf("suppress --list:\n%s", sup)
	}

	// 5. With every candidate passed over, the finding needs a human.
	if out := lamers([]int{0}, "notify", "--send", "--zone", "rname.lab", "--format", "json"); strings.TrimSpace(string(out)) != "[]" {
		t.Errorf("notify --send after the unsubscription: %s, want no message", out)
	}
	if f := l.rnameFinding(t, db); !f.NeedsHuman || f.Contact != "" {
		t.Errorf("report at the end: contact %q, needs_human %v; want none, true", f.Contact, f.NeedsHuman)
	}
}

// recordedSince reports whether the pipe recorded r after t (its
// directory is named by the nanosecond it started).
func recordedSince(r pipeRecording, t time.Time) bool {
	ns, err := strconv.ParseInt(strings.Split(filepath.Base(r.dir), ".")[0], 10, 64)
	return err == nil && ns >= t.UnixNano()
}

// deliveredSince reports whether m was delivered at t or later (its
// Maildir file's time, to the second): the run stage's daemon mails the
// same lab mailboxes.
func deliveredSince(m mailMsg, t time.Time) bool {
	fi, err := os.Stat(m.path)
	return err == nil && !fi.ModTime().Before(t.Truncate(time.Second))
}

// contactFinding is what report --format json says of a finding's
// contact (README.md, "Commands").
type contactFinding struct {
	finding
	Contact       string  `json:"contact"`
	ContactSource string  `json:"contact_source"`
	LastNotified  *string `json:"last_notified"`
	NeedsHuman    bool    `json:"needs_human"`
}

// rnameFinding returns the finding of rname.lab's REFUSED server.
func (l *lab) rnameFinding(t *testing.T, db string) contactFinding {
	t.Helper()
	out, _ := l.lamersRun(t, db, []int{0}, "report", "--format", "json", "--zone", "rname.lab")
	var fs []contactFinding
	if err := json.Unmarshal(out, &fs); err != nil {
		t.Fatalf("report --format json: %v\n%s", err, out)
	}
	for _, f := range fs {
		if sameAddr(f.Server, addrRefuser) {
			return f
		}
	}
	t.Fatalf("report: no finding for rname.lab %s:\n%s", addrRefuser, out)
	return contactFinding{}
}

// notifySend runs notify --send for rname.lab and checks that it sent one
// message, to to.
func (l *lab) notifySend(t *testing.T, lamers func([]int, ...string) []byte, to, source string) {
	t.Helper()
	out := lamers([]int{0}, "notify", "--send", "--zone", "rname.lab", "--format", "json")
	var msgs []struct {
		To            string `json:"to"`
		ContactSource string `json:"contact_source"`
		Result        string `json:"result"`
		Findings      []struct {
			Zone   string `json:"zone"`
			Server string `json:"server"`
		} `json:"findings"`
	}
	if err := json.Unmarshal(out, &msgs); err != nil {
		t.Fatalf("notify --format json: %v\n%s", err, out)
	}
	if len(msgs) != 1 || msgs[0].To != to || msgs[0].ContactSource != source || msgs[0].Result != "sent" ||
		len(msgs[0].Findings) != 1 || msgs[0].Findings[0].Zone != "rname.lab." {
		t.Fatalf("notify --send: %s\nwant one message about rname.lab. sent to %s (%s)", out, to, source)
	}
}

// listedBounce is bounce --list --format json's element (docs/notify.md
// §7), the fields that do not change from run to run.
type listedBounce struct {
	Source      string `json:"source"`
	Class       string `json:"class"`
	Format      string `json:"format"`
	Effect      string `json:"effect"`
	Marks       int    `json:"marks"`
	Matched     bool   `json:"matched"`
	Token       string `json:"token"`
	TokenSource string `json:"token_source"`
	To          string `json:"to"`
	Recipient   string `json:"recipient"`
	Status      string `json:"status"`
	Action      string `json:"action"`
	Diagnostic  string `json:"diagnostic"`
}

type listedBounceFull struct {
	listedBounce
	ID         int64  `json:"id"`
	ReceivedAt string `json:"received_at"`
	Size       int64  `json:"size"`
	SHA256     string `json:"sha256"`
}

func (b listedBounceFull) stable() listedBounce { return b.listedBounce }

// bounces returns bounce --list --format json.
func (l *lab) bounces(t *testing.T, lamers func([]int, ...string) []byte) []listedBounceFull {
	t.Helper()
	out := lamers([]int{0}, "bounce", "--list", "--format", "json")
	var bs []listedBounceFull
	if err := json.Unmarshal(out, &bs); err != nil {
		t.Fatalf("bounce --list --format json: %v\n%s", err, out)
	}
	for _, b := range bs {
		if b.ID == 0 || b.ReceivedAt == "" || b.Size == 0 || len(b.SHA256) != 64 {
			t.Errorf("bounce --list: %+v", b)
		}
	}
	return bs
}

// sendUnsubscribe mails to, the List-Unsubscribe address of a message,
// from from, as a mail client does for a mailto: List-Unsubscribe (RFC
// 2369 §3.2): an empty subject would do; this one says it.
func sendUnsubscribe(t *testing.T, from, to string) {
	t.Helper()
	c := dialMX(t, false)
	mailFrom(t, c, from, false)
	if err := c.Rcpt(to); err != nil {
		t.Fatalf("RCPT TO:<%s>: %v", to, err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatalf("DATA: %v", err)
	}
	fmt.Fprintf(w, "From: <%s>\r\nTo: <%s>\r\nSubject: unsubscribe\r\nDate: %s\r\nMessage-ID: <unsubscribe.%d@nic.lab>\r\n\r\nunsubscribe\r\n",
		from, to, time.Now().Format(time.RFC1123Z), time.Now().UnixNano())
	if err := w.Close(); err != nil {
		t.Fatalf("end of DATA: %v", err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
}
