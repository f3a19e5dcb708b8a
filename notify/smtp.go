package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wneessen/go-mail/smtp"
)

// TLSMode is notify.smtp_tls: how the connection to the relay is
// protected.
type TLSMode string

// The TLS modes.
const (
	// TLSMandatory: STARTTLS (RFC 3207) is required; a relay that does not
	// offer it gets nothing (ErrTLSUnavailable).
	TLSMandatory TLSMode = "mandatory"
	// TLSOpportunistic: STARTTLS when the relay offers it, in clear when it
	// does not. When it is offered, a failed handshake is an error.
	TLSOpportunistic TLSMode = "opportunistic"
	// TLSNone: in clear, even when STARTTLS is offered.
	TLSNone TLSMode = "none"
	// TLSImplicit: TLS from the first byte (RFC 8314 §3.3, port 465).
	TLSImplicit TLSMode = "implicit"
)

// ParseTLSMode returns the TLSMode named s.
func ParseTLSMode(s string) (TLSMode, error) {
	switch m := TLSMode(s); m {
	case TLSMandatory, TLSOpportunistic, TLSNone, TLSImplicit:
		return m, nil
	}
	return "", fmt.Errorf("notify: notify.smtp_tls %s: not mandatory, opportunistic, none or implicit", quoteName(s))
}

// Default timeouts of SMTPConfig.
const (
	DefaultConnectTimeout = 30 * time.Second
	// DefaultCommandTimeout is RFC 5321 §4.5.3.2's shortest wait for a
	// reply to MAIL, RCPT or the end of DATA that a server needs to answer
	// (5 minutes for MAIL and RCPT; 10 for the end of DATA, which a relay
	// that queues answers within seconds).
	DefaultCommandTimeout = 5 * time.Minute
)

// SMTPConfig configures an SMTP transport.
type SMTPConfig struct {
	Host string  // notify.smtp_host
	Port int     // notify.smtp_port
	TLS  TLSMode // notify.smtp_tls
	// Username (notify.smtp_username), when set, authenticates with AUTH
	// PLAIN or LOGIN (RFC 4954), over TLS only, with the password in
	// PasswordFile (notify.smtp_password_file), whose trailing line break
	// is not part of it.
	Username     string
	PasswordFile string
	// HELO is the name sent with EHLO; "" is the host name of this machine.
	HELO string
	// ConnectTimeout bounds the TCP connection (and the TLS handshake of
	// TLSImplicit); CommandTimeout every command and its reply. Zero is the
	// default.
	ConnectTimeout time.Duration
	CommandTimeout time.Duration
	// TLSConfig verifies the relay's certificate; nil is the system's
	// roots. Its ServerName, when "", is Host.
	TLSConfig *tls.Config
}

// SMTP is a Transport that sends through an SMTP relay with go-mail's SMTP
// client, all of a run's messages over one connection. It asks for
// delivery status notifications of failures with the headers only (RFC
// 3461: RET=HDRS, NOTIFY=FAILURE) when the relay offers DSN, and never
// uses SMTPUTF8: its addresses are ASCII.
//
// A connection lost between two messages is made again by the next Send.
type SMTP struct {
	cfg      SMTPConfig
	addr     string
	password string
	tls      *tls.Config

	conn net.Conn     // the TCP connection, nil when closed
	c    *smtp.Client // the session on conn
}

var _ Transport = (*SMTP)(nil)

// NewSMTP checks cfg and reads the password file. Its errors name the
// configuration key.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	if cfg.Host == "" || strings.ContainsAny(cfg.Host, "\r\n\x00 ") {
		return nil, fmt.Errorf("notify: notify.smtp_host %s: not a host name or address", quoteName(cfg.Host))
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return nil, fmt.Errorf("notify: notify.smtp_port %d: not a port", cfg.Port)
	}
	if _, err := ParseTLSMode(string(cfg.TLS)); err != nil {
		return nil, err
	}
	if cfg.ConnectTimeout < 0 || cfg.CommandTimeout < 0 {
		return nil, errors.New("notify: smtp: negative timeout")
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.CommandTimeout == 0 {
		cfg.CommandTimeout = DefaultCommandTimeout
	}
	if cfg.HELO == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			h = "localhost"
		}
		cfg.HELO = h
	}
	s := &SMTP{cfg: cfg, addr: net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))}
	switch {
	case cfg.Username == "" && cfg.PasswordFile != "":
		return nil, errors.New("notify: notify.smtp_password_file is set, notify.smtp_username is not")
	case cfg.Username != "" && cfg.PasswordFile == "":
		return nil, errors.New("notify: notify.smtp_username is set, notify.smtp_password_file is not")
	case cfg.Username != "" && cfg.TLS == TLSNone:
		return nil, fmt.Errorf("notify: notify.smtp_username is set and notify.smtp_tls is none: the password would be sent in clear: %w", ErrTLSUnavailable)
	case strings.ContainsAny(cfg.Username, "\r\n\x00"):
		return nil, errors.New("notify: notify.smtp_username: control character")
	case cfg.Username != "":
		b, err := os.ReadFile(cfg.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("notify: notify.smtp_password_file: %w", err)
		}
		s.password = strings.TrimRight(string(b), "\r\n")
		if s.password == "" {
			return nil, fmt.Errorf("notify: notify.smtp_password_file %s: empty", cfg.PasswordFile)
		}
	}
	s.tls = &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.TLSConfig != nil {
		s.tls = cfg.TLSConfig.Clone()
	}
	if s.tls.ServerName == "" {
		s.tls.ServerName = cfg.Host
	}
	return s, nil
}

