package notify_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/lamers-dev/lamers/notify"
	"github.com/lamers-dev/lamers/notify/smtptest"
)

// letterTo composes the several() message for to, with a random token.
func letterTo(t testing.TB, to string) *notify.Letter {
	t.Helper()
	data := several()
	data.To = to
	s := settings()
	s.Rand = nil
	l, err := notify.Compose(loadTemplates(t), data, s)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// transport makes an SMTP transport for srv: mandatory TLS that trusts
// srv's certificate, short timeouts, edited by edit.
func transport(t testing.TB, srv *smtptest.Server, edit func(*notify.SMTPConfig)) *notify.SMTP {
	t.Helper()
	cfg := notify.SMTPConfig{
		Host: srv.Host, Port: srv.Port, TLS: notify.TLSMandatory, HELO: "lamers.test",
		ConnectTimeout: 5 * time.Second, CommandTimeout: 5 * time.Second,
		TLSConfig: &tls.Config{RootCAs: srv.CertPool},
	}
	if edit != nil {
		edit(&cfg)
	}
	tr, err := notify.NewSMTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close(context.Background()) })
	return tr
}

func open(t testing.TB, tr notify.Transport) {
	t.Helper()
	if err := tr.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// wantSent checks that d says sent and that srv got l: the envelope and
// the whole message.
func wantSent(t *testing.T, d notify.Delivery, tx smtptest.Transaction, l *notify.Letter) {
	t.Helper()
	if d.Result != notify.ResultSent || d.Code != 250 || d.Err != nil || !strings.HasPrefix(d.Detail, "end of DATA: 250 ") {
		t.Errorf("delivery %+v, want sent", d)
	}
	if tx.From != l.EnvelopeFrom || len(tx.To) != 1 || tx.To[0] != l.To {
		t.Errorf("envelope MAIL FROM:<%s> RCPT TO:%v, want <%s> and <%s>", tx.From, tx.To, l.EnvelopeFrom, l.To)
	}
	if tx.MailOpts.UTF8 {
		t.Error("MAIL FROM with SMTPUTF8")
	}
	checkMessage(t, tx.Data, l)
}

// One connection carries a run's messages: the VERP envelope, every header
// field, the multipart/alternative body, DSN parameters, over STARTTLS.
func TestSMTPSend(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{StartTLS: true, DSN: true, SMTPUTF8: true})
	tr := transport(t, srv, nil)
	open(t, tr)
	var letters []*notify.Letter
	for i := range 20 {
		l := letterTo(t, fmt.Sprintf("hostmaster@zone%d.example", i))
		letters = append(letters, l)
		if d := tr.Send(t.Context(), l); d.Result != notify.ResultSent {
			t.Fatalf("letter %d: %+v", i, d)
		}
	}
	if err := tr.Close(t.Context()); err != nil {
		t.Errorf("close: %v", err)
	}
	if n := srv.Connections(); n != 1 {
		t.Errorf("%d connections for %d messages, want 1", n, len(letters))
	}
	txs := srv.Delivered()
	if len(txs) != len(letters) {
		t.Fatalf("%d messages delivered, want %d", len(txs), len(letters))
	}
	for i, tx := range txs {
		wantSent(t, notify.Delivery{Result: notify.ResultSent, Code: 250, Detail: "end of DATA: 250 x"}, tx, letters[i])
		if !tx.TLS {
			t.Errorf("message %d sent in clear", i)
		}
		if tx.MailOpts.Return != smtp.DSNReturnHeaders || len(tx.RcptOpts) != 1 || fmt.Sprint(tx.RcptOpts[0].Notify) != "[FAILURE]" {
			t.Errorf("DSN parameters RET=%q NOTIFY=%v, want HDRS and FAILURE", tx.MailOpts.Return, tx.RcptOpts)
		}
	}
	// Open again after Close makes a new connection.
	open(t, tr)
	if d := tr.Send(t.Context(), letters[0]); d.Result != notify.ResultSent || srv.Connections() != 2 {
		t.Errorf("after reopening: %+v, %d connections", d, srv.Connections())
	}
}

