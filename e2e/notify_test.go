package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The notify stage: lamers mails the contacts of its own verdicts of the
// lab through the lab's Postfix (postfix_test.go), as docs/notify.md says.
//
//  1. One database of every lab log, verified twice with a confirmation
//     policy of seconds instead of hours (verify.lame_span and friends), so
//     that the lame findings are confirmed.
//  2. A dry run prints the messages (recipients, contact sources,
//     findings) and changes nothing in the database.
//  3. "notify --send" hands them to Postfix: each recipient's Maildir gets
//     one message listing all its findings, with the headers of
//     docs/notify.md §4; report shows each finding's contact.
//  4. A second "notify --send" sends nothing (notify.finding_interval and
//     recipient_interval).
//  5. On a copy of the verified database, with deliverability not checked
//     (every candidate goes to the relay), the first contact of upref.lab,
//     hostmaster@upref.lab, is refused by Postfix at RCPT (a domain it
//     does not take mail for): the finding moves to the next contact,
//     postmaster@nic.lab, in the same run.

// The notify configuration of the stage (postfix_test.go describes the
// relay and the sender's domain).
const (
	notifyFrom    = "DNS health <dns-health@" + bounceDomain + ">"
	notifyReplyTo = "operator@" + bounceDomain
)

// notifySpan is the confirmation span of the stage's policy: two lame
// rounds this far apart confirm a finding (docs/verification.md,
// "Confirmation"; 30 minutes by default).
const notifySpan = 2 * time.Second

// labContacts is whom notify must mail about a lame finding of each lab
// zone, with deliverability checked (docs/notify.md §2); any other zone's
// contact is postmaster@nic.lab, the registered domain of its ns-*.nic.lab
// and ns1.nic.lab servers (hostmaster@ a zone whose every server is lame
// can receive no mail, and halflame.lab has neither MX nor A).
var labContacts = map[string]struct{ to, source string }{
	// the RNAME first\.last.rname.lab., read from the good server
	"rname.lab.": {"first.last@rname.lab", "rname"},
	// hostmaster@ and postmaster@refused.lab: refused.lab's one server is
	// lame, so its domain has no mail exchanger: needs a human
	"refused.lab.": {"", ""},
	// postmaster@root-servers.lab: a null MX (RFC 7505): needs a human
	"otherauth.lab.": {"", ""},
}

// contactOf is the contact labContacts gives zone.
func contactOf(zone string) (to, source string) {
	if c, ok := labContacts[zone]; ok {
		return c.to, c.source
	}
	return "postmaster@nic.lab", "postmaster"
}

// notifiedFinding is an element of "report --format json" with the
// contact fields notify fills (README.md, docs/notify.md §2).
type notifiedFinding struct {
	finding
	Contact       string  `json:"contact"`
	ContactSource string  `json:"contact_source"`
	LastNotified  *string `json:"last_notified"`
	NeedsHuman    bool    `json:"needs_human"`
}

// notifyMessage is an element of "notify --format json".
type notifyMessage struct {
	To            string             `json:"to"`
	ContactSource string             `json:"contact_source"`
	Subject       string             `json:"subject"`
	Findings      []notifyMsgFinding `json:"findings"`
	Result        string             `json:"result"`
}

type notifyMsgFinding struct {
	Zone   string `json:"zone"`
	Server string `json:"server"`
	Port   int    `json:"port"`
	Status string `json:"status"`
	Reason string `json:"reason"`
}

// key names a finding in a message: zone and server.
func (f notifyMsgFinding) key() string { return f.Zone + " " + f.Server }

// plannedMessage is a message notify must send: its recipient and source
// and the findings it lists (zone and server, sorted).
type plannedMessage struct {
	to, source string
	findings   []string
}

