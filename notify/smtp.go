package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

// TLSPolicy is notify.smtp_tls: how the SMTP transport uses TLS.
type TLSPolicy string

// The TLS policies.
const (
	// TLSMandatory: STARTTLS (RFC 3207) is required; a relay that does not
	// offer it gets nothing but EHLO and QUIT (ErrTLSUnavailable).
	TLSMandatory TLSPolicy = "mandatory"
	// TLSOpportunistic: STARTTLS when the relay offers it, else clear text.
	TLSOpportunistic TLSPolicy = "opportunistic"
	// TLSNone: never TLS.
	TLSNone TLSPolicy = "none"
	// TLSImplicit: TLS from the first byte (RFC 8314 §3.3, port 465).
	TLSImplicit TLSPolicy = "implicit"
)

// ParseTLSPolicy returns the policy named s (notify.smtp_tls).
func ParseTLSPolicy(s string) (TLSPolicy, error) {
	switch p := TLSPolicy(s); p {
	case TLSMandatory, TLSOpportunistic, TLSNone, TLSImplicit:
		return p, nil
	}
	return "", fmt.Errorf("notify: smtp_tls %s: not mandatory, opportunistic, none or implicit", quoteText(s))
}

// The SMTP transport's default timeouts. Connecting (TCP and, with
// implicit TLS, the handshake) gets ConnectTimeout; every command and the
// transfer of a message's data get CommandTimeout each. RFC 5321
// §4.5.3.2 asks for 5 minutes for MAIL, RCPT and the greeting, 3 for a
// data block and 10 after the end of the data; 5 minutes throughout
// keeps a hung relay from holding a run for long, and a relay that needs
// longer after the data leaves the message unknown, never sent twice.
const (
	DefaultConnectTimeout = 30 * time.Second
	DefaultCommandTimeout = 5 * time.Minute
)

// SMTPConfig is the configuration of the SMTP transport (notify.smtp_*).
type SMTPConfig struct {
	Host string
	Port int
	TLS  TLSPolicy
	// Username and PasswordFile enable authentication: the password is
	// the file's content without its final line break. It is read by
	// NewSMTP and never logged or printed.
	Username     string
	PasswordFile string
	// HELO is the name lamers greets with; "" is the host name.
	HELO string
	// ConnectTimeout and CommandTimeout default to DefaultConnectTimeout
	// and DefaultCommandTimeout when zero.
	ConnectTimeout time.Duration
	CommandTimeout time.Duration
	// TLSConfig verifies the relay's certificate; nil uses the system's
	// roots and Host as the server name (a tests' own CA goes here).
	TLSConfig *tls.Config
}

// SMTP hands letters to a relay over one SMTP connection for a run's
// messages (docs/notify.md, section 5): Open dials, greets, starts TLS as
// the policy says and authenticates; each Send is one mail transaction
// followed by RSET; Close says QUIT.
type SMTP struct {
	cfg      SMTPConfig
	addr     string // host:port
	tls      *tls.Config
	password string

	sc   *smtp.Client
	conn atomic.Pointer[abortConn]
	// broken is set once the connection is lost or out of step; Send then
	// defers without touching it.
	broken error
}