// The relay's replies map to results (docs/notify.md §5); after a refusal
// the same connection carries the next message.
func TestSMTPReplies(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(*smtptest.Server)
		result   notify.Result
		code     int
		enhanced string
		detail   string
		refused  bool // Err matches ErrSenderRefused
		dropped  bool // the connection is gone afterwards
	}{
		{"user unknown", func(s *smtptest.Server) {
			s.Fail(smtptest.Rcpt, "", 550, smtp.EnhancedCode{5, 1, 1}, "<gone@example.com>: Recipient address rejected: User unknown")
		}, notify.ResultRejected, 550, "5.1.1", "RCPT TO: 550 5.1.1 <gone@example.com>: Recipient address rejected: User unknown", false, false},
		{"greylisted", func(s *smtptest.Server) {
			s.Fail(smtptest.Rcpt, "", 450, smtp.EnhancedCode{4, 2, 0}, "Greylisted, see RFC 6647")
		}, notify.ResultDeferred, 450, "4.2.0", "RCPT TO: 450 4.2.0 Greylisted", false, false},
		{"mailbox full", func(s *smtptest.Server) {
			s.Fail(smtptest.Rcpt, "", 452, smtp.EnhancedCode{4, 2, 2}, "Mailbox full")
		}, notify.ResultDeferred, 452, "4.2.2", "RCPT TO: 452", false, false},
		{"sender refused", func(s *smtptest.Server) {
			s.Fail(smtptest.Mail, "", 553, smtp.EnhancedCode{5, 7, 1}, "Sender address rejected: not owned by user")
		}, notify.ResultDeferred, 553, "5.7.1", "MAIL FROM: 553 5.7.1 Sender address rejected", true, false},
		{"sender deferred", func(s *smtptest.Server) {
			s.Fail(smtptest.Mail, "", 451, smtp.EnhancedCode{4, 3, 0}, "Temporary lookup failure")
		}, notify.ResultDeferred, 451, "4.3.0", "MAIL FROM: 451", false, false},
		{"content refused", func(s *smtptest.Server) {
			s.Fail(smtptest.DataEnd, "", 554, smtp.EnhancedCode{5, 7, 1}, "Message rejected as spam")
		}, notify.ResultRejected, 554, "5.7.1", "end of DATA: 554 5.7.1 Message rejected as spam", false, false},
		{"content deferred", func(s *smtptest.Server) {
			s.Fail(smtptest.DataEnd, "", 451, smtp.EnhancedCode{4, 3, 0}, "Queue file write error")
		}, notify.ResultDeferred, 451, "4.3.0", "end of DATA: 451", false, false},
		{"closing", func(s *smtptest.Server) {
			s.Fail(smtptest.Rcpt, "", 421, smtp.EnhancedCode{4, 4, 2}, "Too many errors, closing")
		}, notify.ResultDeferred, 421, "4.4.2", "RCPT TO: 421", false, true},
		{"dropped before DATA", func(s *smtptest.Server) { s.Drop(smtptest.Rcpt) },
			notify.ResultDeferred, 0, "", "RCPT TO: ", false, true},
		{"dropped after the message", func(s *smtptest.Server) { s.Drop(smtptest.DataEnd) },
			notify.ResultUnknown, 0, "", "end of DATA: ", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.Start(t, smtptest.Options{StartTLS: true})
			tr := transport(t, srv, nil)
			open(t, tr)
			tt.setup(srv)
			d := tr.Send(t.Context(), letterTo(t, "gone@example.com"))
			if d.Result != tt.result || d.Code != tt.code || d.Enhanced != tt.enhanced || !strings.HasPrefix(d.Detail, tt.detail) {
				t.Errorf("delivery %+v, want %s %d %q %q…", d, tt.result, tt.code, tt.enhanced, tt.detail)
			}
			if got := errors.Is(d.Err, notify.ErrSenderRefused); got != tt.refused || !tt.refused && d.Err != nil {
				t.Errorf("Err %v", d.Err)
			}
			if n := len(srv.Delivered()); n != 0 {
				t.Errorf("%d messages delivered", n)
			}
			// The next message goes through: on the same connection after a
			// refusal (the transaction was reset), on a new one after a loss.
			for _, step := range []smtptest.Step{smtptest.Mail, smtptest.Rcpt, smtptest.DataEnd} {
				srv.Clear(step)
			}
			l := letterTo(t, "hostmaster@example.com")
			d = tr.Send(t.Context(), l)
			delivered := srv.Delivered()
			if len(delivered) != 1 {
				t.Fatalf("next letter: %+v; %d delivered", d, len(delivered))
			}
			wantSent(t, d, delivered[0], l)
			want := 1
			if tt.dropped {
				want = 2
			}
			if n := srv.Connections(); n != want {
				t.Errorf("%d connections, want %d", n, want)
			}
		})
	}
}

