package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The lab's mail exchanger: a real Postfix, started once per suite inside
// the namespace, with its own configuration directory, queue and data
// directory under the work directory (never the host's /etc/postfix or
// queue). Its fixed settings are testdata/postfix/main.cf and master.cf;
// startPostfix adds the paths and the maps built from mailAddrs.
//
// It is mx.nic.lab (lab.zone), the MX of every lab domain lamers may mail,
// and it listens on addrMX only. That address is not in 127/8 because
// lamers counts loopback addresses as unusable for mail (docs/notify.md,
// "Deliverability"): with an MX on loopback every contact of the lab would
// be undeliverable. It exists only on the namespace's lo, like every lab
// address, so nothing reaches or leaves the host; and Postfix relays
// nothing: default_transport is the error transport.
//
// What Postfix does with each address is mailAddrs; any other address in a
// lab mail domain is rejected at RCPT with 550 5.1.1. The mail domain of
// the notifications' envelope sender, resolver.lab, is local to it: mail
// to bounceLocal+TOKEN@resolver.lab (recipient_delimiter "+") goes through
// the alias
//
//	lamers-bounces: "|WORK/postfix/pipe/deliver"
//
// to testdata/postfix/deliver.sh, which records every delivery and then
// runs the command a stage chose (setPipeCommand), for the bounce stage
// "lamers bounce" on its database.
//
// local(8) runs a pipe alias as the owner of the alias database, or as
// default_privs when root owns it; the suite builds the alias database as
// root, so the command runs as nobody (mailUser), and so does virtual(8)
// for the Maildirs. Whatever the command writes (a database and its
// directory) must be made writable by that user: giveToMailUser. For the
// same reason the work directory is made traversable (0711, no listing) by
// others. local(8) writes a "From SENDER DATE" line before the message it
// pipes (readMessage skips it).
//
// lamers talks to it with smtp_host = addrMX, smtp_port = 25, smtp_tls =
// "none" (it offers no STARTTLS) and bounce_address = bounceLocal@
// bounceDomain. It is started before the resolvers and runs until the end
// of the suite; its log is maillog, printed by logOnFailure and by the
// waits when they time out.
type postfix struct {
	dir     string // WORK/postfix
	conf    string // config_directory
	queue   string // queue_directory
	maillog string // maillog_file (postlogd)
	mail    string // Maildirs: mail/DOMAIN/LOCAL/
	pipe    string // deliver, command and recorded/
	uid     int    // mailUser, for deliveries and the pipe's command
	gid     int
	master  *proc
}

// Names of the lab's mail system.
const (
	mailHost     = "mx.nic.lab"     // Postfix's myhostname, the lab's MX
	bounceDomain = "resolver.lab"   // the notification sender's domain, local to Postfix
	bounceLocal  = "lamers-bounces" // bounceLocal@bounceDomain is the pipe alias
	mailUser     = "nobody"         // Postfix's default_privs and the Maildirs' owner
)

// mailRoute is what Postfix does with mail to one address.
type mailRoute int

const (
	// toMailbox: delivered to its Maildir (virtual(8), or local(8) in
	// bounceDomain).
	toMailbox mailRoute = iota
	// toBounce: accepted at RCPT, then returned by Postfix itself: a DSN
	// with Action: failed, Status: 5.1.1 to the envelope sender (error
	// transport).
	toBounce
	// toDelay: accepted at RCPT, then deferred again and again: a DSN with
	// Action: delayed, Status: 4.2.1 to the envelope sender after
	// delay_warning_time (1 s; retry transport).
	toDelay
	// toTempfail: 450 4.2.1 at RCPT (retry transport on a mailbox, not
	// listed in virtual_alias_maps).
	toTempfail
)