// NewSMTP checks cfg and reads the password file. Errors name the
// configuration key.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	switch {
	case cfg.Host == "" || strings.ContainsFunc(cfg.Host, func(r rune) bool { return r <= ' ' || r >= 0x7f }):
		return nil, fmt.Errorf("notify: smtp_host %s: not a host name or address", quoteText(cfg.Host))
	case cfg.Port <= 0 || cfg.Port > 65535:
		return nil, fmt.Errorf("notify: smtp_port %d: not a port number", cfg.Port)
	case cfg.Username != "" && cfg.PasswordFile == "":
		return nil, errors.New("notify: smtp_password_file: needed with smtp_username")
	case cfg.Username == "" && cfg.PasswordFile != "":
		return nil, errors.New("notify: smtp_username: needed with smtp_password_file")
	}
	if _, err := ParseTLSPolicy(string(cfg.TLS)); err != nil {
		return nil, err
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.CommandTimeout <= 0 {
		cfg.CommandTimeout = DefaultCommandTimeout
	}
	t := &SMTP{cfg: cfg, addr: net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))}
	t.tls = &tls.Config{ServerName: cfg.Host, MinVersion: tls.VersionTLS12}
	if cfg.TLSConfig != nil {
		t.tls = cfg.TLSConfig.Clone()
		if t.tls.ServerName == "" {
			t.tls.ServerName = cfg.Host
		}
	}
	if cfg.PasswordFile != "" {
		p, err := readPassword(cfg.PasswordFile)
		if err != nil {
			return nil, err
		}
		t.password = p
	}
	return t, nil
}

// readPassword reads a password file: one line, its line break dropped.
// Errors never hold the file's content.
func readPassword(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("notify: smtp_password_file: %w", err)
	}
	p := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	switch {
	case p == "":
		return "", fmt.Errorf("notify: smtp_password_file %s: empty", path)
	case strings.ContainsAny(p, "\r\n\x00"):
		return "", fmt.Errorf("notify: smtp_password_file %s: more than one line, or a NUL byte", path)
	}
	return p, nil
}

// Open connects to the relay: TCP (and TLS, when implicit), the greeting,
// EHLO, STARTTLS as the policy says, AUTH when a username is set. With a
// mandatory or implicit policy a connection without TLS is refused with
// ErrTLSUnavailable before anything but EHLO was said, and so is AUTH
// without TLS under any policy.
func (t *SMTP) Open(ctx context.Context) error {
	if t.sc != nil {
		return fmt.Errorf("notify: smtp %s: already open", t.addr)
	}
	t.broken = nil
	policy := gomail.TLSOpportunistic
	if t.cfg.TLS == TLSNone {
		policy = gomail.NoTLS
	}
	// Mandatory TLS is checked here after the dial, not by go-mail, whose
	// error for it is not one errors.Is can match; AUTH (tlsOnlyAuth)
	// refuses a connection without TLS before it sends anything.
	opts := []gomail.Option{
		gomail.WithPort(t.cfg.Port), gomail.WithTimeout(t.cfg.CommandTimeout), gomail.WithTLSPolicy(policy),
		gomail.WithTLSConfig(t.tls), gomail.WithoutSMTPUTF8(), gomail.WithDialContextFunc(t.dial),
	}
	if t.cfg.HELO != "" {
		opts = append(opts, gomail.WithHELO(t.cfg.HELO))
	}
	var auth *tlsOnlyAuth
	if t.cfg.Username != "" {
		auth = &tlsOnlyAuth{user: t.cfg.Username, pass: t.password}
		opts = append(opts, gomail.WithSMTPAuthCustom(auth))
	}
	c, err := gomail.NewClient(t.cfg.Host, opts...)
	if err != nil {
		return fmt.Errorf("notify: smtp %s: %w", t.addr, err)
	}
	stop := context.AfterFunc(ctx, t.abort)
	sc, err := c.DialToSMTPClientWithContext(ctx)
	if !stop() && err == nil {
		err = context.Cause(ctx) // ctx ended just after: the connection is aborted
	}
	if err != nil {
		t.closeConn()
		var te *textproto.Error
		if auth != nil && auth.started && errors.As(err, &te) && te.Code >= 500 {
			// 535 and kin (RFC 4954 §6): the credentials are refused, and
			// will be refused on every run until the setting is fixed.
			return fmt.Errorf("notify: smtp %s: smtp_username or smtp_password_file: %w: %w", t.addr, ErrAuthFailed, err)
		}
		return fmt.Errorf("notify: smtp %s: %w", t.addr, err)
	}
	if _, ok := sc.TLSConnectionState(); !ok && (t.cfg.TLS == TLSMandatory || t.cfg.TLS == TLSImplicit) {
		_ = sc.Quit()
		t.closeConn()
		return fmt.Errorf("notify: smtp %s: STARTTLS not offered, and smtp_tls is %s: %w", t.addr, t.cfg.TLS, ErrTLSUnavailable)
	}
	// Bounces come back with the headers only, which hold the token
	// (RFC 3461 §4.3; sent only to a relay that offers DSN).
	sc.SetDSNMailReturnOption(string(gomail.DSNMailReturnHeadersOnly))
	sc.SetDSNRcptNotifyOption(string(gomail.DSNRcptNotifyFailure) + "," + string(gomail.DSNRcptNotifyDelay))
	t.sc = sc
	return nil
}

