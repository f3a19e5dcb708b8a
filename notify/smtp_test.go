package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
	"github.com/google/go-cmp/cmp"

	"github.com/lamers-dev/lamers/notify/smtptest"
)

// relayConfig is an SMTPConfig for the test relay srv with policy,
// short timeouts and the relay's certificate trusted.
func relayConfig(srv *smtptest.Server, policy TLSPolicy) SMTPConfig {
	return SMTPConfig{Host: srv.Host, Port: srv.Port, TLS: policy, HELO: "lamers.test",
		ConnectTimeout: 5 * time.Second, CommandTimeout: 5 * time.Second, TLSConfig: srv.ClientTLS()}
}

// openSMTP opens an SMTP transport on cfg and closes it when t ends.
func openSMTP(t testing.TB, cfg SMTPConfig) *SMTP {
	t.Helper()
	tr, err := NewSMTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close(context.Background()) })
	return tr
}

// letterTo composes the golden message for the recipient to.
func letterTo(t testing.TB, w *LetterWriter, to string) *Letter {
	t.Helper()
	d := goldenMessage()
	d.To, d.Token = to, mustToken(t)
	l, err := w.Compose(d)
	if err != nil {
		t.Fatal(err)
	}
	return &l
}

// wantDelivery compares the parts of a Delivery a test cares about.
func wantDelivery(t *testing.T, what string, got Delivery, res Result, code int, enhanced string) {
	t.Helper()
	if got.Result != res || got.Code != code || got.Enhanced != enhanced {
		t.Errorf("%s: %v %d %q (%q, err %v), want %v %d %q", what, got.Result, got.Code, got.Enhanced, got.Detail, got.Err, res, code, enhanced)
	}
	if strings.ContainsAny(got.Detail, "\r\n\x00") || len(got.Detail) > maxDetail {
		t.Errorf("%s: detail is not one short line: %q", what, got.Detail)
	}
}

// TestSMTPSend: three letters on one connection with STARTTLS; the relay
// gets the VERP sender, the recipient, the DSN parameters, every header
// and a multipart/alternative body whose parts are the letter's.
func TestSMTPSend(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.StartTLS, DSN: true})
	tr := openSMTP(t, relayConfig(srv, TLSMandatory))
	w := newTestWriter(t, "", testSettings)
	var letters []*Letter
	for _, to := range []string{"hostmaster@example.com", "dns-admin@example.org", "postmaster@hoster.example"} {
		l := letterTo(t, w, to)
		letters = append(letters, l)
		d := tr.Send(context.Background(), l)
		wantDelivery(t, to, d, ResultSent, 250, "2.0.0")
		if d.Err != nil || d.Detail == "" {
			t.Errorf("%s: err %v, detail %q", to, d.Err, d.Detail)
		}
	}
	if err := tr.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	txs := srv.Accepted()
	if len(txs) != 3 {
		t.Fatalf("%d messages accepted, want 3", len(txs))
	}
	if conns, _, _ := srv.Counts(); conns != 1 {
		t.Errorf("%d connections, want 1", conns)
	}
	transcript := srv.Transcript()
	for _, l := range letters {
		for _, line := range []string{
			"MAIL FROM:<" + l.EnvelopeFrom + "> BODY=8BITMIME RET=HDRS\r\n",
			"RCPT TO:<" + l.To + "> NOTIFY=FAILURE,DELAY\r\n",
		} {
			if !strings.Contains(transcript, "\n"+line) {
				t.Errorf("the relay did not get %q", line)
			}
		}
	}
	if n := strings.Count(transcript, "\nRSET\r\n"); n != 3 {
		t.Errorf("%d RSET, want 3 (one after each message)", n)
	}
	if !strings.Contains(transcript, "\nQUIT\r\n") {
		t.Error("no QUIT")
	}
	for i, tx := range txs {
		l := letters[i]
		if !tx.TLS || tx.From != l.EnvelopeFrom || !cmp.Equal(tx.Rcpt, []string{l.To}) || tx.Ret != "HDRS" ||
			!cmp.Equal(tx.Notify, [][]string{{"FAILURE", "DELAY"}}) {
			t.Errorf("envelope %d: TLS %v, MAIL FROM %q RET %q, RCPT %q NOTIFY %q", i, tx.TLS, tx.From, tx.Ret, tx.Rcpt, tx.Notify)
		}
		checkReceived(t, tx.Data, l)
	}
}

