package digest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lamers-dev/lamers/notify"
	"github.com/lamers-dev/lamers/store"
	"github.com/lamers-dev/lamers/templates"
)

// Mailing a digest (docs/digest.md): the letter is composed by notify's
// LetterWriter (From, Reply-To and the VERP envelope sender of the
// configuration, Auto-Submitted, no List-Unsubscribe), recorded pending in
// the digests table, handed to notify's transport and marked with what
// became of it — as notify records its messages in the outbox. A digest
// whose fate is unknown is never handed over again: the next one covers
// its period, since it starts where the last one sent ended.

// SendStore is what mailing a digest records (package store satisfies
// it). AddDigest records a pending digest in one transaction; FinishDigest
// records its outcome, and fails for a digest that is not waiting for one.
type SendStore interface {
	AddDigest(ctx context.Context, e store.DigestEntry) (store.DigestEntry, error)
	FinishDigest(ctx context.Context, token string, o store.OutboxOutcome, at time.Time) error
}

var _ SendStore = (*store.DB)(nil)

// Composer makes the letter of a report; notify.LetterWriter is one.
type Composer interface {
	ComposeReport(to, subject, text, html string) (notify.Letter, error)
}

var _ Composer = (*notify.LetterWriter)(nil)

// Mailer mails digests.
type Mailer struct {
	Store     SendStore
	Templates *templates.Set
	Composer  Composer
	Transport notify.Transport
	// TransportName is recorded with each digest: "smtp", "sendmail".
	TransportName string
	// Clock is the time of the records (time.Now when nil).
	Clock func() time.Time
	// Hold, when set, gives the context of the handover and its release:
	// the command's stop stage that lets a handover in flight finish.
	Hold func() (context.Context, func())
}

// Sent is what became of a digest handed to the relay.
type Sent struct {
	To, Subject, Token string
	State              store.OutboxState
	Delivery           notify.Delivery
}

// ErrNotSent is matched (errors.Is) by Send's error when the relay did not
// accept the digest: deferred, rejected, or its fate unknown.
var ErrNotSent = errors.New("digest: the relay did not accept the digest")

// Send mails r to to: text and HTML as multipart/alternative. A relay that
// cannot be reached records nothing and is an error; a digest the relay
// does not accept is recorded as such, and the error matches ErrNotSent.
func (m *Mailer) Send(ctx context.Context, r *Report, to string) (Sent, error) {
	clock := m.Clock
	if clock == nil {
		clock = time.Now
	}
	l, err := m.compose(r, to)
	if err != nil {
		return Sent{}, err
	}
	s := Sent{To: to, Subject: l.Subject, Token: l.Token}
	if err := m.Transport.Open(ctx); err != nil {
		m.Transport.Close(context.WithoutCancel(ctx))
		return s, fmt.Errorf("digest: relay: %w", err)
	}
	defer m.Transport.Close(context.WithoutCancel(ctx))
	e := store.DigestEntry{Token: l.Token, Recipient: to, Since: r.Since, Until: r.Until, Subject: l.Subject,
		MessageID: l.MessageID, Transport: m.TransportName, CreatedAt: clock()}
	if _, err := m.Store.AddDigest(ctx, e); err != nil {
		return s, fmt.Errorf("digest: %w", err)
	}
	s.Delivery = m.hand(ctx, &l)
	s.State = s.Delivery.Result.State()
	o := store.OutboxOutcome{State: s.State, Code: s.Delivery.Code, Enhanced: s.Delivery.Enhanced, Detail: s.Delivery.Detail}
	if err := m.Store.FinishDigest(context.WithoutCancel(ctx), l.Token, o, clock()); err != nil {
		return s, fmt.Errorf("digest: %w", err)
	}
	if s.State != store.OutboxSent {
		return s, fmt.Errorf("%w: %s to %s: %s", ErrNotSent, s.State, to, s.Delivery.Answer())
	}
	return s, nil
}

// compose renders r and makes its letter to to.
func (m *Mailer) compose(r *Report, to string) (notify.Letter, error) {
	subject, err := r.Subject(m.Templates)
	if err != nil {
		return notify.Letter{}, err
	}
	text, err := r.Text(m.Templates)
	if err != nil {
		return notify.Letter{}, err
	}
	html, err := r.HTML(m.Templates)
	if err != nil {
		return notify.Letter{}, err
	}
	l, err := m.Composer.ComposeReport(to, subject, text, html)
	if err != nil {
		return notify.Letter{}, fmt.Errorf("digest: %w", err)
	}
	return l, nil
}

// hand gives l to the transport under Hold's context.
func (m *Mailer) hand(ctx context.Context, l *notify.Letter) notify.Delivery {
	hctx, release := ctx, func() {}
	if m.Hold != nil {
		hctx, release = m.Hold()
	}
	defer release()
	return m.Transport.Send(hctx, l)
}
