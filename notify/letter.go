package notify

import (
	"bytes"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/lamers-dev/lamers/notify/bounce"
	gomail "github.com/wneessen/go-mail"
)

// Letter is one composed message, ready to hand to a transport. Its
// header values are plain text; the transport encodes them.
type Letter struct {
	// Token identifies the message: in EnvelopeFrom, MessageID,
	// ListUnsubscribe and the X-Lamers-Token header.
	Token string
	// EnvelopeFrom is the VERP envelope sender LOCAL+TOKEN@DOMAIN.
	EnvelopeFrom string
	// From and ReplyTo are addresses with an optional display name
	// (RFC 5322 §3.4); ReplyTo may be empty.
	From    string
	ReplyTo string
	// To is the recipient's address, without display name.
	To      string
	Subject string
	// MessageID is "<lamers.TOKEN@DOMAIN>".
	MessageID string
	Date      time.Time
	// ListUnsubscribe is the List-Unsubscribe value,
	// "<mailto:LOCAL+TOKEN-unsubscribe@DOMAIN>"; "" only in a report.
	ListUnsubscribe string
	// Report marks a letter to the operator (the digest, ComposeReport):
	// it has no List-Unsubscribe, since the operator stops it in the
	// configuration, and an unsubscription would suppress the operator's
	// address for notify.
	Report bool
	// Text and HTML are the plain-text and HTML parts.
	Text string
	HTML string
}

// bounceAddress is notify.bounce_address split: LOCAL@DOMAIN.
type bounceAddress struct {
	local, domain string
}

// unsubscribeSuffix ends the local part of the List-Unsubscribe address.
const unsubscribeSuffix = "-unsubscribe"

// parseBounceAddress checks notify.bounce_address: one '@', no '+' in the
// local part (the VERP separator), an address that CheckAddress accepts
// (and is taken in the form it returns); the longest address made from it
// must fit an SMTP path.
func parseBounceAddress(s string) (bounceAddress, error) {
	fail := func(format string, args ...any) (bounceAddress, error) {
		return bounceAddress{}, fmt.Errorf("notify: bounce_address %s: %s", quoteText(s), fmt.Sprintf(format, args...))
	}
	local, domain, ok := strings.Cut(s, "@")
	switch {
	case s == "":
		return fail("empty")
	case !ok || strings.Contains(domain, "@"):
		return fail("not LOCAL@DOMAIN with one '@'")
	case strings.Contains(local, "+"):
		return fail("the local part has a '+', which lamers adds itself (LOCAL+TOKEN@DOMAIN)")
	}
	addr, reason := checkAddress(s)
	if reason != "" {
		return fail("%s", reason)
	}
	local, domain, _ = strings.Cut(addr, "@")
	if n := len(local) + 1 + bounce.TokenLen + len(unsubscribeSuffix) + 1 + len(domain); n > maxPath {
		return fail("too long: the unsubscribe address would have %d octets, more than %d", n, maxPath)
	}
	return bounceAddress{local: local, domain: domain}, nil
}

// CheckBounceAddress checks notify.bounce_address as the letter writer
// does: a LOCAL@DOMAIN that CheckAddress returns, without '+' in LOCAL,
// short enough for the addresses made from it.
func CheckBounceAddress(s string) error {
	_, err := parseBounceAddress(s)
	return err
}

// verp is the envelope sender of the message with token t.
func (b bounceAddress) verp(t string) string { return b.local + "+" + t + "@" + b.domain }

// unsubscribe is the List-Unsubscribe address of the message with token t.
func (b bounceAddress) unsubscribe(t string) string {
	return b.local + "+" + t + unsubscribeSuffix + "@" + b.domain
}

// messageID is the Message-ID of the message with token t.
func (b bounceAddress) messageID(t string) string { return "<lamers." + t + "@" + b.domain + ">" }

// VERP returns the envelope sender of the message with token:
// LOCAL+TOKEN@DOMAIN from bounceAddress (notify.bounce_address, LOCAL@DOMAIN).
func VERP(bounceAddress, token string) (string, error) {
	b, err := parseBounceAddress(bounceAddress)
	if err != nil {
		return "", err
	}
	if !bounce.ValidToken(token) {
		return "", fmt.Errorf("notify: token %s: not %d characters of a-z and 2-7", quoteText(token), bounce.TokenLen)
	}
	return b.verp(token), nil
}

// parseMailbox checks the value of the configuration key key (from,
// reply_to) as it is written: an RFC 5322 mailbox, with an optional
// display name without control characters, whose address is plain
// (plainAddress).
func parseMailbox(key, s string) (*mail.Address, error) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("notify: %s %s: %w", key, quoteText(s), err)
	}
	if reason := plainAddress(a.Address); reason != "" {
		return nil, fmt.Errorf("notify: %s %s: %s", key, quoteText(s), reason)
	}
	if strings.IndexFunc(a.Name, unicode.IsControl) >= 0 {
		return nil, fmt.Errorf("notify: %s %s: the display name has a control character", key, quoteText(s))
	}
	return a, nil
}