// dial opens the TCP connection (and, for implicit TLS, the TLS session)
// within ConnectTimeout; the connection can be aborted when a context
// ends.
func (t *SMTP) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, t.cfg.ConnectTimeout)
	defer cancel()
	var d net.Dialer
	raw, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	ac := &abortConn{Conn: raw}
	t.conn.Store(ac)
	if t.cfg.TLS != TLSImplicit {
		return ac, nil
	}
	tc := tls.Client(ac, t.tls)
	if err := tc.HandshakeContext(ctx); err != nil {
		ac.Close()
		return nil, fmt.Errorf("TLS handshake: %w", err)
	}
	return tc, nil
}

// abort makes every pending and later read and write of the connection
// fail at once (a context ended).
func (t *SMTP) abort() {
	if ac := t.conn.Load(); ac != nil {
		ac.abort()
	}
}

// closeConn closes the connection, whatever state it is in.
func (t *SMTP) closeConn() {
	if ac := t.conn.Load(); ac != nil {
		ac.Close()
	}
}

// Send hands l over in one mail transaction: MAIL FROM (the VERP
// envelope sender), RCPT TO, DATA, the message, and RSET after it. Each
// command has CommandTimeout; ctx ending aborts the connection. The
// result follows the relay's reply at the step that ended the transaction
// (see Result); without a reply (a timeout, a lost connection) it is
// deferred before the end of the data and unknown after it, and the
// connection is not used again.
func (t *SMTP) Send(ctx context.Context, l *Letter) Delivery {
	switch {
	case t.sc == nil:
		err := fmt.Errorf("notify: smtp %s: not open", t.addr)
		return Delivery{Result: ResultDeferred, Detail: "not handed over: the connection is not open", Err: err}
	case t.broken != nil:
		return Delivery{Result: ResultDeferred, Detail: "not handed over: " + oneLine(t.broken.Error()), Err: t.broken}
	case ctx.Err() != nil:
		return Delivery{Result: ResultDeferred, Detail: "not handed over: stopped", Err: ctx.Err()}
	}
	data, err := l.bytes()
	if err != nil {
		return Delivery{Result: ResultDeferred, Detail: oneLine(err.Error()), Err: fmt.Errorf("notify: smtp: %w", err)}
	}
	stop := context.AfterFunc(ctx, t.abort)
	d := t.transact(l, data)
	if !stop() && t.broken == nil {
		// ctx ended after the transaction: the connection is aborted.
		t.broken = fmt.Errorf("notify: smtp %s: %w: %w", t.addr, errBroken, context.Cause(ctx))
		d.Err = t.broken
	}
	return d
}

