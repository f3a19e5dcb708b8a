package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testPostfix proves the mail harness without lamers: the zones route the
// mail domains as mailDNS says, and Postfix does with each kind of address
// what mailAddrs says, through SMTP from this process.
func (l *lab) testPostfix(t *testing.T) {
	p := l.mail
	p.logOnFailure(t)
	t.Run("dns", testMailDNS)
	// Delivered: by virtual(8) in a lab mail domain, by local(8) through
	// an alias in the sender's domain.
	for _, c := range []struct{ rcpt, token string }{
		{"probe@nic.lab", "mailboxvirtualabcdef"},
		{"probe@" + bounceDomain, "mailboxlocalabcdefgh"},
	} {
		t.Run("mailbox-"+c.rcpt, func(t *testing.T) {
			id := sendMail(t, c.rcpt, c.token, false)
			m := p.waitMessages(t, c.rcpt, 1, func(m mailMsg) bool { return m.header.Get("Message-Id") == id })[0]
			if got := m.header.Get("Delivered-To"); got != c.rcpt {
				t.Errorf("Delivered-To: %q, want %s", got, c.rcpt)
			}
			if got, want := m.header.Get("Return-Path"), "<"+verpSender(c.token)+">"; got != want {
				t.Errorf("Return-Path: %q, want %q", got, want)
			}
			if !bytes.Contains(m.body, []byte("case "+c.token)) {
				t.Errorf("body: %q", m.body)
			}
		})
	}
	// Refused at RCPT: Postfix answers before it takes the message.
	for _, c := range []struct {
		name, rcpt     string
		fromMynetworks bool
		code           int
		status         string // enhanced status code (RFC 3463)
	}{
		// in a lab mail domain but in no map
		{"unknown-user", "nobody-here@nic.lab", false, 550, "5.1.1"},
		// a mailbox whose transport is the retry transport
		{"tempfail", "busy@nic.lab", false, 450, "4.2.1"},
		// a stranger may not relay
		{"relay-denied", "someone@example.com", false, 554, "5.7.1"},
		// mynetworks may relay, but outside the lab is the error
		// transport, which smtpd refuses at once: nothing leaves
		{"outside", "someone@example.com", true, 550, "5.1.1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, msg := rcptReply(t, c.fromMynetworks, verpSender("rejectedabcdefghijkl"), c.rcpt)
			if code != c.code || !strings.HasPrefix(msg, c.status+" ") {
				t.Errorf("RCPT TO:<%s>: %d %s, want %d %s", c.rcpt, code, msg, c.code, c.status)
			}
		})
	}
	// Accepted, then returned by Postfix through the pipe: the error
	// transport's DSN, and the retry transport's delay notice.
	for _, c := range []struct {
		name, token, rcpt string
		utf8              bool   // MAIL FROM with SMTPUTF8 (RFC 6531)
		statusType        string // of the DSN's second part
		action, status    string
		returned          string // type of the third part
		diagnostic        string // in Diagnostic-Code
	}{
		{"bounce", "abcdefghijklmnopqrst", "gone@nic.lab", false, "message/delivery-status",
			"failed", "5.1.1", "message/rfc822", strings.TrimPrefix(bounceText, "5.1.1 ")},
		// Postfix answers SMTPUTF8 mail with RFC 6533's global types.
		{"bounce-smtputf8", "smtputfbounceabcdefg", "gone@nic.lab", true, "message/global-delivery-status",
			"failed", "5.1.1", "message/global", strings.TrimPrefix(bounceText, "5.1.1 ")},
		{"delay", "delayabcdefghijklmno", "slow@nic.lab", false, "message/delivery-status",
			"delayed", "4.2.1", "text/rfc822-headers", strings.TrimPrefix(delayText, "4.2.1 ")},
	} {
		t.Run(c.name, func(t *testing.T) {
			id := sendMail(t, c.rcpt, c.token, c.utf8)
			recs := p.waitRecordings(t, 1, func(r pipeRecording) bool { return r.env["EXTENSION"] == c.token })
			r := recs[0]
			to := verpSender(c.token)
			for k, want := range map[string]string{"ORIGINAL_RECIPIENT": to, "RECIPIENT": to, "SENDER": ""} {
				if got, ok := r.env[k]; !ok || got != want {
					t.Errorf("pipe environment %s=%q (set: %v), want %q", k, got, ok, want)
				}
			}
			if r.status != 0 {
				t.Errorf("pipe exit status %d", r.status)
			}
			d, err := parseDSN(r.message)
			if err != nil {
				t.Fatalf("%s: %v", r.dir, err)
			}
			if d.reportType != "delivery-status" || d.statusType != c.statusType || d.returned != c.returned {
				t.Errorf("%s: report-type %q, parts %q and %q; want delivery-status, %q and %q",
					r.dir, d.reportType, d.statusType, d.returned, c.statusType, c.returned)
			}
			if got, want := d.perMessage.Get("Reporting-MTA"), "dns; "+mailHost; got != want {
				t.Errorf("%s: Reporting-MTA: %q, want %q", r.dir, got, want)
			}
			if len(d.recipients) != 1 {
				t.Fatalf("%s: %d recipient blocks, want 1", r.dir, len(d.recipients))
			}
			rcpt := d.recipients[0]
			for k, want := range map[string]string{"Final-Recipient": "rfc822; " + c.rcpt, "Action": c.action,
				"Status": c.status, "Diagnostic-Code": "X-Postfix; " + c.diagnostic} {
				if got := rcpt.Get(k); got != want {
					t.Errorf("%s: %s: %q, want %q", r.dir, k, got, want)
				}
			}
			if got := d.returnedHeader.Get("Message-Id"); got != id {
				t.Errorf("%s: returned Message-ID %q, want %q", r.dir, got, id)
			}
		})
	}
	// A command on the pipe, as the bounce stage runs "lamers bounce": it
	// runs as mailUser on what deliver recorded, and its exit code is the
	// delivery's. Exit 75 (EX_TEMPFAIL) the first time makes Postfix keep
	// the DSN and deliver it again a second later.
	t.Run("pipe-command", func(t *testing.T) {
		state := filepath.Join(p.dir, "pipe-command-test")
		if err := os.Mkdir(state, 0o755); err != nil {
			t.Fatal(err)
		}
		p.giveToMailUser(t, state)
		p.setPipeCommand(t, "/bin/sh", "-c", `grep '^Final-Recipient:'; echo "to $ORIGINAL_RECIPIENT as $(id -un)"
test -e "$0/tempfailed" && exit 0
: >"$0/tempfailed" && exit 75`, state)
		t.Cleanup(func() { p.setPipeCommand(t) })
		const token = "pipecommandabcdefghi"
		sendMail(t, "gone@nic.lab", token, false)
		recs := p.waitRecordings(t, 2, func(r pipeRecording) bool { return r.env["EXTENSION"] == token })
		if len(recs) != 2 {
			t.Fatalf("%d deliveries of the DSN, want 2", len(recs))
		}
		want := "Final-Recipient: rfc822; gone@nic.lab\nto " + verpSender(token) + " as " + mailUser + "\n"
		for i, r := range recs {
			if wantStatus := []int{75, 0}[i]; r.status != wantStatus || r.output != want {
				t.Errorf("%s: exit status %d, output %q; want %d, %q", r.dir, r.status, r.output, wantStatus, want)
			}
		}
	})
}