// Each TLS policy, against relays with and without STARTTLS and with
// implicit TLS. A mandatory policy sends nothing to a relay without
// STARTTLS: not even MAIL FROM.
func TestSMTPTLS(t *testing.T) {
	tests := []struct {
		name   string
		server smtptest.Options
		mode   notify.TLSMode
		noCA   bool   // verify with the system's roots
		fail   string // substring of Open's error; "" when it works
		tls    bool   // the message went over TLS
	}{
		{"mandatory, offered", smtptest.Options{StartTLS: true}, notify.TLSMandatory, false, "", true},
		{"mandatory, not offered", smtptest.Options{}, notify.TLSMandatory, false, "does not offer STARTTLS", false},
		{"mandatory, untrusted certificate", smtptest.Options{StartTLS: true}, notify.TLSMandatory, true, "certificate", false},
		{"opportunistic, offered", smtptest.Options{StartTLS: true}, notify.TLSOpportunistic, false, "", true},
		{"opportunistic, not offered", smtptest.Options{}, notify.TLSOpportunistic, false, "", false},
		{"opportunistic, untrusted certificate", smtptest.Options{StartTLS: true}, notify.TLSOpportunistic, true, "certificate", false},
		{"none, offered", smtptest.Options{StartTLS: true}, notify.TLSNone, false, "", false},
		{"implicit", smtptest.Options{Implicit: true}, notify.TLSImplicit, false, "", true},
		{"implicit, relay in clear", smtptest.Options{}, notify.TLSImplicit, false, "TLS handshake", false},
		{"mandatory, relay with implicit TLS", smtptest.Options{Implicit: true}, notify.TLSMandatory, false, "greeting", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.Start(t, tt.server)
			tr := transport(t, srv, func(c *notify.SMTPConfig) {
				c.TLS = tt.mode
				c.CommandTimeout = time.Second
				if tt.noCA {
					c.TLSConfig = nil
				}
			})
			l := letterTo(t, "hostmaster@example.com")
			err := tr.Open(t.Context())
			if tt.fail != "" {
				if err == nil || !strings.Contains(err.Error(), tt.fail) {
					t.Fatalf("Open: %v, want an error with %q", err, tt.fail)
				}
				if want := strings.Contains(tt.fail, "STARTTLS"); errors.Is(err, notify.ErrTLSUnavailable) != want {
					t.Errorf("errors.Is(%v, ErrTLSUnavailable) is not %v", err, want)
				}
				// Send opens the connection itself, and fails the same way.
				d := tr.Send(t.Context(), l)
				if d.Result != notify.ResultDeferred || d.Err == nil || !strings.Contains(d.Err.Error(), tt.fail) {
					t.Errorf("Send: %+v", d)
				}
				if txs := srv.Transactions(); len(txs) != 0 {
					t.Errorf("the relay got %d transactions", len(txs))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			d := tr.Send(t.Context(), l)
			txs := srv.Delivered()
			if len(txs) != 1 {
				t.Fatalf("%+v; %d delivered", d, len(txs))
			}
			wantSent(t, d, txs[0], l)
			if txs[0].TLS != tt.tls {
				t.Errorf("over TLS: %v, want %v", txs[0].TLS, tt.tls)
			}
		})
	}
}

func writePassword(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "smtp-password")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// AUTH with the password from its file, over TLS only; the password is
// never shown.
func TestSMTPAuth(t *testing.T) {
	const user, password = "lamers", "s3cret pass"
	for _, tt := range []struct {
		name  string
		mechs []string
		file  string
	}{
		{"plain", nil, password + "\n"},
		{"login", []string{"LOGIN"}, password + "\r\n"},
		{"no line break", nil, password},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.Start(t, smtptest.Options{StartTLS: true, Username: user, Password: password, AuthMechanisms: tt.mechs})
			tr := transport(t, srv, func(c *notify.SMTPConfig) {
				c.Username, c.PasswordFile = user, writePassword(t, tt.file)
			})
			open(t, tr)
			l := letterTo(t, "hostmaster@example.com")
			d := tr.Send(t.Context(), l)
			txs := srv.Delivered()
			if len(txs) != 1 {
				t.Fatalf("%+v; %d delivered", d, len(txs))
			}
			wantSent(t, d, txs[0], l)
			if txs[0].AuthUser != user || fmt.Sprint(srv.Passwords()) != "["+password+"]" {
				t.Errorf("authenticated as %q with %q", txs[0].AuthUser, srv.Passwords())
			}
			for _, s := range []string{fmt.Sprint(tr), fmt.Sprintf("%+v", tr), fmt.Sprintf("%#v", tr), fmt.Sprintf("%v", *tr)} {
				if strings.Contains(s, "s3cret") {
					t.Errorf("the transport shows the password: %s", s)
				}
			}
		})
	}

	t.Run("wrong password", func(t *testing.T) {
		srv := smtptest.Start(t, smtptest.Options{StartTLS: true, Username: user, Password: password})
		tr := transport(t, srv, func(c *notify.SMTPConfig) {
			c.Username, c.PasswordFile = user, writePassword(t, "wrong s3cret\n")
		})
		err := tr.Open(t.Context())
		if err == nil || !strings.Contains(err.Error(), "535") || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Open: %v", err)
		}
	})
	t.Run("in clear", func(t *testing.T) {
		srv := smtptest.Start(t, smtptest.Options{Username: user, Password: password, AuthInClear: true})
		tr := transport(t, srv, func(c *notify.SMTPConfig) {
			c.TLS = notify.TLSOpportunistic
			c.Username, c.PasswordFile = user, writePassword(t, password)
		})
		if err := tr.Open(t.Context()); !errors.Is(err, notify.ErrTLSUnavailable) {
			t.Errorf("Open: %v, want ErrTLSUnavailable", err)
		}
		if p := srv.Passwords(); len(p) != 0 {
			t.Errorf("the password went out in clear: %q", p)
		}
	})
	t.Run("no usable mechanism", func(t *testing.T) {
		srv := smtptest.Start(t, smtptest.Options{StartTLS: true, Username: user, Password: password, AuthMechanisms: []string{"CRAM-MD5"}})
		tr := transport(t, srv, func(c *notify.SMTPConfig) {
			c.Username, c.PasswordFile = user, writePassword(t, password)
		})
		if err := tr.Open(t.Context()); err == nil || !strings.Contains(err.Error(), "no AUTH PLAIN or LOGIN") {
			t.Errorf("Open: %v", err)
		}
	})
}