// mailAddrs are the addresses the lab's Postfix knows. The lab's zones
// make the first ones what notify's contact chain finds (docs/notify.md
// §2); mailDNS lists what DNS says about each mail domain.
var mailAddrs = []struct {
	addr  string
	route mailRoute
}{
	// The SOA RNAME of rname.lab (first\.last.rname.lab.): first in the
	// chain of the rname.lab finding.
	{"first.last@rname.lab", toMailbox},
	// hostmaster@rname.lab (RFC 2142), second in that chain: exists in DNS,
	// gone at the MTA. A stage reaches it by suppressing the first.
	{"hostmaster@rname.lab", toBounce},
	// postmaster@ the registered domain of every ns-*.nic.lab server: the
	// contact of the findings whose zone has no usable RNAME or hostmaster.
	{"postmaster@nic.lab", toMailbox},
	// The harness's own (testPostfix); stages may use them through
	// [[notify.override]].
	{"probe@nic.lab", toMailbox},
	{"probe@" + bounceDomain, toMailbox},
	{"gone@nic.lab", toBounce},
	{"slow@nic.lab", toDelay},
	{"busy@nic.lab", toTempfail},
	// The operator (digest.to) and the postmaster of the sender's domain.
	{"operator@" + bounceDomain, toMailbox},
	{"postmaster@" + bounceDomain, toMailbox},
}

// mailDNS is what the lab's zones say about the mail domains, checked by
// testPostfix: the domains of mailAddrs have an MX pointing at mailHost;
// two more make a contact undeliverable (docs/notify.md, Deliverability).
var mailDNS = []struct {
	domain, server string // the domain, and its authoritative server
	mx             string // its MX RDATA, "" for none
}{
	{"nic.lab", addrTLD, "10 " + mailHost + "."},
	{bounceDomain, addrTLD, "10 " + mailHost + "."},
	{"rname.lab", addrGood1, "10 " + mailHost + "."},
	// null MX (RFC 7505): postmaster@root-servers.lab (for otherauth.lab)
	{"root-servers.lab", addrTLD, "0 ."},
	// no MX and no A: hostmaster@halflame.lab, its RNAME too
	{"halflame.lab", addrGood1, ""},
}

// Texts of the error and retry transports (transport(5)), as Postfix
// reports them in the DSN's Diagnostic-Code and at RCPT.
const (
	bounceText = "5.1.1 mailbox unavailable (lab address that bounces)"
	delayText  = "4.2.1 mailbox busy (lab address that defers)"
)

// startPostfix writes the configuration and maps, lets "postfix check"
// create the queue, and starts the master in the foreground (what
// "postfix start-fg" runs) as a daemon of the suite: it carries
// PR_SET_PDEATHSIG like the others and is stopped by its PID, its children
// with it (SIGTERM, which "postfix stop" sends too; then SIGKILL by PID).
func (l *lab) startPostfix(t *testing.T) *postfix {
	t.Helper()
	nobody, err := user.Lookup(mailUser)
	if err != nil {
		t.Fatalf("postfix: %v", err)
	}
	owner, err := user.Lookup("postfix") // mail_owner
	if err != nil {
		t.Fatalf("postfix: %v (the postfix package creates the user; install: %s)", err, installCmd)
	}
	p := &postfix{dir: l.mkdir(t, "postfix")}
	p.uid, _ = strconv.Atoi(nobody.Uid)
	p.gid, _ = strconv.Atoi(nobody.Gid)
	ownerUID, _ := strconv.Atoi(owner.Uid)
	p.conf, p.queue = filepath.Join(p.dir, "etc"), filepath.Join(p.dir, "spool")
	p.mail, p.pipe = filepath.Join(p.dir, "mail"), filepath.Join(p.dir, "pipe")
	p.maillog = filepath.Join(p.dir, "maillog")
	data := filepath.Join(p.dir, "data")
	if err := os.Chmod(l.dir, 0o711); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{p.conf, p.queue, data, p.mail, filepath.Join(p.pipe, "recorded")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(data, ownerUID, -1); err != nil {
		t.Fatal(err)
	}
	p.giveToMailUser(t, p.mail, filepath.Join(p.pipe, "recorded"))
	src := filepath.Join(l.tdata, "postfix")
	for _, f := range []string{"master.cf", "bounce.cf"} {
		copyFile(t, filepath.Join(src, f), filepath.Join(p.conf, f), 0o644)
	}
	copyFile(t, filepath.Join(src, "deliver.sh"), filepath.Join(p.pipe, "deliver"), 0o755)
	p.writeMaps(t, src)

	start := time.Now()
	run(t, "postfix", "-c", p.conf, "check")
	daemonDir := strings.TrimSpace(run(t, "postconf", "-c", p.conf, "-h", "daemon_directory"))
	p.master = l.startDaemon(t, "postfix-master", p.dir, filepath.Join(daemonDir, "master"), "-c", p.conf, "-s")
	waitFor(t, p.master, "postfix SMTP banner", func() bool {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(addrMX, "25"), 200*time.Millisecond)
		if err != nil {
			return false
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(time.Second))
		line, _ := bufio.NewReader(c).ReadString('\n')
		return strings.HasPrefix(line, "220 ")
	})
	t.Logf("postfix: checked, started and answering in %.2fs", time.Since(start).Seconds())
	return p
}