// testMailDNS checks the lab's zones against mailDNS: each mail domain's
// authoritative server gives its MX (or none, and no A), and the exchanger
// has the address Postfix listens on.
func testMailDNS(t *testing.T) {
	for _, d := range mailDNS {
		mx := digShort(t, d.server, d.domain, "MX")
		if want := []string{d.mx}; d.mx == "" && len(mx) != 0 || d.mx != "" && !equalStrings(mx, want) {
			t.Errorf("%s MX @%s: %q, want %q", d.domain, d.server, mx, d.mx)
		}
		if d.mx == "" {
			if a := digShort(t, d.server, d.domain, "A"); len(a) != 0 {
				t.Errorf("%s A @%s: %q, want none", d.domain, d.server, a)
			}
		}
	}
	if a := digShort(t, addrTLD, mailHost, "A"); !equalStrings(a, []string{addrMX}) {
		t.Errorf("%s A @%s: %q, want %s", mailHost, addrTLD, a, addrMX)
	}
}

func equalStrings(a, b []string) bool { return strings.Join(a, "\n") == strings.Join(b, "\n") }

// digShort asks server for name/qtype with RD=0 and returns the answer's
// RDATA; it fails unless the answer is authoritative.
func digShort(t *testing.T, server, name, qtype string) []string {
	t.Helper()
	out, err := exec.Command("dig", "+norec", "+time=2", "+tries=1", "+noall", "+comments", "+answer",
		"@"+server, name, qtype).CombinedOutput()
	if err != nil {
		t.Fatalf("dig @%s %s %s: %v\n%s", server, name, qtype, err, out)
	}
	if !strings.Contains(string(out), "status: NOERROR") || !strings.Contains(string(out), " aa") {
		t.Fatalf("dig @%s %s %s: not an authoritative NOERROR answer:\n%s", server, name, qtype, out)
	}
	var rdata []string
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) >= 5 && !strings.HasPrefix(f[0], ";") && f[3] == qtype {
			rdata = append(rdata, strings.Join(f[4:], " "))
		}
	}
	return rdata
}

// verpSender is the envelope sender notify uses for token (docs/notify.md
// §4): bounceLocal+TOKEN@bounceDomain.
func verpSender(token string) string { return bounceLocal + "+" + token + "@" + bounceDomain }