func TestNewSMTPErrors(t *testing.T) {
	good := notify.SMTPConfig{Host: "localhost", Port: 25, TLS: notify.TLSMandatory}
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(*notify.SMTPConfig)
		want string
	}{
		{"no host", func(c *notify.SMTPConfig) { c.Host = "" }, "notify.smtp_host"},
		{"port 0", func(c *notify.SMTPConfig) { c.Port = 0 }, "notify.smtp_port 0"},
		{"bad tls", func(c *notify.SMTPConfig) { c.TLS = "starttls" }, `notify.smtp_tls "starttls"`},
		{"user without password", func(c *notify.SMTPConfig) { c.Username = "u" }, "notify.smtp_password_file is not"},
		{"password without user", func(c *notify.SMTPConfig) { c.PasswordFile = empty }, "notify.smtp_username is not"},
		{"missing password file", func(c *notify.SMTPConfig) { c.Username, c.PasswordFile = "u", empty+".none" }, "notify.smtp_password_file"},
		{"empty password", func(c *notify.SMTPConfig) { c.Username, c.PasswordFile = "u", empty }, "empty"},
		{"password in clear", func(c *notify.SMTPConfig) { c.Username, c.PasswordFile, c.TLS = "u", empty, notify.TLSNone }, "in clear"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.edit(&c)
			if _, err := notify.NewSMTP(c); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewSMTP: %v, want an error with %q", err, tt.want)
			}
		})
	}
	if _, err := notify.NewSMTP(good); err != nil {
		t.Errorf("NewSMTP(%+v): %v", good, err)
	}
}