// CheckMailbox checks the value of the configuration key key (from,
// reply_to) and returns it as the letter writer takes it: s itself when
// its address is as CheckAddress returns it, else the mailbox with that
// address, formatted by net/mail.
func CheckMailbox(key, s string) (string, error) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "", fmt.Errorf("notify: %s %s: %w", key, quoteText(s), err)
	}
	addr, err := CheckAddress(a.Address)
	if err != nil {
		return "", err
	}
	out := s
	if addr != a.Address {
		a.Address = addr
		out = a.String()
	}
	if _, err := parseMailbox(key, out); err != nil {
		return "", err
	}
	return out, nil
}

// plainAddress says why addr is not an address lamers writes into a
// header or an SMTP command as it is, or "": it must be one CheckAddress
// accepts, and already in the form CheckAddress returns (the case of the
// domain aside) — so no final dot, no domain in Unicode. The contact chain
// and the configuration make only such addresses.
func plainAddress(addr string) string {
	out, reason := checkAddress(addr)
	switch {
	case reason != "":
		return reason
	case !asciiEqualFold(out, addr):
		return fmt.Sprintf("not written as sent: %s", quoteText(out))
	}
	return ""
}

// asciiEqualFold reports whether a and b are equal, ASCII letters compared
// without regard to case; other bytes must be equal.
func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	lower := func(c byte) byte {
		if 'A' <= c && c <= 'Z' {
			return c + 'a' - 'A'
		}
		return c
	}
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

// errLetter is the cause of a letter a transport refuses to send.
var errLetter = errors.New("not a sendable letter")

// check is the transports' last look at l before a byte goes out: every
// header value one line of printable text, the addresses plain ASCII.
// Compose makes only letters that pass; a Letter built by hand might not.
func (l *Letter) check() error {
	for _, a := range []struct{ name, v string }{
		{"envelope sender", l.EnvelopeFrom}, {"To", l.To},
	} {
		if reason := plainAddress(a.v); reason != "" {
			return fmt.Errorf("%w: %s %s: %s", errLetter, a.name, quoteText(a.v), reason)
		}
	}
	for _, h := range []struct{ name, v string }{
		{"From", l.From}, {"Reply-To", l.ReplyTo}, {"Subject", l.Subject}, {"Message-ID", l.MessageID},
		{"List-Unsubscribe", l.ListUnsubscribe}, {"X-Lamers-Token", l.Token},
	} {
		if !utf8.ValidString(h.v) || strings.IndexFunc(h.v, unicode.IsControl) >= 0 {
			return fmt.Errorf("%w: %s %s has a control character or invalid UTF-8", errLetter, h.name, quoteText(h.v))
		}
	}
	switch {
	case l.From == "":
		return fmt.Errorf("%w: no From (notify.from)", errLetter)
	case !bounce.ValidToken(l.Token):
		return fmt.Errorf("%w: token %s", errLetter, quoteText(l.Token))
	case l.Subject == "" || l.MessageID == "" || (l.ListUnsubscribe == "" && !l.Report) || l.Date.IsZero():
		return fmt.Errorf("%w: Subject, Message-ID, List-Unsubscribe or Date missing", errLetter)
	case l.Report && l.ListUnsubscribe != "":
		return fmt.Errorf("%w: a report has no List-Unsubscribe", errLetter)
	}
	return nil
}

// message builds the MIME message of l with go-mail: the headers of
// docs/notify.md, section 4 (a report without List-Unsubscribe), and
// multipart/alternative with the text and
// the HTML part (quoted-printable, UTF-8).
func (l *Letter) message() (*gomail.Msg, error) {
	if err := l.check(); err != nil {
		return nil, err
	}
	m := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	for _, set := range []struct {
		name string
		fn   func(string) error
		v    string
	}{
		{"envelope sender", m.EnvelopeFrom, l.EnvelopeFrom}, {"From", m.From, l.From}, {"To", func(a string) error { return m.To(a) }, l.To},
		{"Reply-To", m.ReplyTo, l.ReplyTo},
	} {
		if set.v == "" {
			continue
		}
		if err := set.fn(set.v); err != nil {
			return nil, fmt.Errorf("%w: %s %s: %w", errLetter, set.name, quoteText(set.v), err)
		}
	}
	m.Subject(l.Subject)
	m.SetDateWithValue(l.Date)
	m.SetMessageIDWithValue(strings.TrimSuffix(strings.TrimPrefix(l.MessageID, "<"), ">"))
	m.SetGenHeader("Auto-Submitted", "auto-generated")
	m.SetBulk()
	if l.ListUnsubscribe != "" {
		m.SetListUnsubscribe(l.ListUnsubscribe)
	}
	m.SetGenHeader("X-Lamers-Token", l.Token)
	m.SetBodyString(gomail.TypeTextPlain, l.Text)
	m.AddAlternativeString(gomail.TypeTextHTML, l.HTML)
	return m, nil
}

// bytes renders l's whole message, CRLF line ends.
func (l *Letter) bytes() ([]byte, error) {
	m, err := l.message()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if _, err := m.WriteTo(&b); err != nil {
		return nil, fmt.Errorf("%w: write the message: %w", errLetter, err)
	}
	return b.Bytes(), nil
}
