package notify

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Transport hands letters over to the mail system: an SMTP relay (SMTP)
// or a local sendmail program (Sendmail).
//
// Error contract:
//   - Open prepares the transport and fails early: an SMTP relay that
//     cannot be reached, will not talk, refuses the credentials, or does not
//     offer the TLS that notify.smtp_tls demands (errors.Is(err,
//     ErrTLSUnavailable)); a sendmail program that cannot be run. Nothing
//     has been sent when Open fails.
//   - Send hands one letter over and reports the outcome as a Delivery; it
//     never returns an error value of its own. Delivery.Err is set when the
//     failure is not about this letter's recipient and the caller should
//     stop sending for this run and surface Err: the relay refused our
//     envelope sender (ErrSenderRefused, a 5xx to MAIL FROM, which every
//     further message would meet too), the relay or the sendmail program
//     could not be reached or run, the context was cancelled, or the letter
//     could not be written. Its Result is then ResultDeferred: nothing was
//     handed over.
//   - Close ends the session (SMTP QUIT); its error never changes the
//     outcome of a Send.
//
// The Notifier calls Open once before the first message of a sending run:
// an error that matches ErrTLSUnavailable ends the run (an unusable relay
// setting), others make every message of the run deferred. A Delivery with
// Err set ends the run when Err matches ErrSenderRefused, and makes the
// run's further messages deferred otherwise.
//
// A Transport is used by one goroutine at a time.
type Transport interface {
	Open(ctx context.Context) error
	Send(ctx context.Context, l *Letter) Delivery
	Close(ctx context.Context) error
}

// Result is the outcome of handing one letter over (docs/notify.md §5).
type Result string

// The results of Send.
const (
	// ResultSent: the relay accepted the message (250 after DATA), or
	// sendmail exited 0.
	ResultSent Result = "sent"
	// ResultDeferred: not handed over, try again in a later run: a 4xx at
	// any step, a relay that could not be reached, a connection that
	// dropped before the message's end was sent, sendmail's EX_TEMPFAIL
	// (75) or another failure; also a 5xx to MAIL FROM (with
	// Delivery.Err).
	ResultDeferred Result = "deferred"
	// ResultRejected: the recipient was refused for good: a 5xx to RCPT TO,
	// to DATA or after the message's end; sendmail's EX_NOUSER (67) or
	// EX_NOHOST (68).
	ResultRejected Result = "rejected"
	// ResultUnknown: the handover started and its outcome cannot be known:
	// the message's end was sent and no reply came (a timeout, a lost
	// connection), or sendmail was killed after it was given the whole
	// message. Such a message is never sent again automatically.
	ResultUnknown Result = "unknown"
)

// Delivery is the outcome of one Send.
type Delivery struct {
	Result Result
	// Code is the SMTP reply code (0 when there was none) or, for
	// sendmail, its exit status (-1 when it was killed). Enhanced is the
	// RFC 3463 status code of the reply ("5.1.1"), "" if it had none.
	Code     int
	Enhanced string
	// Detail says what happened in one line of printable ASCII, at most
	// maxDetail bytes: the step and the reply ("RCPT TO: 550 5.1.1 no such
	// user"), or the error. It holds no credentials.
	Detail string
	// Err is a failure that is not about the recipient: see Transport.
	Err error
}

// ErrTLSUnavailable is matched (errors.Is) by the error of Open when
// notify.smtp_tls is mandatory and the relay does not offer STARTTLS, or
// when credentials are configured and the connection is not encrypted:
// lamers does not send a password, or a message it was told to protect, in
// clear.
var ErrTLSUnavailable = errors.New("notify: TLS unavailable")

// ErrSenderRefused is matched by Delivery.Err when the relay answered MAIL
// FROM with a 5xx: it refuses our envelope sender (notify.bounce_address),
// a problem of the configuration, not of the recipient.
var ErrSenderRefused = errors.New("notify: relay refused the envelope sender")

// maxDetail bounds Delivery.Detail.
const maxDetail = 300

// oneLine makes s safe to print on one line: line breaks become "; ",
// bytes other than printable ASCII become "?", and it is cut to maxDetail
// bytes.
func oneLine(s string) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < maxDetail; i++ {
		switch c := s[i]; {
		case c == '\r':
		case c == '\n':
			b.WriteString("; ")
		case c < ' ' || c >= 0x7f:
			b.WriteByte('?')
		default:
			b.WriteByte(c)
		}
	}
	out := strings.TrimSpace(b.String())
	if len(out) > maxDetail {
		out = out[:maxDetail]
	}
	return out
}

// enhancedCode matches an RFC 3463 status code at the start of an SMTP
// reply's text (RFC 2034 §4).
var enhancedCode = regexp.MustCompile(`^[245]\.[0-9]{1,3}\.[0-9]{1,3}\b`)

// detail writes a Delivery.Detail: what failed and why.
func detail(what string, args ...any) string {
	return oneLine(fmt.Sprintf(what, args...))
}

// prepare writes l for a transport; its error is that of a letter that
// cannot be written, or of a ctx that is done.
func prepare(ctx context.Context, transport string, l *Letter) ([]byte, error) {
	raw, err := l.Bytes()
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("notify: %s: send %s: %w", transport, l.MessageID, err)
	}
	return raw, nil
}

// stopped is the Delivery of a letter not handed over because of err, a
// failure that stops the run (Delivery.Err).
func stopped(err error) Delivery {
	return Delivery{Result: ResultDeferred, Detail: oneLine(err.Error()), Err: err}
}