// writeMaps writes main.cf (testdata's, then the suite's settings), the
// maps built from mailAddrs, and the aliases, and indexes them.
func (p *postfix) writeMaps(t *testing.T, src string) {
	t.Helper()
	base, err := os.ReadFile(filepath.Join(src, "main.cf"))
	if err != nil {
		t.Fatal(err)
	}
	var mailboxes, aliases, transport, virtual strings.Builder
	var domains []string
	fmt.Fprintf(&aliases, "%s: \"|%s\"\n", bounceLocal, filepath.Join(p.pipe, "deliver"))
	for _, a := range mailAddrs {
		local, domain, _ := strings.Cut(a.addr, "@")
		if domain == bounceDomain {
			if a.route != toMailbox {
				t.Fatalf("postfix: %s: only mailboxes in %s (local(8) aliases)", a.addr, bounceDomain)
			}
			// local(8) delivers to a path ending in "/" as a Maildir
			fmt.Fprintf(&aliases, "%s: %s/\n", local, p.maildir(a.addr))
			continue
		}
		if !slices.Contains(domains, domain) {
			domains = append(domains, domain)
		}
		switch a.route {
		case toMailbox, toTempfail:
			// toTempfail: a mailbox, but smtpd answers with the retry
			// transport's text at RCPT (check_rcpt_maps in Postfix's
			// smtpd_check.c)
			fmt.Fprintf(&mailboxes, "%s %s/%s/\n", a.addr, domain, local)
		case toBounce, toDelay:
			// Listed in virtual_alias_maps (as itself): smtpd takes such an
			// address as known before it looks at its transport
			// (check_rcpt_maps), so it accepts the mail that the error or
			// retry transport then bounces or defers. Without the alias,
			// smtpd would answer 550 or 450 at RCPT.
			fmt.Fprintf(&virtual, "%s %s\n", a.addr, a.addr)
		}
		switch a.route {
		case toBounce:
			fmt.Fprintf(&transport, "%s error:%s\n", a.addr, bounceText)
		case toDelay, toTempfail:
			fmt.Fprintf(&transport, "%s retry:%s\n", a.addr, delayText)
		}
	}
	cf := func(name string) string { return "hash:" + filepath.Join(p.conf, name) }
	main := "\n# written by e2e/postfix_test.go\n"
	for _, kv := range [][2]string{
		{"queue_directory", p.queue},
		{"data_directory", filepath.Join(p.dir, "data")},
		{"inet_interfaces", addrMX},
		{"maillog_file", p.maillog},
		{"maillog_file_prefixes", p.dir},
		{"alias_maps", cf("aliases")},
		{"alias_database", cf("aliases")},
		{"virtual_mailbox_domains", strings.Join(domains, " ")},
		{"virtual_mailbox_base", p.mail},
		{"virtual_mailbox_maps", cf("vmailbox")},
		{"virtual_alias_maps", cf("virtual")},
		{"transport_maps", cf("transport")},
		{"virtual_uid_maps", fmt.Sprintf("static:%d", p.uid)},
		{"virtual_gid_maps", fmt.Sprintf("static:%d", p.gid)},
		{"bounce_template_file", filepath.Join(p.conf, "bounce.cf")},
	} {
		main += kv[0] + " = " + kv[1] + "\n"
	}
	for name, content := range map[string]string{"main.cf": string(base) + main, "vmailbox": mailboxes.String(),
		"virtual": virtual.String(), "transport": transport.String(), "aliases": aliases.String()} {
		writeFile(t, filepath.Join(p.conf, name), content)
	}
	for _, m := range []string{"vmailbox", "virtual", "transport"} {
		run(t, "postmap", "-c", p.conf, filepath.Join(p.conf, m))
	}
	run(t, "postalias", "-c", p.conf, filepath.Join(p.conf, "aliases"))
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err == nil {
		err = os.WriteFile(to, b, mode)
	}
	if err == nil {
		err = os.Chmod(to, mode) // WriteFile keeps the mode of an existing file
	}
	if err != nil {
		t.Fatal(err)
	}
}