// checkReceived parses a message as the relay got it and compares every
// header and both parts with the letter.
func checkReceived(t *testing.T, data []byte, l *Letter) {
	t.Helper()
	m := readMessage(t, data)
	checkHeaderNames(t, m.Header)
	want := map[string]string{
		"From":             l.From,
		"Reply-To":         l.ReplyTo,
		"To":               "<" + l.To + ">",
		"Subject":          l.Subject,
		"Date":             l.Date.Format(time.RFC1123Z),
		"Message-Id":       l.MessageID,
		"Auto-Submitted":   "auto-generated",
		"Precedence":       "bulk",
		"List-Unsubscribe": l.ListUnsubscribe,
		"X-Lamers-Token":   l.Token,
		"Mime-Version":     "1.0",
	}
	for k, v := range want {
		if got := decodeHeader(t, m.Header.Get(k)); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q: %v", m.Header.Get("Content-Type"), err)
	}
	r := multipart.NewReader(m.Body, params["boundary"])
	var types []string
	for {
		p, err := r.NextPart() // decodes quoted-printable
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ct, cp, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		types = append(types, ct+"; charset="+strings.ToLower(cp["charset"]))
		b, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		body := strings.ReplaceAll(string(b), "\r\n", "\n")
		switch ct {
		case "text/plain":
			if body != l.Text {
				t.Errorf("text part differs:\n%s", cmp.Diff(l.Text, body))
			}
		case "text/html":
			if body != l.HTML {
				t.Errorf("HTML part differs:\n%s", cmp.Diff(l.HTML, body))
			}
		}
	}
	if !cmp.Equal(types, []string{"text/plain; charset=utf-8", "text/html; charset=utf-8"}) {
		t.Errorf("parts %q", types)
	}
}

// TestSMTPManyOnOneConnection: twenty messages, one connection, RSET
// between them.
func TestSMTPManyOnOneConnection(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	tr := openSMTP(t, relayConfig(srv, TLSOpportunistic))
	w := newTestWriter(t, "", testSettings)
	for i := range 20 {
		d := tr.Send(context.Background(), letterTo(t, w, fmt.Sprintf("hostmaster@z%d.example", i)))
		wantDelivery(t, strconv.Itoa(i), d, ResultSent, 250, "2.0.0")
	}
	if conns, _, mails := srv.Counts(); conns != 1 || mails != 20 || len(srv.Accepted()) != 20 {
		t.Errorf("%d connections, %d MAIL, %d accepted; want 1, 20, 20", conns, mails, len(srv.Accepted()))
	}
}

// TestSMTPReplies: the relay's refusals at each step, and the message
// after each on the same connection (the transaction was reset).
func TestSMTPReplies(t *testing.T) {
	for _, c := range []struct {
		name     string
		step     smtptest.Step
		code     int
		enhanced gosmtp.EnhancedCode
		res      Result
		sender   bool // Err matches ErrSenderRejected
	}{
		// Postfix: "550 5.1.1 <x@example.com>: Recipient address rejected: User unknown".
		{"rcpt 550", smtptest.StepRcpt, 550, gosmtp.EnhancedCode{5, 1, 1}, ResultRejected, false},
		// Greylisting: "450 4.2.0 <x@example.com>: Recipient address rejected: Greylisted".
		{"rcpt 450", smtptest.StepRcpt, 450, gosmtp.EnhancedCode{4, 2, 0}, ResultDeferred, false},
		{"mail 451", smtptest.StepMail, 451, gosmtp.EnhancedCode{4, 3, 0}, ResultDeferred, false},
		// "553 5.7.1 <b+t@resolver.example.net>: Sender address rejected: not owned by user".
		{"mail 553", smtptest.StepMail, 553, gosmtp.EnhancedCode{5, 7, 1}, ResultDeferred, true},
		// Content filters answer after the data: "554 5.7.1 Message rejected".
		{"data 554", smtptest.StepData, 554, gosmtp.EnhancedCode{5, 7, 1}, ResultRejected, false},
		{"data 452", smtptest.StepData, 452, gosmtp.EnhancedCode{4, 3, 1}, ResultDeferred, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := smtptest.Start(t, smtptest.Options{})
			tr := openSMTP(t, relayConfig(srv, TLSOpportunistic))
			w := newTestWriter(t, "", testSettings)
			srv.Reply(c.step, "", &gosmtp.SMTPError{Code: c.code, EnhancedCode: c.enhanced, Message: "Refused\r\nfor a reason"})
			d := tr.Send(context.Background(), letterTo(t, w, "hostmaster@example.com"))
			enhanced := fmt.Sprintf("%d.%d.%d", c.enhanced[0], c.enhanced[1], c.enhanced[2])
			wantDelivery(t, "refused", d, c.res, c.code, enhanced)
			if d.Detail != "Refused for a reason" {
				t.Errorf("detail %q", d.Detail)
			}
			if got := errors.Is(d.Err, ErrSenderRejected); got != c.sender || (!c.sender && d.Err != nil) {
				t.Errorf("err %v", d.Err)
			}
			srv.Clear()
			d = tr.Send(context.Background(), letterTo(t, w, "dns@example.org"))
			wantDelivery(t, "next", d, ResultSent, 250, "2.0.0")
			if conns, _, _ := srv.Counts(); conns != 1 || len(srv.Accepted()) != 1 {
				t.Errorf("%d connections, %d accepted; want 1, 1", conns, len(srv.Accepted()))
			}
		})
	}
}