// transact runs the mail transaction of one message.
func (t *SMTP) transact(l *Letter, data []byte) Delivery {
	sc := t.sc
	if err := t.step(func() error { return sc.Mail("<" + l.EnvelopeFrom + ">") }); err != nil {
		return t.refused("MAIL FROM", err)
	}
	if err := t.step(func() error { return sc.Rcpt("<" + l.To + ">") }); err != nil {
		return t.refused("RCPT TO", err)
	}
	var w *smtp.DataCloser
	if err := t.step(func() error {
		wc, err := sc.Data()
		if err == nil {
			var ok bool
			if w, ok = wc.(*smtp.DataCloser); !ok {
				err = fmt.Errorf("go-mail gave a %T for the data", wc)
			}
		}
		return err
	}); err != nil {
		return t.refused("DATA", err)
	}
	if err := t.step(func() error { _, err := w.Write(data); return err }); err != nil {
		// The end of the data was not sent: the relay cannot have taken
		// the message. Drop the connection so that it never sees an end.
		return t.lost("DATA", err, ResultDeferred)
	}
	if err := t.step(w.Close); err != nil {
		var te *textproto.Error
		if !errors.As(err, &te) || te.Code < 400 || te.Code > 599 {
			return t.lost("end of data", err, ResultUnknown)
		}
		d := parseReply(te.Code, te.Msg)
		d.Result = ResultDeferred
		if te.Code >= 500 {
			d.Result = ResultRejected
		}
		return d
	}
	d := parseReply(250, w.ServerResponse())
	d.Result = ResultSent
	if err := t.step(sc.Reset); err != nil {
		// Sent all the same; the connection is not used again.
		lost := t.lost("RSET", err, ResultSent)
		d.Err = lost.Err
	}
	return d
}

// step runs one command with CommandTimeout.
func (t *SMTP) step(f func() error) error {
	if err := t.sc.UpdateDeadline(t.cfg.CommandTimeout); err != nil {
		return err
	}
	return f()
}

// refused is the delivery of a transaction that ended before the data:
// a 4xx is deferred, a 5xx rejected — except at MAIL FROM, where it is
// deferred with ErrSenderRejected (the relay refuses lamers' sender, not
// the recipient). The transaction is reset. Without a reply the
// connection is lost and the message deferred.
func (t *SMTP) refused(step string, err error) Delivery {
	var te *textproto.Error
	if !errors.As(err, &te) || te.Code < 400 || te.Code > 599 {
		return t.lost(step, err, ResultDeferred)
	}
	d := parseReply(te.Code, te.Msg)
	switch {
	case te.Code < 500:
		d.Result = ResultDeferred
	case step == "MAIL FROM":
		d.Result = ResultDeferred
		d.Err = fmt.Errorf("notify: smtp %s: MAIL FROM: %d %s: %w", t.addr, te.Code, oneLine(te.Msg), ErrSenderRejected)
	default:
		d.Result = ResultRejected
	}
	if rerr := t.step(t.sc.Reset); rerr != nil {
		lost := t.lost("RSET", rerr, d.Result)
		if d.Err == nil {
			d.Err = lost.Err
		}
	}
	return d
}

// lost marks the connection broken after err (no reply, or an
// unexpected one) at step, closes it, and returns the delivery res.
func (t *SMTP) lost(step string, err error, res Result) Delivery {
	t.broken = fmt.Errorf("notify: smtp %s: %s: %w: %w", t.addr, step, errBroken, err)
	t.closeConn()
	return Delivery{Result: res, Detail: oneLine(fmt.Sprintf("%s: %v", step, err)), Err: t.broken}
}

// Close says QUIT and closes the connection; after a lost connection it
// only closes it.
func (t *SMTP) Close(ctx context.Context) error {
	if t.sc == nil {
		return nil
	}
	defer func() {
		t.sc = nil
		t.closeConn()
	}()
	if t.broken != nil {
		return nil
	}
	stop := context.AfterFunc(ctx, t.abort)
	defer stop()
	if err := t.step(t.sc.Quit); err != nil {
		return fmt.Errorf("notify: smtp %s: QUIT: %w", t.addr, err)
	}
	return nil
}

// enhancedCode matches an RFC 3463 status code at the start of a reply's
// text (RFC 2034 §4).
var enhancedCode = regexp.MustCompile(`^([245])\.[0-9]{1,3}\.[0-9]{1,3}$`)