// testNotify runs the stage.
func (l *lab) testNotify(t *testing.T) {
	l.needs(t, "scan", "report", "verify", "notify")
	p := l.mail
	p.logOnFailure(t)
	var files []string
	for _, lg := range l.labLogs() {
		files = append(files, lg.path)
	}
	db := l.scanDB(t, "notify", files...)
	conf := l.notifyConfig(t, "notify", true)
	l.lamersRun(t, db, []int{0}, "--config", conf, "verify")
	time.Sleep(notifySpan) // the policy's span between two rounds of each finding
	l.lamersRun(t, db, []int{0}, "--config", conf, "verify")
	verified := l.notifyReport(t, db)
	want, needsHuman := plannedMessages(t, verified)
	for _, m := range want {
		t.Logf("planned: %s (%s): %d findings: %s", m.to, m.source, len(m.findings), strings.Join(m.findings, ", "))
	}
	t.Logf("planned: %d findings need a human", len(needsHuman))
	rejectDB := copyDB(t, db, filepath.Join(l.dir, "db", "notify-reject.db"))

	// Only the messages that arrive after this point count: other stages
	// may write to the same mailboxes.
	before := map[string][]mailMsg{}
	for _, m := range want {
		msgs, err := p.messages(m.to)
		if err != nil {
			t.Fatal(err)
		}
		before[m.to] = msgs
	}
	arrived := func(t *testing.T, to string) []mailMsg {
		t.Helper()
		msgs, err := p.messages(to)
		if err != nil {
			t.Fatal(err)
		}
		return slices.DeleteFunc(msgs, func(m mailMsg) bool { return !newMail(before[to])(m) })
	}
	var sent []notifyMessage
	t.Run("dry-run", func(t *testing.T) {
		before := l.reportBytes(t, db)
		msgs := l.notifyRun(t, db, conf)
		checkPlanned(t, msgs, want, "dry-run")
		if after := l.reportBytes(t, db); !bytes.Equal(before, after) {
			t.Errorf("a dry run changed the database: report before and after differ:\n%s", cmp.Diff(string(before), string(after)))
		}
		for _, m := range want {
			if got := arrived(t, m.to); len(got) != 0 {
				t.Errorf("%s has %d messages after a dry run", m.to, len(got))
			}
		}
	})
	t.Run("send", func(t *testing.T) {
		sent = l.notifyRun(t, db, conf, "--send")
		checkPlanned(t, sent, want, "sent")
		for _, m := range sent {
			p.waitMessages(t, m.To, 1, newMail(before[m.To]))
			if got := arrived(t, m.To); len(got) != 1 {
				t.Errorf("%s: %d messages, want 1", m.To, len(got))
			} else {
				checkNotifyMail(t, got[0], m)
			}
		}
		for _, f := range l.notifyReport(t, db) {
			checkContact(t, f, needsHuman)
		}
	})
	t.Run("second-run", func(t *testing.T) {
		if msgs := l.notifyRun(t, db, conf, "--send"); len(msgs) != 0 {
			t.Errorf("a second run sent %d messages: %+v", len(msgs), msgs)
		}
		for _, m := range sent {
			if got := arrived(t, m.To); len(got) != 1 {
				t.Errorf("%s has %d messages after the second run, want 1", m.To, len(got))
			}
		}
	})
	t.Run("rejected-next-contact", func(t *testing.T) {
		l.testNotifyRejected(t, rejectDB)
	})
}

// notifyConfig writes the stage's configuration: the lab's root hints
// and short timeouts, a confirmation policy of notifySpan, and [notify]
// sending through Postfix (smtp_tls "none": it offers no STARTTLS).
func (l *lab) notifyConfig(t *testing.T, name string, deliverability bool) string {
	t.Helper()
	path := filepath.Join(l.dir, "db", name+".toml")
	writeFile(t, path, fmt.Sprintf(`[resolver]
root_hints = %q
timeouts = ["1s", "2s"]

[verify]
lame_rounds = 2
lame_span = %[2]q
unresponsive_rounds = 2
unresponsive_span = %[2]q
min_interval = %[2]q

[notify]
from = %q
reply_to = %q
bounce_address = %q
transport = "smtp"
smtp_host = %q
smtp_port = 25
smtp_tls = "none"
check_deliverability = %t
`, l.hints, notifySpan.String(), notifyFrom, notifyReplyTo, bounceLocal+"@"+bounceDomain, addrMX, deliverability))
	return path
}

// notifyRun runs "notify --format json" with args and returns its messages.
func (l *lab) notifyRun(t *testing.T, db, conf string, args ...string) []notifyMessage {
	t.Helper()
	out, _ := l.lamersRun(t, db, []int{0}, append([]string{"--config", conf, "notify", "--format", "json"}, args...)...)
	var msgs []notifyMessage
	if err := json.Unmarshal(out, &msgs); err != nil {
		t.Fatalf("notify --format json: %v\n%s", err, out)
	}
	return msgs
}

