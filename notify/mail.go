package notify

import (
	"context"
	"errors"
	"fmt"
)

// Result is what became of a message handed to a transport.
type Result uint8

// The results of Transport.Send (docs/notify.md, section 5).
const (
	// ResultSent: the relay accepted the message (250 after DATA;
	// sendmail exit 0).
	ResultSent Result = iota + 1
	// ResultDeferred: nothing was handed over, or the relay answered 4xx:
	// a connection that could not be made or dropped before the end of
	// the data, a 4xx at any step, sendmail's EX_TEMPFAIL and most other
	// failures. The findings are planned again next run.
	ResultDeferred
	// ResultRejected: a 5xx to RCPT TO, DATA or the end of the data, or
	// sendmail's EX_NOUSER/EX_NOHOST: the address is dead for the
	// message's findings.
	ResultRejected
	// ResultUnknown: the handover started and its outcome cannot be known:
	// no reply (a timeout, a lost connection) after the end of the data
	// was sent; sendmail killed after it read the whole message. Never
	// sent again on its own.
	ResultUnknown
)

// String returns the lowercase name of r: sent, deferred, rejected,
// unknown.
func (r Result) String() string {
	switch r {
	case ResultSent:
		return "sent"
	case ResultDeferred:
		return "deferred"
	case ResultRejected:
		return "rejected"
	case ResultUnknown:
		return "unknown"
	}
	return "invalid"
}

// Delivery is a transport's answer to one message.
type Delivery struct {
	Result Result
	// Code is the relay's reply code (250, 451, 550; 0 without a reply or
	// with sendmail), Enhanced its RFC 3463 status code when it gave one
	// ("5.1.1").
	Code     int
	Enhanced string
	// Detail is the reply's text or what went wrong, on one line of
	// printable ASCII, at most 300 bytes: safe to print and to store.
	Detail string
	// Err is set when the transport can hand over nothing more in this
	// run: the relay refused the envelope sender (ErrSenderRejected, a
	// configuration problem), sendmail said its setting is wrong
	// (ErrRelaySetting), the connection to the relay is lost or in
	// an unknown state, the letter was not sendable, sendmail could not be
	// run, or ctx ended. The caller stops sending and reports Err; Result
	// still says what became of this message.
	Err error
}

// Answer is the relay's answer in one line, "550 5.1.1 user unknown", or
// "no answer".
func (d Delivery) Answer() string {
	s := ""
	if d.Code != 0 {
		s = fmt.Sprintf("%d ", d.Code)
	}
	if d.Enhanced != "" {
		s += d.Enhanced + " "
	}
	if s+d.Detail == "" {
		return "no answer"
	}
	return s + d.Detail
}

// Transport hands letters to a relay: SMTP (SMTP) or a local sendmail
// binary (Sendmail). A Transport is used by one goroutine.
//
// Open prepares it once before the first message of a run. SMTP connects,
// greets, starts TLS and authenticates; its error means nothing can be
// sent in this run. An error that matches ErrTLSUnavailable (errors.Is) is
// a relay setting that cannot work — mandatory TLS not offered, AUTH
// configured without TLS — and ends the run, as does one that matches
// ErrAuthFailed (the relay refuses the credentials) or ErrRelaySetting
// (sendmail_path cannot be run); other errors (the relay down) make the
// run's messages deferred.
//
// Send hands one letter over and never fails: it reports a Delivery. When
// Delivery.Err is set, later calls return deferred without touching the
// network. Close ends the session (SMTP QUIT); it is safe after a failed
// Open and may be called more than once.
type Transport interface {
	Open(ctx context.Context) error
	Send(ctx context.Context, l *Letter) Delivery
	Close(ctx context.Context) error
}

var (
	_ Transport = (*SMTP)(nil)
	_ Transport = (*Sendmail)(nil)
)

// ErrTLSUnavailable is matched (errors.Is) by SMTP.Open's error when
// smtp_tls is mandatory and the relay does not offer STARTTLS, or when
// AUTH is configured and the connection has no TLS.
var ErrTLSUnavailable = errors.New("notify: the relay does not offer STARTTLS")

// ErrAuthFailed is matched (errors.Is) by SMTP.Open's error when the relay
// refuses the configured credentials with a 5xx reply.
var ErrAuthFailed = errors.New("notify: the relay refuses the credentials")

// ErrRelaySetting is matched (errors.Is) by a transport's error when a
// relay setting cannot work: Sendmail.Open's when sendmail_path is not an
// absolute path to an executable file, and Delivery.Err when the binary
// cannot be run for that reason or exits 64 (EX_USAGE), 77 (EX_NOPERM) or
// 78 (EX_CONFIG). Like ErrTLSUnavailable it ends the run.
var ErrRelaySetting = errors.New("notify: the relay setting cannot work")

// settingError is an error that also matches ErrRelaySetting, its text
// unchanged.
type settingError struct{ err error }

func (e *settingError) Error() string   { return e.err.Error() }
func (e *settingError) Unwrap() []error { return []error{e.err, ErrRelaySetting} }

// badSetting marks err as a relay setting that cannot work.
func badSetting(err error) error { return &settingError{err: err} }

// endsRun reports whether err, from Open or in Delivery.Err, is a setting
// to fix rather than a passing trouble: the run stops and says so.
func endsRun(err error) bool {
	return errors.Is(err, ErrTLSUnavailable) || errors.Is(err, ErrAuthFailed) || errors.Is(err, ErrSenderRejected) ||
		errors.Is(err, ErrRelaySetting)
}

// ErrSenderRejected is matched by Delivery.Err when the relay answers 5xx
// to MAIL FROM: it refuses lamers' envelope sender (bounce_address), for
// every message.
var ErrSenderRejected = errors.New("notify: the relay refuses the envelope sender")

// errBroken is matched by Delivery.Err once a connection is lost or in an
// unknown state: later messages are deferred without touching it.
var errBroken = errors.New("the connection to the relay is lost")