// String describes the transport; it never shows the password. (Its
// receiver is a value so that a printed SMTP value does not show it
// either.)
func (s SMTP) String() string {
	return fmt.Sprintf("smtp %s (tls %s)", s.addr, s.cfg.TLS)
}

// GoString is String, so that %#v does not show the password either.
func (s SMTP) GoString() string { return s.String() }

// Open connects to the relay, says EHLO, starts TLS as notify.smtp_tls
// says and authenticates. It does nothing when the connection is open.
func (s *SMTP) Open(ctx context.Context) error {
	if s.c != nil {
		return nil
	}
	return s.dial(ctx)
}

// pastDeadline makes every pending read and write fail at once.
var pastDeadline = time.Unix(1, 0)

// dial makes the connection and the session of Open.
func (s *SMTP) dial(ctx context.Context) (err error) {
	dctx, cancel := context.WithTimeout(ctx, s.cfg.ConnectTimeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(dctx, "tcp", s.addr)
	if err != nil {
		return fmt.Errorf("notify: smtp: connect to %s: %w", s.addr, err)
	}
	defer func() {
		if err != nil {
			conn.Close()
		}
	}()
	if s.cfg.TLS == TLSImplicit {
		tc := tls.Client(conn, s.tls)
		if err := tc.HandshakeContext(dctx); err != nil {
			return fmt.Errorf("notify: smtp: TLS handshake with %s: %w", s.addr, err)
		}
		conn = tc
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(pastDeadline) })
	defer stop()
	if err := conn.SetDeadline(time.Now().Add(s.cfg.CommandTimeout)); err != nil {
		return fmt.Errorf("notify: smtp: %s: %w", s.addr, err)
	}
	c, err := smtp.NewClient(conn, s.cfg.Host)
	if err != nil {
		return fmt.Errorf("notify: smtp: greeting of %s: %w", s.addr, err)
	}
	c.SkipSMTPUTF8(true)
	if err := c.Hello(s.cfg.HELO); err != nil {
		return fmt.Errorf("notify: smtp: EHLO to %s: %w", s.addr, err)
	}
	if s.cfg.TLS == TLSMandatory || s.cfg.TLS == TLSOpportunistic {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(s.tls); err != nil {
				return fmt.Errorf("notify: smtp: STARTTLS with %s: %w", s.addr, err)
			}
		} else if s.cfg.TLS == TLSMandatory {
			c.Quit()
			return fmt.Errorf("notify: smtp: %s does not offer STARTTLS and notify.smtp_tls is mandatory: %w", s.addr, ErrTLSUnavailable)
		}
	}
	if s.cfg.Username != "" {
		if err := s.auth(c); err != nil {
			return err
		}
	}
	c.SetDSNMailReturnOption("HDRS")
	c.SetDSNRcptNotifyOption("FAILURE")
	s.conn, s.c = conn, c
	return nil
}

// auth authenticates with AUTH PLAIN, or LOGIN when the relay offers only
// that, over TLS only.
func (s *SMTP) auth(c *smtp.Client) error {
	if _, ok := c.TLSConnectionState(); !ok {
		c.Quit()
		return fmt.Errorf("notify: smtp: %s: authentication needs TLS and the connection is in clear: %w", s.addr, ErrTLSUnavailable)
	}
	_, offered := c.Extension("AUTH")
	mechs := strings.Fields(strings.ToUpper(offered))
	var a smtp.Auth
	switch {
	case slices.Contains(mechs, "PLAIN"):
		a = smtp.PlainAuth("", s.cfg.Username, s.password, s.cfg.Host, false)
	case slices.Contains(mechs, "LOGIN"):
		a = smtp.LoginAuth(s.cfg.Username, s.password, s.cfg.Host, false)
	default:
		c.Quit()
		return fmt.Errorf("notify: smtp: %s offers no AUTH PLAIN or LOGIN (AUTH %s)", s.addr, oneLine(offered))
	}
	if err := c.Auth(a); err != nil {
		return fmt.Errorf("notify: smtp: authenticate to %s as %s: %w", s.addr, quoteName(s.cfg.Username), err)
	}
	return nil
}

// The steps of a mail transaction, as Delivery.Detail names them.
const (
	stepMail    = "MAIL FROM"
	stepRcpt    = "RCPT TO"
	stepData    = "DATA"
	stepContent = "message content"
	stepEnd     = "end of DATA"
)