// reportBytes is "report --format json" as printed.
func (l *lab) reportBytes(t *testing.T, db string, args ...string) []byte {
	t.Helper()
	out, _ := l.lamersRun(t, db, []int{0}, append([]string{"report", "--format", "json"}, args...)...)
	return out
}

// notifyReport is "report --format json" with the contact fields.
func (l *lab) notifyReport(t *testing.T, db string, args ...string) []notifiedFinding {
	t.Helper()
	out := l.reportBytes(t, db, args...)
	var fs []notifiedFinding
	if err := json.Unmarshal(out, &fs); err != nil {
		t.Fatalf("report --format json: %v\n%s", err, out)
	}
	return fs
}

// mailed reports whether notify mails about f: lame or unresponsive.
func mailed(f notifiedFinding) bool { return f.Status == "lame" || f.Status == "unresponsive" }

// plannedMessages groups the verified findings notify must mail into one
// message per recipient (labContacts), and names the findings that need a
// human. The confirmation must have worked: upref.lab is lame.
func plannedMessages(t *testing.T, fs []notifiedFinding) (want []plannedMessage, needsHuman map[string]bool) {
	t.Helper()
	needsHuman = map[string]bool{}
	byTo := map[string]*plannedMessage{}
	for _, f := range fs {
		if !mailed(f) {
			continue
		}
		k := notifyMsgFinding{Zone: f.Zone, Server: f.Server}.key()
		to, source := contactOf(f.Zone)
		if to == "" {
			needsHuman[k] = true
			continue
		}
		m := byTo[to]
		if m == nil {
			m = &plannedMessage{to: to, source: source}
			byTo[to] = m
		}
		m.findings = append(m.findings, k)
	}
	if !slices.ContainsFunc(fs, func(f notifiedFinding) bool { return f.Zone == "upref.lab." && f.Status == "lame" }) {
		t.Fatalf("upref.lab. is not lame after two verify runs %v apart: the policy did not confirm it\n%+v", notifySpan, fs)
	}
	for _, m := range byTo {
		slices.Sort(m.findings)
		want = append(want, *m)
	}
	slices.SortFunc(want, func(a, b plannedMessage) int { return strings.Compare(a.to, b.to) })
	return want, needsHuman
}

// checkPlanned compares a run's messages with the planned ones: one per
// recipient, its source, its findings (each lame or unresponsive) and
// result.
func checkPlanned(t *testing.T, msgs []notifyMessage, want []plannedMessage, result string) {
	t.Helper()
	var got []plannedMessage
	for _, m := range msgs {
		g := plannedMessage{to: m.To, source: m.ContactSource}
		for _, f := range m.Findings {
			g.findings = append(g.findings, f.key())
			if f.Status != "lame" && f.Status != "unresponsive" || f.Port != 53 || f.Reason == "" {
				t.Errorf("message to %s lists %+v", m.To, f)
			}
		}
		slices.Sort(g.findings)
		got = append(got, g)
		if m.Result != result {
			t.Errorf("message to %s: result %q, want %q", m.To, m.Result, result)
		}
		if m.Subject == "" {
			t.Errorf("message to %s: no subject", m.To)
		}
	}
	slices.SortFunc(got, func(a, b plannedMessage) int { return strings.Compare(a.to, b.to) })
	if d := cmp.Diff(want, got, cmp.AllowUnexported(plannedMessage{})); d != "" {
		t.Errorf("messages (-want +got):\n%s", d)
	}
}

// checkContact checks report's contact fields of f after a sending run.
func checkContact(t *testing.T, f notifiedFinding, needsHuman map[string]bool) {
	t.Helper()
	if !mailed(f) {
		if f.Contact != "" || f.LastNotified != nil {
			t.Errorf("%s %s (%s): contact %q, last_notified %v", f.Zone, f.Server, f.Status, f.Contact, f.LastNotified)
		}
		return
	}
	if needsHuman[notifyMsgFinding{Zone: f.Zone, Server: f.Server}.key()] {
		if !f.NeedsHuman || f.Contact != "" || f.LastNotified != nil {
			t.Errorf("%s %s: needs_human %v, contact %q, last_notified %v; want true, none, null",
				f.Zone, f.Server, f.NeedsHuman, f.Contact, f.LastNotified)
		}
		return
	}
	to, source := contactOf(f.Zone)
	if f.Contact != to || f.ContactSource != source || f.LastNotified == nil || f.NeedsHuman {
		t.Errorf("%s %s: contact %q (%s), last_notified %v, needs_human %v; want %s (%s), a time, false",
			f.Zone, f.Server, f.Contact, f.ContactSource, f.LastNotified, f.NeedsHuman, to, source)
	}
}