// TestSMTPRejectOneRecipient: a 5xx for one recipient leaves the others
// of the run alone.
func TestSMTPRejectOneRecipient(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	tr := openSMTP(t, relayConfig(srv, TLSOpportunistic))
	w := newTestWriter(t, "", testSettings)
	srv.Reply(smtptest.StepRcpt, "dead@example.com", &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "User unknown"})
	var got []Result
	for _, to := range []string{"a@example.com", "dead@example.com", "b@example.com"} {
		got = append(got, tr.Send(context.Background(), letterTo(t, w, to)).Result)
	}
	if !cmp.Equal(got, []Result{ResultSent, ResultRejected, ResultSent}) {
		t.Errorf("results %v", got)
	}
}

// TestSMTPNoReply: a connection lost or a relay silent before the end of
// the data defers the message, after it makes its fate unknown; either
// way the connection is not used again.
func TestSMTPNoReply(t *testing.T) {
	for _, c := range []struct {
		name string
		hang bool
		step smtptest.Step
		res  Result
	}{
		{"drop at MAIL", false, smtptest.StepMail, ResultDeferred},
		{"drop at RCPT", false, smtptest.StepRcpt, ResultDeferred},
		{"drop after data", false, smtptest.StepData, ResultUnknown},
		{"silent at RCPT", true, smtptest.StepRcpt, ResultDeferred},
		{"silent after data", true, smtptest.StepData, ResultUnknown},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := smtptest.Start(t, smtptest.Options{})
			cfg := relayConfig(srv, TLSOpportunistic)
			cfg.CommandTimeout = 300 * time.Millisecond
			tr := openSMTP(t, cfg)
			w := newTestWriter(t, "", testSettings)
			if c.hang {
				srv.Hang(c.step, "")
			} else {
				srv.Drop(c.step, "")
			}
			d := tr.Send(context.Background(), letterTo(t, w, "hostmaster@example.com"))
			wantDelivery(t, "first", d, c.res, 0, "")
			if !errors.Is(d.Err, errBroken) {
				t.Errorf("err %v, want errBroken", d.Err)
			}
			srv.Clear()
			d = tr.Send(context.Background(), letterTo(t, w, "dns@example.org"))
			wantDelivery(t, "next", d, ResultDeferred, 0, "")
			if !errors.Is(d.Err, errBroken) {
				t.Errorf("next: err %v, want errBroken", d.Err)
			}
			if _, _, mails := srv.Counts(); mails != 1 {
				t.Errorf("%d MAIL commands, want 1: the next message went out", mails)
			}
		})
	}
}

