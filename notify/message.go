package notify

import (
	"bytes"
	"fmt"
	"io"
	"net/mail"
	"strings"

	gomail "github.com/wneessen/go-mail"

	"github.com/lamers-dev/lamers/notify/bounce"
)

// Header fields lamers adds besides go-mail's own.
const (
	headerAutoSubmitted = "Auto-Submitted"
	headerToken         = "X-Lamers-Token"
)

// WriteTo writes the letter as an RFC 5322 message with CRLF line ends:
// From, Reply-To (when set), To, Subject, Date, Message-ID,
// Auto-Submitted: auto-generated (RFC 3834 §5), Precedence: bulk and
// X-Auto-Response-Suppress: All, List-Unsubscribe (RFC 2369),
// X-Lamers-Token, and a multipart/alternative body (RFC 2046 §5.1.4) of a
// text/plain and a text/html part, UTF-8, quoted-printable. Text in header
// fields is RFC 2047-encoded when it is not printable ASCII. A field with a
// control character (CR and LF among them) or invalid UTF-8, or an address
// that is not a bare ASCII address, is refused: nothing is written.
func (l *Letter) WriteTo(w io.Writer) (int64, error) {
	m, err := l.msg()
	if err != nil {
		return 0, err
	}
	n, err := m.WriteTo(w)
	if err != nil {
		return n, fmt.Errorf("notify: write message %s: %w", l.MessageID, err)
	}
	return n, nil
}

// Bytes returns the message as WriteTo writes it.
func (l *Letter) Bytes() ([]byte, error) {
	var b bytes.Buffer
	if _, err := l.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// check reports the first field of the letter that may not be written.
func (l *Letter) check() error {
	fail := func(field, value, reason string) error {
		return fmt.Errorf("notify: letter %s: %s %s: %s", quoteName(l.MessageID), field, quoteName(value), reason)
	}
	for _, a := range []struct{ field, value string }{{"envelope sender", l.EnvelopeFrom}, {"To", l.To}} {
		if reason := bareAddressProblem(a.value); reason != "" {
			return fail(a.field, a.value, reason)
		}
	}
	for _, h := range []struct{ field, value string }{
		{"From", l.From}, {"Reply-To", l.ReplyTo}, {"Subject", l.Subject}, {"Message-ID", l.MessageID},
		{"List-Unsubscribe", l.ListUnsubscribe}, {headerToken, l.Token},
	} {
		if reason := headerTextProblem(h.value); reason != "" {
			return fail(h.field, h.value, reason)
		}
	}
	if !bounce.ValidToken(l.Token) {
		return fail(headerToken, l.Token, "not a token")
	}
	if l.From == "" || l.Subject == "" || l.Date.IsZero() {
		return fmt.Errorf("notify: letter %s: From, Subject or Date missing", quoteName(l.MessageID))
	}
	id := strings.TrimSuffix(strings.TrimPrefix(l.MessageID, "<"), ">")
	if len(id)+2 != len(l.MessageID) || bareAddressProblem(id) != "" {
		return fail("Message-ID", l.MessageID, "not <left@right>")
	}
	uri := strings.TrimSuffix(strings.TrimPrefix(l.ListUnsubscribe, "<mailto:"), ">")
	if len(uri)+len("<mailto:>") != len(l.ListUnsubscribe) || bareAddressProblem(uri) != "" {
		return fail("List-Unsubscribe", l.ListUnsubscribe, "not <mailto:address>")
	}
	return nil
}

// msg builds the go-mail message of the letter.
func (l *Letter) msg() (*gomail.Msg, error) {
	if err := l.check(); err != nil {
		return nil, err
	}
	m := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := m.EnvelopeFrom(l.EnvelopeFrom); err != nil {
		return nil, fmt.Errorf("notify: letter %s: envelope sender: %w", l.MessageID, err)
	}
	from, err := mail.ParseAddress(l.From)
	if err != nil {
		return nil, fmt.Errorf("notify: letter %s: From: %w", l.MessageID, err)
	}
	m.FromMailAddress(from)
	if l.ReplyTo != "" {
		replyTo, err := mail.ParseAddress(l.ReplyTo)
		if err != nil {
			return nil, fmt.Errorf("notify: letter %s: Reply-To: %w", l.MessageID, err)
		}
		m.ReplyToMailAddress(replyTo)
	}
	m.ToMailAddress(&mail.Address{Address: l.To})
	m.Subject(l.Subject)
	m.SetDateWithValue(l.Date)
	m.SetMessageIDWithValue(strings.TrimSuffix(strings.TrimPrefix(l.MessageID, "<"), ">"))
	m.SetGenHeader(headerAutoSubmitted, "auto-generated")
	m.SetBulk()
	m.SetGenHeader(gomail.HeaderListUnsubscribe, l.ListUnsubscribe)
	m.SetGenHeader(headerToken, l.Token)
	m.SetBodyString(gomail.TypeTextPlain, l.Text)
	m.AddAlternativeString(gomail.TypeTextHTML, l.HTML)
	return m, nil
}