// tokenRE is a notification token (docs/notify.md §4).
var tokenRE = regexp.MustCompile(`^[a-z2-7]{20}$`)

// checkNotifyMail checks a delivered notification against what the run
// said it sent: the VERP envelope sender (Return-Path), the headers of
// docs/notify.md §4, multipart/alternative, and in the text part one dig
// command per finding that a POSIX shell hands to dig exactly.
func checkNotifyMail(t *testing.T, msg mailMsg, m notifyMessage) {
	t.Helper()
	h := msg.header
	token := h.Get("X-Lamers-Token")
	if !tokenRE.MatchString(token) {
		t.Fatalf("%s: X-Lamers-Token %q is not a token", msg.path, token)
	}
	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(h.Get("Subject"))
	if err != nil {
		t.Errorf("%s: Subject: %v", msg.path, err)
	}
	for name, want := range map[string]string{
		"Return-Path":      "<" + verpSender(token) + ">",
		"Message-Id":       "<lamers." + token + "@" + bounceDomain + ">",
		"List-Unsubscribe": "<mailto:" + bounceLocal + "+" + token + "-unsubscribe@" + bounceDomain + ">",
		"Auto-Submitted":   "auto-generated",
		"Precedence":       "bulk",
		"Delivered-To":     m.To,
	} {
		if got := h.Get(name); got != want {
			t.Errorf("%s: %s: %q, want %q", msg.path, name, got, want)
		}
	}
	if subject != m.Subject {
		t.Errorf("%s: Subject %q, want %q (notify's output)", msg.path, subject, m.Subject)
	}
	for name, want := range map[string]string{"From": notifyFrom, "Reply-To": notifyReplyTo, "To": m.To} {
		got, err := mail.ParseAddress(h.Get(name))
		w, _ := mail.ParseAddress(want)
		if err != nil || got.Address != w.Address || got.Name != w.Name {
			t.Errorf("%s: %s: %q (%v), want %q", msg.path, name, h.Get(name), err, want)
		}
	}
	if _, err := h.Date(); err != nil {
		t.Errorf("%s: Date: %v", msg.path, err)
	}
	text, html := alternativeParts(t, msg)
	var digs []string
	for line := range strings.Lines(text) {
		if cmd := strings.TrimSpace(line); strings.HasPrefix(cmd, "dig ") {
			digs = append(digs, cmd)
		}
	}
	if len(digs) != len(m.Findings) {
		t.Errorf("%s: %d dig commands for %d findings:\n%s", msg.path, len(digs), len(m.Findings), text)
	}
	for i, f := range m.Findings {
		if !strings.Contains(text, f.Zone) || !strings.Contains(html, f.Server) {
			t.Errorf("%s: the finding %s is not in both parts", msg.path, f.key())
		}
		if i < len(digs) {
			checkDig(t, digs[i], f)
		}
	}
}

// alternativeParts returns the decoded text/plain and text/html parts of
// a multipart/alternative message.
func alternativeParts(t *testing.T, msg mailMsg) (text, html string) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(msg.header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("%s: Content-Type %q (%v), want multipart/alternative", msg.path, msg.header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(bytes.NewReader(msg.body), params["boundary"])
	var types []string
	for {
		part, err := mr.NextPart() // decodes quoted-printable
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", msg.path, err)
		}
		b, err := io.ReadAll(part)
		if err != nil {
			t.Fatalf("%s: %v", msg.path, err)
		}
		pt, pp, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		types = append(types, pt+";charset="+strings.ToLower(pp["charset"]))
		switch pt {
		case "text/plain":
			text = string(b)
		case "text/html":
			html = string(b)
		}
	}
	if want := []string{"text/plain;charset=utf-8", "text/html;charset=utf-8"}; !slices.Equal(types, want) {
		t.Errorf("%s: parts %q, want %q", msg.path, types, want)
	}
	return text, html
}