// giveToMailUser makes paths belong to mailUser, the user Postfix's
// deliveries and the pipe's command run as.
func (p *postfix) giveToMailUser(t *testing.T, paths ...string) {
	t.Helper()
	for _, path := range paths {
		if err := os.Chown(path, p.uid, p.gid); err != nil {
			t.Fatal(err)
		}
	}
}

// setPipeCommand makes the alias run argv (as mailUser) on each message
// after recording it; no argv: record only. The command's exit code is
// the delivery's: 0 delivered, 75 try again later, others bounce.
func (p *postfix) setPipeCommand(t *testing.T, argv ...string) {
	t.Helper()
	cmd := filepath.Join(p.pipe, "command")
	if len(argv) == 0 {
		if err := os.Remove(cmd); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		return
	}
	var b strings.Builder
	b.WriteString("#!/bin/sh\nexec")
	for _, a := range argv {
		b.WriteString(" '" + strings.ReplaceAll(a, "'", `'\''`) + "'")
	}
	b.WriteString("\n")
	// written aside and renamed: a delivery never runs half a script
	tmp := cmd + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, cmd); err != nil {
		t.Fatal(err)
	}
}

// maildir is the Maildir of addr, one of mailAddrs with toMailbox.
func (p *postfix) maildir(addr string) string {
	local, domain, _ := strings.Cut(addr, "@")
	return filepath.Join(p.mail, domain, local)
}

// mailMsg is one message as Postfix delivered it.
type mailMsg struct {
	path   string
	header mail.Header
	body   []byte
}

// readMessage parses a delivered message with net/mail. A leading "From
// SENDER DATE" line, which local(8) writes before a message it pipes to a
// command, is skipped.
func readMessage(path string) (mailMsg, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return mailMsg{}, err
	}
	if bytes.HasPrefix(b, []byte("From ")) {
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	m, err := mail.ReadMessage(bytes.NewReader(b))
	if err != nil {
		return mailMsg{}, fmt.Errorf("%s: %w", path, err)
	}
	body, err := io.ReadAll(m.Body)
	if err != nil {
		return mailMsg{}, fmt.Errorf("%s: %w", path, err)
	}
	return mailMsg{path, m.Header, body}, nil
}

// messages returns the messages in addr's Maildir, new/ and cur/, in the
// order they were delivered.
func (p *postfix) messages(addr string) ([]mailMsg, error) {
	type file struct {
		path string
		mod  time.Time
	}
	var files []file
	for _, sub := range []string{"new", "cur"} {
		ents, err := os.ReadDir(filepath.Join(p.maildir(addr), sub))
		if errors.Is(err, os.ErrNotExist) {
			continue // virtual(8) makes the Maildir at the first delivery
		}
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			fi, err := e.Info()
			if err != nil {
				return nil, err
			}
			files = append(files, file{filepath.Join(p.maildir(addr), sub, e.Name()), fi.ModTime()})
		}
	}
	slices.SortFunc(files, func(a, b file) int {
		if c := a.mod.Compare(b.mod); c != 0 {
			return c
		}
		return strings.Compare(a.path, b.path)
	})
	var msgs []mailMsg
	for _, f := range files {
		m, err := readMessage(f.path)
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, m)
	}
	return msgs, nil
}

// pipeRecording is one delivery through the alias, as deliver recorded it.
type pipeRecording struct {
	dir     string
	env     map[string]string // ORIGINAL_RECIPIENT, RECIPIENT, EXTENSION, SENDER, …
	message mailMsg
	status  int    // the command's exit code (0 without a command)
	output  string // the command's standard output and error
}

