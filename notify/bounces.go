package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/lamers-dev/lamers/notify/bounce"
	"github.com/lamers-dev/lamers/notify/mailbox"
	"github.com/lamers-dev/lamers/store"
)

// Returned mail (docs/notify.md, section 7): each message is read once, as
// a stream, by package bounce while its SHA-256 is taken, and stored with
// what it does in one transaction of the store (AddBounce), which also
// applies the soft and policy limits.

// BounceStore is what taking returned mail in needs from the database
// (package store satisfies it). AddBounce stores one message with its
// effect in one transaction, or nothing; a message stored before (the same
// SHA-256) is returned as stored then, with false.
type BounceStore interface {
	AddBounce(ctx context.Context, b store.Bounce) (store.Bounce, bool, error)
}

var _ BounceStore = (*store.DB)(nil)

// The database keeps of a message what package bounce keeps of it.
const _ = uint(store.MaxBounceRaw-bounce.MaxRaw) + uint(bounce.MaxRaw-store.MaxBounceRaw)

// Intake takes returned messages in: it reads each one, finds the token
// of the notification it answers, classifies it and stores it.
type Intake struct {
	Store BounceStore
	// Now is the clock (time.Now unless a test sets it).
	Now func() time.Time
	// Local and Domain, when set, are notify.bounce_address split
	// (LOCAL@DOMAIN): a token is taken only from LOCAL+TOKEN@DOMAIN and
	// <lamers.TOKEN@DOMAIN> (bounce.Options), from every message and
	// whatever the MTA says of its delivery.
	Local, Domain string
}

// NewIntake returns an Intake storing into st.
func NewIntake(st BounceStore) *Intake {
	return &Intake{Store: st, Now: time.Now}
}

// Received is a returned message as stored.
type Received struct {
	store.Bounce
	// New is false when the same message had been stored before: nothing
	// was done again.
	New bool
}

// Take reads one message from r to its end and stores it; src says how it
// came, env what the MTA said of its delivery (the envelope recipient of
// a pipe; zero for a Maildir or mbox message). A leading mbox "From " line
// is left out, of the message and of its SHA-256. An error is one of
// reading r or of the store: the message is not stored and may be given
// again.
func (in *Intake) Take(ctx context.Context, r io.Reader, src store.BounceSource, env bounce.Options) (Received, error) {
	rec, err := in.take(ctx, r, src, env)
	if err != nil {
		return rec, errorf("%w", err)
	}
	return rec, nil
}

// take is Take with errors that do not name the package.
func (in *Intake) take(ctx context.Context, r io.Reader, src store.BounceSource, env bounce.Options) (Received, error) {
	body, err := mailbox.SkipFromLine(r)
	if err != nil {
		return Received{}, err
	}
	sum := sha256.New()
	env.Local, env.Domain = in.Local, in.Domain
	m, err := bounce.Parse(io.TeeReader(body, sum), env)
	if err != nil {
		return Received{}, err
	}
	b := bounceRecord(m)
	b.ReceivedAt, b.Source, b.SHA256 = in.Now(), src, hex.EncodeToString(sum.Sum(nil))
	got, added, err := in.Store.AddBounce(ctx, b)
	if err != nil {
		return Received{}, err
	}
	return Received{Bounce: got, New: added}, nil
}

// bounceRecord is what the store keeps of m: the message's class, and the
// status, action and diagnostic of its first recipient of that class.
func bounceRecord(m *bounce.Message) store.Bounce {
	class, err := store.ParseBounceClass(m.Class.String())
	if err != nil {
		class = store.BounceUnknown // the same names: TestBounceClassNames
	}
	b := store.Bounce{Size: m.Size, Raw: m.Raw, Format: m.Format.String(), Class: class,
		Token: m.Token, TokenSource: m.TokenSource.String(), From: m.From, Subject: m.Subject, Problem: m.Problem}
	for _, r := range m.Recipients {
		if r.Class == m.Class {
			b.Recipient, b.Status, b.Action, b.Diagnostic = r.Address, r.Status, r.Action, r.Diagnostic
			break
		}
	}
	return b
}

// MaildirResult is what became of one message of a Maildir.
type MaildirResult struct {
	Name     string
	Received Received
	// Err is why the message was not stored (it stays in new/), or why a
	// stored message was not moved to cur/.
	Err error
}

// TakeMaildir stores every message of md's new/ and moves each one to cur/
// once it is stored, calling each for every message. A message that
// cannot be opened is left in new/ and the others are taken; an error of
// the store, or a message that cannot be read or moved, ends the run
// there. It returns an error when a message was left in new/, or ctx's
// when it was cancelled between two messages.
func (in *Intake) TakeMaildir(ctx context.Context, md *mailbox.Maildir, each func(MaildirResult)) error {
	names, err := md.New()
	if err != nil {
		return errorf("%w", err)
	}
	left := 0
	for i, name := range names {
		if err := ctx.Err(); err != nil {
			return errorf("maildir %s: stopped with %d messages not read: %w", md.Dir(), len(names)-i, err)
		}
		res := MaildirResult{Name: name}
		res.Received, res.Err = in.takeFile(ctx, md, name)
		each(res)
		var oe *openError
		switch {
		case errors.As(res.Err, &oe):
			left++
		case res.Err != nil:
			return errorf("maildir %s: %s: %w", md.Dir(), name, res.Err)
		}
	}
	if left > 0 {
		return errorf("maildir %s: %d of %d messages could not be opened: left in new/", md.Dir(), left, len(names))
	}
	return nil
}

// openError is a message of a Maildir that could not be opened.
type openError struct{ err error }

func (e *openError) Error() string { return e.err.Error() }
func (e *openError) Unwrap() error { return e.err }

// takeFile stores the message name of md's new/ and moves it to cur/.
func (in *Intake) takeFile(ctx context.Context, md *mailbox.Maildir, name string) (Received, error) {
	f, err := md.Open(name)
	if err != nil {
		return Received{}, &openError{err}
	}
	rec, err := in.take(ctx, f, store.BounceMaildir, bounce.Options{})
	f.Close() // read only: nothing to lose
	if err != nil {
		return Received{}, err
	}
	if err := md.Seen(name); err != nil {
		return rec, fmt.Errorf("stored as bounce %d but not moved to cur/: %w", rec.ID, err)
	}
	return rec, nil
}

// TakeMbox stores every message of the mbox file r, calling each for
// every message (numbered from 1); the file is only read. Messages stored
// before are found again by their SHA-256 and not stored twice. An error
// of reading or of the store ends it there, with ctx's when it was
// cancelled between two messages.
func (in *Intake) TakeMbox(ctx context.Context, r io.Reader, each func(n int, rec Received)) error {
	mb := mailbox.NewMbox(r)
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return errorf("mbox: stopped before message %d: %w", n, err)
		}
		msg, err := mb.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return errorf("mbox: message %d: %w", n, err)
		}
		rec, err := in.take(ctx, msg, store.BounceMbox, bounce.Options{})
		if err != nil {
			return errorf("mbox: message %d: %w", n, err)
		}
		each(n, rec)
	}
}