// Send hands l over on the open connection (making it again when it was
// lost): MAIL FROM the VERP address, RCPT TO the recipient, DATA.
func (s *SMTP) Send(ctx context.Context, l *Letter) Delivery {
	raw, err := prepare(ctx, "smtp", l)
	if err != nil {
		return stopped(err)
	}
	if s.c == nil {
		if err := s.dial(ctx); err != nil {
			return stopped(err)
		}
	}
	conn := s.conn
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(pastDeadline) })
	defer stop()

	if d, ok := s.step(ctx, stepMail, l, func() error { return s.c.Mail("<" + l.EnvelopeFrom + ">") }); !ok {
		return d
	}
	if d, ok := s.step(ctx, stepRcpt, l, func() error { return s.c.Rcpt("<" + l.To + ">") }); !ok {
		return d
	}
	var w io.WriteCloser
	if d, ok := s.step(ctx, stepData, l, func() (err error) { w, err = s.c.Data(); return err }); !ok {
		return d
	}
	if d, ok := s.step(ctx, stepContent, l, func() error { _, err := w.Write(raw); return err }); !ok {
		return d
	}
	// From here the relay may have the whole message: no more checks of
	// ctx, whose cancellation now makes the outcome unknown.
	if err := s.c.UpdateDeadline(s.cfg.CommandTimeout); err != nil {
		return s.failed(stepEnd, l, err)
	}
	if err := w.Close(); err != nil {
		return s.failed(stepEnd, l, err)
	}
	d := Delivery{Result: ResultSent, Code: 250, Detail: detail("%s: 250", stepEnd)}
	if dc, ok := w.(*smtp.DataCloser); ok {
		resp := dc.ServerResponse()
		d.Enhanced = enhancedCode.FindString(resp)
		d.Detail = detail("%s: 250 %s", stepEnd, resp)
	}
	return d
}

// step runs one command of the transaction with a fresh deadline; ok is
// false, and d the outcome, when it failed or ctx is done.
func (s *SMTP) step(ctx context.Context, name string, l *Letter, run func() error) (d Delivery, ok bool) {
	if err := s.c.UpdateDeadline(s.cfg.CommandTimeout); err != nil {
		return s.failed(name, l, err), false
	}
	if err := ctx.Err(); err != nil {
		s.drop()
		return Delivery{Result: ResultDeferred, Detail: detail("%s: %v", name, err), Err: fmt.Errorf("notify: smtp: send %s: %w", l.MessageID, err)}, false
	}
	if err := run(); err != nil {
		return s.failed(name, l, err), false
	}
	return Delivery{}, true
}

// failed maps the error of a step to a Delivery (docs/notify.md §5), and
// resets the session (RSET) or drops the connection.
func (s *SMTP) failed(step string, l *Letter, err error) Delivery {
	var reply *textproto.Error
	if !errors.As(err, &reply) {
		// No reply: a timeout, a lost connection, a reply that does not
		// parse. Before the end of DATA the relay cannot have taken the
		// message; after it, nobody knows.
		s.drop()
		d := Delivery{Result: ResultDeferred, Detail: detail("%s: %v", step, err)}
		if step == stepEnd {
			d.Result = ResultUnknown
		}
		return d
	}
	d := Delivery{Code: reply.Code, Enhanced: enhancedCode.FindString(reply.Msg), Detail: detail("%s: %d %s", step, reply.Code, reply.Msg)}
	switch reply.Code / 100 {
	case 4:
		d.Result = ResultDeferred
	case 5:
		d.Result = ResultRejected
		if step == stepMail {
			d.Result = ResultDeferred
			d.Err = fmt.Errorf("notify: smtp: %s refused MAIL FROM:<%s>: %s: %w", s.addr, l.EnvelopeFrom, oneLine(reply.Msg), ErrSenderRefused)
		}
	default:
		// A reply that makes no sense at this step: the session cannot be
		// trusted any more.
		s.drop()
		d.Result = ResultDeferred
		if step == stepEnd {
			d.Result = ResultUnknown
		}
		return d
	}
	if reply.Code == 421 { // the relay is closing the connection (RFC 5321 §3.8)
		s.drop()
		return d
	}
	// End the failed transaction, so that the next one starts clean.
	if err := s.c.UpdateDeadline(s.cfg.CommandTimeout); err != nil || s.c.Reset() != nil {
		s.drop()
	}
	return d
}

// drop closes the connection without QUIT; the next Send makes a new one.
func (s *SMTP) drop() {
	if s.c != nil {
		s.c.Close()
	}
	s.conn, s.c = nil, nil
}

// Close says QUIT and closes the connection. It does nothing when the
// connection is closed.
func (s *SMTP) Close(ctx context.Context) error {
	if s.c == nil {
		return nil
	}
	c, conn := s.c, s.conn
	s.conn, s.c = nil, nil
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(pastDeadline) })
	defer stop()
	if err := c.UpdateDeadline(s.cfg.CommandTimeout); err != nil {
		c.Close()
		return fmt.Errorf("notify: smtp: quit %s: %w", s.addr, err)
	}
	if err := c.Quit(); err != nil {
		c.Close()
		return fmt.Errorf("notify: smtp: quit %s: %w", s.addr, err)
	}
	return nil
}