// recordings returns the complete recordings of the pipe, oldest first.
func (p *postfix) recordings() ([]pipeRecording, error) {
	dir := filepath.Join(p.pipe, "recorded")
	ents, err := os.ReadDir(dir) // sorted by name: NANOSECONDS.XXXXXX
	if err != nil {
		return nil, err
	}
	var recs []pipeRecording
	for _, e := range ents {
		r := pipeRecording{dir: filepath.Join(dir, e.Name()), env: map[string]string{}}
		st, err := os.ReadFile(filepath.Join(r.dir, "status"))
		if errors.Is(err, os.ErrNotExist) {
			continue // still being delivered
		}
		if err != nil {
			return nil, err
		}
		if r.status, err = strconv.Atoi(strings.TrimSpace(string(st))); err != nil {
			return nil, fmt.Errorf("%s/status: %w", r.dir, err)
		}
		env, err := os.ReadFile(filepath.Join(r.dir, "env"))
		if err != nil {
			return nil, err
		}
		for kv := range strings.SplitSeq(strings.TrimSuffix(string(env), "\x00"), "\x00") {
			k, v, _ := strings.Cut(kv, "=")
			r.env[k] = v
		}
		if r.message, err = readMessage(filepath.Join(r.dir, "message")); err != nil {
			return nil, err
		}
		out, _ := os.ReadFile(filepath.Join(r.dir, "output")) // absent without a command
		r.output = string(out)
		recs = append(recs, r)
	}
	return recs, nil
}

// mailWait is how long a stage waits for Postfix to deliver: a delivery
// takes milliseconds, a "delayed" DSN about delay_warning_time (1 s).
const mailWait = 20 * time.Second

// waitMessages waits until at least n messages in addr's Maildir satisfy
// match (nil: any) and returns those that do.
func (p *postfix) waitMessages(t *testing.T, addr string, n int, match func(mailMsg) bool) []mailMsg {
	t.Helper()
	return waitMail(t, p, fmt.Sprintf("%d message(s) for %s", n, addr), n, match,
		func() ([]mailMsg, error) { return p.messages(addr) })
}

// waitRecordings waits until at least n complete recordings of the pipe
// satisfy match (nil: any) and returns those that do.
func (p *postfix) waitRecordings(t *testing.T, n int, match func(pipeRecording) bool) []pipeRecording {
	t.Helper()
	return waitMail(t, p, fmt.Sprintf("%d delivery(ies) through the %s pipe", n, bounceLocal), n, match, p.recordings)
}

// waitMail polls list every 50 ms until n of its elements satisfy match,
// for at most mailWait; it fails with Postfix's log and queue otherwise.
func waitMail[T any](t *testing.T, p *postfix, what string, n int, match func(T) bool, list func() ([]T, error)) []T {
	t.Helper()
	deadline := time.Now().Add(mailWait)
	for {
		all, err := list()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		got := slices.DeleteFunc(all, func(x T) bool { return match != nil && !match(x) })
		if len(got) >= n {
			return got
		}
		if p.master.exited() {
			t.Fatalf("%s: the Postfix master exited (%v)\n%s", what, p.master.err, p.diagnostics())
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d after %v\n%s", what, len(got), mailWait, p.diagnostics())
		}
		time.Sleep(50 * time.Millisecond) // polling the Maildir or the recordings
	}
}

// diagnostics is the end of Postfix's log and its queue, for failures.
func (p *postfix) diagnostics() string {
	q, err := exec.Command("postqueue", "-c", p.conf, "-p").CombinedOutput()
	if err != nil {
		q = fmt.Appendf(q, "(postqueue -p: %v)", err)
	}
	return fmt.Sprintf("postfix log (%s):\n%s\npostfix queue:\n%s", p.maillog, fileTail(p.maillog, 40), q)
}

// logOnFailure prints Postfix's log and queue at the end of t if it failed.
func (p *postfix) logOnFailure(t *testing.T) {
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(p.diagnostics())
		}
	})
}