// dialMX opens an SMTP session with the lab's Postfix. The client's
// address is addrMX itself (the kernel's choice on lo), a stranger to
// Postfix like lamers; with fromMynetworks it is 127.0.0.1, in mynetworks,
// which Postfix lets relay.
func dialMX(t *testing.T, fromMynetworks bool) *smtp.Client {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second}
	if fromMynetworks {
		d.LocalAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}
	}
	conn, err := d.Dial("tcp", net.JoinHostPort(addrMX, "25"))
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	c, err := smtp.NewClient(conn, addrMX)
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Hello("e2e." + bounceDomain); err != nil {
		t.Fatal(err)
	}
	return c
}

// mailFrom sends MAIL FROM, with SMTPUTF8 only when utf8 is set (net/smtp's
// Mail adds it whenever the server offers it).
func mailFrom(t *testing.T, c *smtp.Client, from string, utf8 bool) {
	t.Helper()
	if utf8 {
		if err := c.Mail(from); err != nil {
			t.Fatalf("MAIL FROM:<%s>: %v", from, err)
		}
		return
	}
	id, err := c.Text.Cmd("MAIL FROM:<%s>", from)
	if err == nil {
		c.Text.StartResponse(id)
		_, _, err = c.Text.ReadResponse(250)
		c.Text.EndResponse(id)
	}
	if err != nil {
		t.Fatalf("MAIL FROM:<%s>: %v", from, err)
	}
}

// sendMail sends a short message to rcpt with the envelope sender
// verpSender(token) and returns its Message-ID; utf8 is mailFrom's.
func sendMail(t *testing.T, rcpt, token string, utf8 bool) string {
	t.Helper()
	c := dialMX(t, false)
	mailFrom(t, c, verpSender(token), utf8)
	if err := c.Rcpt(rcpt); err != nil {
		t.Fatalf("RCPT TO:<%s>: %v", rcpt, err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatalf("DATA: %v", err)
	}
	id := "<e2e." + token + "@" + bounceDomain + ">"
	fmt.Fprintf(w, "From: lamers e2e <dns-health@%s>\r\nTo: <%s>\r\nSubject: lab mail, case %s\r\n"+
		"Date: %s\r\nMessage-ID: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"+
		"case %[3]s\r\n", bounceDomain, rcpt, token, time.Now().Format(time.RFC1123Z), id)
	if err := w.Close(); err != nil {
		t.Fatalf("end of DATA: %v", err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	return id
}

// rcptReply returns Postfix's reply to RCPT TO:<rcpt>, which must not
// accept it; fromMynetworks is dialMX's.
func rcptReply(t *testing.T, fromMynetworks bool, from, rcpt string) (int, string) {
	t.Helper()
	c := dialMX(t, fromMynetworks)
	mailFrom(t, c, from, false)
	err := c.Rcpt(rcpt)
	var te *textproto.Error
	if !errors.As(err, &te) {
		t.Fatalf("RCPT TO:<%s>: %v, want a rejection", rcpt, err)
	}
	return te.Code, te.Msg
}

// dsn is what a delivery status notification (RFC 3464, or RFC 6533's
// global form) carries.
type dsn struct {
	reportType     string // report-type of the multipart/report
	statusType     string // type of the second part
	perMessage     textproto.MIMEHeader
	recipients     []textproto.MIMEHeader
	returned       string      // type of the third part
	returnedHeader mail.Header // header of the returned message
}

// parseDSN reads m as multipart/report: a human-readable part, the
// delivery status (per-message fields, then one block per recipient), and
// the returned message or its header.
func parseDSN(m mailMsg) (dsn, error) {
	var d dsn
	mt, params, err := mime.ParseMediaType(m.header.Get("Content-Type"))
	if err != nil {
		return d, err
	}
	if mt != "multipart/report" {
		return d, fmt.Errorf("content type %s, want multipart/report", mt)
	}
	d.reportType = params["report-type"]
	mr := multipart.NewReader(bytes.NewReader(m.body), params["boundary"])
	for i := 0; ; i++ {
		part, err := mr.NextRawPart()
		if err == io.EOF {
			if i != 3 {
				return d, fmt.Errorf("%d parts, want 3", i)
			}
			return d, nil
		}
		if err != nil {
			return d, err
		}
		pt, _, err := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if err != nil {
			return d, fmt.Errorf("part %d: %w", i+1, err)
		}
		switch i {
		case 1:
			d.statusType = pt
			r := textproto.NewReader(bufio.NewReader(part))
			if d.perMessage, err = r.ReadMIMEHeader(); err != nil {
				return d, fmt.Errorf("per-message fields: %w", err)
			}
			for {
				h, err := r.ReadMIMEHeader()
				if len(h) > 0 {
					d.recipients = append(d.recipients, h)
				}
				if err == io.EOF {
					break
				}
				if err != nil {
					return d, fmt.Errorf("per-recipient fields: %w", err)
				}
			}
		case 2:
			d.returned = pt
			rm, err := mail.ReadMessage(part)
			if err != nil {
				return d, fmt.Errorf("returned message: %w", err)
			}
			d.returnedHeader = rm.Header
		}
	}
}