// checkDig runs a dig command of a message through /bin/sh with dig
// replaced by a function that records its arguments and then runs dig
// with a short timeout: the shell must hand dig "+norec", "@SERVER", the
// zone and "SOA", and a lame server's answer must echo the zone in its
// question section.
func checkDig(t *testing.T, command string, f notifyMsgFinding) {
	t.Helper()
	args := filepath.Join(t.TempDir(), "args")
	cmd := exec.Command("/bin/sh", "-c", `dig() { printf '%s\n' "$@" >"$DIG_ARGS"; command dig +time=1 +tries=1 "$@"; }
`+command)
	cmd.Env = append(os.Environ(), "DIG_ARGS="+args)
	out, _ := cmd.CombinedOutput() // dig fails when the server does not answer
	b, err := os.ReadFile(args)
	if err != nil {
		t.Errorf("%q: dig did not run: %v\n%s", command, err, out)
		return
	}
	if got, want := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n"), []string{"+norec", "@" + f.Server, f.Zone, "SOA"}; !slices.Equal(got, want) {
		t.Errorf("%q: dig got the arguments %q, want %q", command, got, want)
	}
	if f.Status == "lame" && !strings.Contains(string(out), "\n;"+f.Zone+"\t") {
		t.Errorf("%q: no question for %s in dig's output:\n%s", command, f.Zone, out)
	}
}

// newMail matches the messages of a Maildir that are not in before.
func newMail(before []mailMsg) func(mailMsg) bool {
	return func(m mailMsg) bool {
		return !slices.ContainsFunc(before, func(b mailMsg) bool { return b.path == m.path })
	}
}

// copyDB copies a database that no process has open (its WAL checkpointed
// on close) to path.
func copyDB(t *testing.T, db, path string) string {
	t.Helper()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(db + suffix)
		if suffix != "" && os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, path+suffix, string(b))
	}
	return path
}

// testNotifyRejected: with deliverability not checked, upref.lab's first
// contact, hostmaster@upref.lab, is refused by Postfix at RCPT (554
// 5.7.1: not a domain it takes mail for, and lamers may not relay); its
// finding goes to the next contact, postmaster@nic.lab, in the same run,
// and report says so.
func (l *lab) testNotifyRejected(t *testing.T, db string) {
	p := l.mail
	conf := l.notifyConfig(t, "notify-reject", false)
	const zone, server = "upref.lab.", addrUpref
	before, err := p.messages("postmaster@nic.lab")
	if err != nil {
		t.Fatal(err)
	}
	msgs := l.notifyRun(t, db, conf, "--send", "--zone", zone)
	var got []string
	for _, m := range msgs {
		var fs []string
		for _, f := range m.Findings {
			fs = append(fs, f.key())
		}
		got = append(got, fmt.Sprintf("%s %s %s %v", m.To, m.ContactSource, m.Result, fs))
	}
	finding := zone + " " + server
	want := []string{
		fmt.Sprintf("hostmaster@upref.lab hostmaster rejected [%s]", finding),
		fmt.Sprintf("postmaster@nic.lab postmaster sent [%s]", finding),
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("messages (-want +got):\n%s", d)
	}
	delivered := p.waitMessages(t, "postmaster@nic.lab", 1, newMail(before))
	if len(delivered) != 1 {
		t.Fatalf("postmaster@nic.lab got %d new messages, want 1", len(delivered))
	}
	checkNotifyMail(t, delivered[0], msgs[1])
	fs := l.notifyReport(t, db, "--zone", zone)
	i := slices.IndexFunc(fs, func(f notifiedFinding) bool { return f.Server == server })
	if i < 0 {
		t.Fatalf("report --zone %s: no finding for %s: %+v", zone, server, fs)
	}
	if f := fs[i]; f.Contact != "postmaster@nic.lab" || f.ContactSource != "postmaster" || f.LastNotified == nil || f.NeedsHuman {
		t.Errorf("%s %s: contact %q (%s), last_notified %v, needs_human %v; want postmaster@nic.lab (postmaster), a time, false",
			f.Zone, f.Server, f.Contact, f.ContactSource, f.LastNotified, f.NeedsHuman)
	}
}