// parseReply splits a reply's text into its enhanced status code and the
// rest, on one line. RFC 2034 §4 puts the code at the start of every line
// of a multi-line reply; some servers put it on the last line only. A
// code is taken only when its class is the reply code's (RFC 3463 §2).
func parseReply(code int, msg string) Delivery {
	d := Delivery{Code: code}
	lines := strings.Split(msg, "\n")
	for _, line := range lines {
		first, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		if m := enhancedCode.FindStringSubmatch(first); m != nil && strconv.Itoa(code)[:1] == m[1] {
			d.Enhanced = first
			break
		}
	}
	if d.Enhanced != "" {
		for i, line := range lines {
			lines[i] = strings.TrimPrefix(strings.TrimSpace(line), d.Enhanced+" ")
		}
	}
	d.Detail = oneLine(strings.Join(lines, " "))
	return d
}

// maxDetail bounds Delivery.Detail.
const maxDetail = 300

// oneLine makes s one line of printable ASCII: line breaks and tabs
// become spaces, runs of spaces one, other bytes '?'; cut to maxDetail.
func oneLine(s string) string {
	var b strings.Builder
	space := false
	for i := 0; i < len(s) && b.Len() < maxDetail; i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			space = b.Len() > 0
			continue
		case c < ' ' || c >= 0x7f:
			c = '?'
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteByte(c)
	}
	return b.String()
}

// tlsOnlyAuth authenticates with PLAIN (RFC 4616) or LOGIN, on a
// connection with TLS only: without TLS it refuses before a byte of the
// credentials is sent.
type tlsOnlyAuth struct {
	user, pass string
	inner      smtp.Auth
	// started is set once credentials were offered: a failure after it
	// is the relay refusing them.
	started bool
}

// Start picks the mechanism from what the relay offers.
func (a *tlsOnlyAuth) Start(s *smtp.ServerInfo) (string, []byte, error) {
	switch {
	case !s.TLS:
		return "", nil, fmt.Errorf("AUTH needs TLS, and the connection has none (smtp_tls): %w", ErrTLSUnavailable)
	case slices.Contains(s.Auth, "PLAIN"):
		a.inner = smtp.PlainAuth("", a.user, a.pass, s.Name, false)
	case slices.Contains(s.Auth, "LOGIN"):
		a.inner = smtp.LoginAuth(a.user, a.pass, s.Name, false)
	default:
		return "", nil, fmt.Errorf("the relay offers no AUTH mechanism lamers uses (PLAIN, LOGIN); it offers %s",
			oneLine(strings.Join(s.Auth, " ")))
	}
	a.started = true
	return a.inner.Start(s)
}

// Next answers the relay's challenges.
func (a *tlsOnlyAuth) Next(from []byte, more bool) ([]byte, error) {
	return a.inner.Next(from, more)
}

// abortConn is a connection that a context's end can break at once: once
// aborted, every deadline is in the past, whatever the SMTP client sets.
type abortConn struct {
	net.Conn
	mu      sync.Mutex
	aborted bool
}

// past is a deadline that has passed.
var past = time.Unix(1, 0)

func (c *abortConn) abort() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.aborted = true
	c.Conn.SetDeadline(past)
}

func (c *abortConn) deadline(t time.Time, set func(time.Time) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.aborted {
		t = past
	}
	return set(t)
}

// SetDeadline sets the connection's deadline, or a past one once aborted.
func (c *abortConn) SetDeadline(t time.Time) error { return c.deadline(t, c.Conn.SetDeadline) }

// SetReadDeadline sets the read deadline, or a past one once aborted.
func (c *abortConn) SetReadDeadline(t time.Time) error { return c.deadline(t, c.Conn.SetReadDeadline) }

// SetWriteDeadline sets the write deadline, or a past one once aborted.
func (c *abortConn) SetWriteDeadline(t time.Time) error {
	return c.deadline(t, c.Conn.SetWriteDeadline)
}