// TestSMTPCancel: a context that ends while the relay is silent after
// the data aborts the handover at once: unknown, long before the command
// timeout.
func TestSMTPCancel(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	cfg := relayConfig(srv, TLSOpportunistic)
	cfg.CommandTimeout = time.Minute
	tr := openSMTP(t, cfg)
	w := newTestWriter(t, "", testSettings)
	srv.Hang(smtptest.StepData, "")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	d := tr.Send(ctx, letterTo(t, w, "hostmaster@example.com"))
	wantDelivery(t, "cancelled", d, ResultUnknown, 0, "")
	if time.Since(start) > 20*time.Second {
		t.Errorf("Send returned after %v", time.Since(start))
	}
	if d.Err == nil {
		t.Error("no Err after the context ended")
	}
	if d := tr.Send(ctx, letterTo(t, w, "dns@example.org")); d.Result != ResultDeferred || d.Err == nil {
		t.Errorf("after the end: %+v", d)
	}
}

// TestSMTPTLSPolicies: each smtp_tls value against relays with and
// without TLS. Mandatory refuses a relay without STARTTLS before it says
// anything but EHLO.
func TestSMTPTLSPolicies(t *testing.T) {
	for _, c := range []struct {
		name    string
		relay   smtptest.TLSMode
		policy  TLSPolicy
		tls     bool
		openErr error // nil: sends
	}{
		{"mandatory, STARTTLS", smtptest.StartTLS, TLSMandatory, true, nil},
		{"mandatory, no TLS", smtptest.NoTLS, TLSMandatory, false, ErrTLSUnavailable},
		{"opportunistic, STARTTLS", smtptest.StartTLS, TLSOpportunistic, true, nil},
		{"opportunistic, no TLS", smtptest.NoTLS, TLSOpportunistic, false, nil},
		{"none, STARTTLS", smtptest.StartTLS, TLSNone, false, nil},
		{"implicit", smtptest.Implicit, TLSImplicit, true, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := smtptest.Start(t, smtptest.Options{TLS: c.relay})
			tr, err := NewSMTP(relayConfig(srv, c.policy))
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close(context.Background())
			err = tr.Open(context.Background())
			if c.openErr != nil {
				if !errors.Is(err, c.openErr) {
					t.Fatalf("Open: %v, want %v", err, c.openErr)
				}
				if _, auths, mails := srv.Counts(); auths != 0 || mails != 0 {
					t.Errorf("%d AUTH, %d MAIL before refusing", auths, mails)
				}
				if got := clientCommands(srv.Transcript()); !cmp.Equal(got, []string{"EHLO", "QUIT"}) {
					t.Errorf("lamers said %q to a relay without TLS, want EHLO and QUIT only", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			d := tr.Send(context.Background(), letterTo(t, newTestWriter(t, "", testSettings), "hostmaster@example.com"))
			wantDelivery(t, "send", d, ResultSent, 250, "2.0.0")
			if txs := srv.Accepted(); len(txs) != 1 || txs[0].TLS != c.tls {
				t.Errorf("accepted %d, TLS %v; want 1, %v", len(txs), len(txs) == 1 && txs[0].TLS, c.tls)
			}
		})
	}
}

// clientCommands lists the verbs of the commands in a transcript of a
// connection without message data: its lines that are not replies.
func clientCommands(transcript string) []string {
	var out []string
	for _, line := range strings.Split(transcript, "\r\n") {
		if line == "" || line[0] >= '0' && line[0] <= '9' {
			continue
		}
		verb, _, _ := strings.Cut(line, " ")
		out = append(out, strings.ToUpper(verb))
	}
	return out
}

// TestSMTPTLSFailures: implicit TLS to a relay that speaks clear text,
// and a certificate nobody trusts, fail at Open.
func TestSMTPTLSFailures(t *testing.T) {
	plain := smtptest.Start(t, smtptest.Options{})
	cfg := relayConfig(plain, TLSImplicit)
	cfg.ConnectTimeout = time.Second
	tr, err := NewSMTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Open(context.Background()); err == nil || !strings.Contains(err.Error(), "TLS handshake") {
		t.Errorf("implicit TLS to a clear-text relay: %v", err)
	}
	tr.Close(context.Background())
	starttls := smtptest.Start(t, smtptest.Options{TLS: smtptest.StartTLS})
	cfg = relayConfig(starttls, TLSMandatory)
	cfg.TLSConfig = nil // the system roots do not know the test CA
	tr, err = NewSMTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Open(context.Background()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("an untrusted certificate: %v", err)
	}
	if _, _, mails := starttls.Counts(); mails != 0 {
		t.Errorf("%d MAIL commands after a failed handshake", mails)
	}
}

// writePassword writes a password file.
func writePassword(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "smtp-password")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSMTPAuth: PLAIN and LOGIN with the password from its file (its
// final line break dropped); a wrong password fails Open without showing
// it; AUTH is never sent without TLS, even to a relay that offers it.
func TestSMTPAuth(t *testing.T) {
	const user, pass = "lamers", "c0rrect horse"
	for _, mech := range []string{"PLAIN", "LOGIN"} {
		t.Run(mech, func(t *testing.T) {
			srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.StartTLS, User: user, Password: pass, Mechanisms: []string{mech}})
			cfg := relayConfig(srv, TLSMandatory)
			cfg.Username, cfg.PasswordFile = user, writePassword(t, pass+"\n")
			tr := openSMTP(t, cfg)
			d := tr.Send(context.Background(), letterTo(t, newTestWriter(t, "", testSettings), "hostmaster@example.com"))
			wantDelivery(t, "send", d, ResultSent, 250, "2.0.0")
			if txs := srv.Accepted(); len(txs) != 1 || txs[0].User != user {
				t.Errorf("accepted %+v", txs)
			}
		})
	}
	t.Run("wrong password", func(t *testing.T) {
		srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.StartTLS, User: user, Password: pass})
		cfg := relayConfig(srv, TLSMandatory)
		cfg.Username, cfg.PasswordFile = user, writePassword(t, "hunter2-secret\r\n")
		tr, err := NewSMTP(cfg)
		if err != nil {
			t.Fatal(err)
		}
		err = tr.Open(context.Background())
		if !errors.Is(err, ErrAuthFailed) || !strings.Contains(err.Error(), "535") || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Open: %v", err)
		}
	})
	for _, policy := range []TLSPolicy{TLSOpportunistic, TLSMandatory, TLSNone} {
		t.Run("no TLS, "+string(policy), func(t *testing.T) {
			srv := smtptest.Start(t, smtptest.Options{User: user, Password: pass, InsecureAuth: true})
			cfg := relayConfig(srv, policy)
			cfg.Username, cfg.PasswordFile = user, writePassword(t, pass)
			tr, err := NewSMTP(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := tr.Open(context.Background()); !errors.Is(err, ErrTLSUnavailable) {
				t.Errorf("Open: %v, want ErrTLSUnavailable", err)
			}
			if got := clientCommands(srv.Transcript()); !cmp.Equal(got, []string{"EHLO", "QUIT"}) {
				t.Errorf("lamers said %q, want EHLO and QUIT only", got)
			}
		})
	}
	t.Run("unknown mechanism", func(t *testing.T) {
		srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.StartTLS, User: user, Password: pass, Mechanisms: []string{"XOAUTH2"}})
		cfg := relayConfig(srv, TLSMandatory)
		cfg.Username, cfg.PasswordFile = user, writePassword(t, pass)
		tr, err := NewSMTP(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.Open(context.Background()); err == nil || !strings.Contains(err.Error(), "XOAUTH2") {
			t.Errorf("Open: %v", err)
		}
	})
}