// Timeouts and cancellation: before the message's end the result is
// deferred, after it unknown.
func TestSMTPTimeouts(t *testing.T) {
	short := func(c *notify.SMTPConfig) { c.CommandTimeout = 200 * time.Millisecond }

	t.Run("no reply after the message", func(t *testing.T) {
		srv := smtptest.Start(t, smtptest.Options{StartTLS: true})
		tr := transport(t, srv, short)
		open(t, tr)
		_, release := srv.Hang(smtptest.DataEnd)
		defer release()
		if d := tr.Send(t.Context(), letterTo(t, "hostmaster@example.com")); d.Result != notify.ResultUnknown || d.Err != nil || !strings.Contains(d.Detail, "timeout") {
			t.Errorf("delivery %+v, want unknown after a timeout", d)
		}
	})
	t.Run("no reply to MAIL FROM", func(t *testing.T) {
		srv := smtptest.Start(t, smtptest.Options{StartTLS: true})
		tr := transport(t, srv, short)
		open(t, tr)
		_, release := srv.Hang(smtptest.Mail)
		defer release()
		if d := tr.Send(t.Context(), letterTo(t, "hostmaster@example.com")); d.Result != notify.ResultDeferred || !strings.HasPrefix(d.Detail, "MAIL FROM: ") {
			t.Errorf("delivery %+v, want deferred", d)
		}
	})
	t.Run("cancelled while waiting for the reply", func(t *testing.T) {
		srv := smtptest.Start(t, smtptest.Options{StartTLS: true})
		tr := transport(t, srv, nil) // a command timeout of 5 s
		open(t, tr)
		reached, release := srv.Hang(smtptest.DataEnd)
		defer release()
		ctx, cancel := context.WithCancel(t.Context())
		go func() {
			<-reached
			cancel()
		}()
		start := time.Now()
		if d := tr.Send(ctx, letterTo(t, "hostmaster@example.com")); d.Result != notify.ResultUnknown {
			t.Errorf("delivery %+v, want unknown", d)
		}
		if time.Since(start) > 4*time.Second {
			t.Errorf("Send took %v after the cancellation", time.Since(start))
		}
	})
	t.Run("cancelled before", func(t *testing.T) {
		srv := smtptest.Start(t, smtptest.Options{StartTLS: true})
		tr := transport(t, srv, nil)
		open(t, tr)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		d := tr.Send(ctx, letterTo(t, "hostmaster@example.com"))
		if d.Result != notify.ResultDeferred || !errors.Is(d.Err, context.Canceled) || len(srv.Transactions()) != 0 {
			t.Errorf("delivery %+v; %d transactions", d, len(srv.Transactions()))
		}
	})
	t.Run("silent relay", func(t *testing.T) {
		host, port := smtptest.SplitAddr(t, smtptest.Silent(t))
		tr, err := notify.NewSMTP(notify.SMTPConfig{Host: host, Port: port, TLS: notify.TLSMandatory, CommandTimeout: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.Open(t.Context()); err == nil || !strings.Contains(err.Error(), "greeting") {
			t.Errorf("Open: %v", err)
		}
	})
	t.Run("nothing listens", func(t *testing.T) {
		host, port := smtptest.SplitAddr(t, smtptest.Closed(t))
		tr, err := notify.NewSMTP(notify.SMTPConfig{Host: host, Port: port, TLS: notify.TLSMandatory})
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.Open(t.Context()); err == nil || !strings.Contains(err.Error(), "connect to") {
			t.Errorf("Open: %v", err)
		}
		if d := tr.Send(t.Context(), letterTo(t, "hostmaster@example.com")); d.Result != notify.ResultDeferred || d.Err == nil {
			t.Errorf("Send: %+v", d)
		}
	})
}

// Hostile text never becomes a header or a command: Compose refuses such
// names (TestComposeRefuses), and a letter made by hand with them is not
// sent at all. A valid name that looks like a header field stays inside
// the Subject.
func TestSMTPHeaderInjection(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{StartTLS: true})
	tr := transport(t, srv, nil)
	open(t, tr)
	for _, edit := range []func(*notify.Letter){
		func(l *notify.Letter) { l.Subject = "Lame delegation: x.\r\nBcc: victim@example.org" },
		func(l *notify.Letter) { l.To = "hostmaster@example.com>\r\nRCPT TO:<victim@example.org" },
		func(l *notify.Letter) { l.EnvelopeFrom = "b@example.net>\r\nRCPT TO:<victim@example.org" },
	} {
		l := letterTo(t, "hostmaster@example.com")
		edit(l)
		if d := tr.Send(t.Context(), l); d.Result != notify.ResultDeferred || d.Err == nil {
			t.Errorf("a hostile letter: %+v", d)
		}
	}
	if txs := srv.Transactions(); len(txs) != 0 {
		t.Fatalf("the relay got %d transactions: %+v", len(txs), txs)
	}

	data := several()
	data.Findings = data.Findings[:1]
	data.Findings[0].Zone = `Bcc:\ victim\@example.org.example.`
	l, err := notify.Compose(loadTemplates(t), data, settings())
	if err != nil {
		t.Fatal(err)
	}
	d := tr.Send(t.Context(), l)
	txs := srv.Delivered()
	if len(txs) != 1 {
		t.Fatalf("%+v; %d delivered", d, len(txs))
	}
	wantSent(t, d, txs[0], l) // one recipient, and no header field but ours
	if l.Subject != `Lame delegation: Bcc:\ victim\@example.org.example. on 192.0.2.1` {
		t.Errorf("Subject %q", l.Subject)
	}
}

// BenchmarkSMTPSend sends messages to the in-process relay over one
// connection with STARTTLS; run with -benchtime=1000x for the figure of
// 1,000 messages. msgs/s is the rate.
func BenchmarkSMTPSend(b *testing.B) {
	srv := smtptest.Start(b, smtptest.Options{StartTLS: true, DSN: true})
	tr := transport(b, srv, nil)
	l := letterTo(b, "hostmaster@example.com")
	if err := tr.Open(b.Context()); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if d := tr.Send(b.Context(), l); d.Result != notify.ResultSent {
			b.Fatalf("%+v", d)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	if n := srv.Connections(); n != 1 {
		b.Errorf("%d connections", n)
	}
}