// TestNewSMTPErrors: settings refused with their key named; the password
// file's content never appears.
func TestNewSMTPErrors(t *testing.T) {
	ok := SMTPConfig{Host: "relay.example.net", Port: 25, TLS: TLSMandatory}
	for _, c := range []struct {
		name   string
		mutate func(c *SMTPConfig)
		want   string
	}{
		{"host", func(c *SMTPConfig) { c.Host = "relay\r\n.example" }, "smtp_host"},
		{"port", func(c *SMTPConfig) { c.Port = 70000 }, "smtp_port"},
		{"tls", func(c *SMTPConfig) { c.TLS = "starttls" }, "smtp_tls"},
		{"user without file", func(c *SMTPConfig) { c.Username = "u" }, "smtp_password_file"},
		{"file without user", func(c *SMTPConfig) { c.PasswordFile = "/x" }, "smtp_username"},
		{"missing file", func(c *SMTPConfig) { c.Username, c.PasswordFile = "u", "/nonexistent/pw" }, "smtp_password_file"},
		{"empty file", func(c *SMTPConfig) { c.Username, c.PasswordFile = "u", writePassword(t, "\n") }, "empty"},
		{"two lines", func(c *SMTPConfig) { c.Username, c.PasswordFile = "u", writePassword(t, "s3cr3t\nmore\n") }, "more than one line"},
	} {
		cfg := ok
		c.mutate(&cfg)
		_, err := NewSMTP(cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	if p, err := ParseTLSPolicy("implicit"); p != TLSImplicit || err != nil {
		t.Errorf("ParseTLSPolicy: %v, %v", p, err)
	}
}

// TestSMTPUnreachable: a relay that does not listen fails Open (not
// ErrTLSUnavailable), and Send without a connection defers.
func TestSMTPUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	tr, err := NewSMTP(SMTPConfig{Host: "127.0.0.1", Port: port, TLS: TLSMandatory, ConnectTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = tr.Open(context.Background())
	if err == nil || errors.Is(err, ErrTLSUnavailable) {
		t.Errorf("Open: %v", err)
	}
	d := tr.Send(context.Background(), letterTo(t, newTestWriter(t, "", testSettings), "hostmaster@example.com"))
	if d.Result != ResultDeferred || d.Err == nil {
		t.Errorf("Send without a connection: %+v", d)
	}
	if err := tr.Close(context.Background()); err != nil {
		t.Errorf("Close after a failed Open: %v", err)
	}
}

// TestSMTPHeaderInjection: hostile names, escaped as a DNS library writes
// them, travel as text; the relay sees one recipient and lamers' headers
// only. A letter built by hand with a line break in a header is refused
// before a command is sent.
func TestSMTPHeaderInjection(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	tr := openSMTP(t, relayConfig(srv, TLSOpportunistic))
	w := newTestWriter(t, "", testSettings)
	d := goldenMessage()
	d.Token = mustToken(t)
	d.Findings = []FindingData{{Zone: `x\013\010Bcc:\032victim@example.org\013\010.example.`, Server: "192.0.2.1", Port: 53,
		Status: "lame", Reason: "refused", ServerNames: []string{`ns\010To:\032victim2@example.org.example.net.`}}}
	l, err := w.Compose(d)
	if err != nil {
		t.Fatal(err)
	}
	if got := tr.Send(context.Background(), &l); got.Result != ResultSent {
		t.Fatalf("send: %+v", got)
	}
	txs := srv.Accepted()
	if len(txs) != 1 || !cmp.Equal(txs[0].Rcpt, []string{"hostmaster@example.com"}) {
		t.Fatalf("accepted %+v", txs)
	}
	checkReceived(t, txs[0].Data, &l)
	bad := l
	bad.Subject = "Lame delegation\r\nBcc: victim@example.org"
	got := tr.Send(context.Background(), &bad)
	if got.Result != ResultDeferred || !errors.Is(got.Err, errLetter) {
		t.Errorf("a letter with CR LF in its Subject: %+v", got)
	}
	if _, _, mails := srv.Counts(); mails != 1 {
		t.Errorf("%d MAIL commands, want 1", mails)
	}
}

// TestParseReply: enhanced status codes are taken only when they match
// the reply's class (RFC 3463 §2).
func TestParseReply(t *testing.T) {
	for _, c := range []struct {
		code           int
		msg            string
		enhanced, rest string
	}{
		{250, "2.0.0 Ok: queued as 4QxYz", "2.0.0", "Ok: queued as 4QxYz"},
		{550, "5.1.1 <x@example.com>: Recipient address rejected: User unknown in virtual mailbox table",
			"5.1.1", "<x@example.com>: Recipient address rejected: User unknown in virtual mailbox table"},
		{550, "Requested action not taken: mailbox unavailable", "", "Requested action not taken: mailbox unavailable"},
		{451, "5.1.1 odd", "", "5.1.1 odd"},
		{421, "4.4.2 line one\nline two", "4.4.2", "line one line two"},
		{554, "5.7.1 \x1b[31mred\x00", "5.7.1", "?[31mred?"},
	} {
		d := parseReply(c.code, c.msg)
		if d.Enhanced != c.enhanced || d.Detail != c.rest || d.Code != c.code {
			t.Errorf("parseReply(%d, %q) = %q %q", c.code, c.msg, d.Enhanced, d.Detail)
		}
	}
	if got := oneLine(strings.Repeat("x", 1000)); len(got) != maxDetail {
		t.Errorf("oneLine keeps %d bytes", len(got))
	}
}
