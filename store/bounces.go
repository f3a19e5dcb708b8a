package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// MaxBounceRaw is the most of a returned message the bounces table keeps.
const MaxBounceRaw = 256 << 10

// Bounce is one returned message as `lamers bounce` stored it
// (docs/notify.md, section 7).
type Bounce struct {
	ID         int64
	ReceivedAt time.Time
	Source     BounceSource
	// SHA256 is the hex SHA-256 of the whole message, which identifies it:
	// the same message is stored once. Size is its length, Raw its first
	// MaxBounceRaw bytes at most.
	SHA256 string
	Size   int64
	Raw    []byte
	// Format is the kind of report it is ("rfc3464", "exim", "unknown":
	// package notify/bounce's names); Class what it says of its most
	// severe recipient.
	Format string
	Class  BounceClass
	// Token is the token found in it ("" when none), TokenSource where.
	Token, TokenSource string
	// OutboxID is the outbox message it answers, 0 when it is unmatched
	// (no token, or one of no message); set by AddBounce. To is that
	// message's recipient, the address its effect is on (read only).
	OutboxID int64
	To       string
	// Recipient, Status, Action and Diagnostic are what it says of its
	// most severe recipient.
	Recipient, Status, Action, Diagnostic string
	// From and Subject are its own header fields; Problem says in one line
	// what was wrong with it ("" when nothing).
	From, Subject, Problem string
	// Effect is what storing it did, Marks the number of contact marks it
	// added; both set by AddBounce.
	Effect BounceEffect
	Marks  int
}

// Matched reports whether b answers a message of the outbox.
func (b *Bounce) Matched() bool { return b.OutboxID != 0 }

func (b *Bounce) validate() error {
	switch {
	case b.ReceivedAt.IsZero():
		return errors.New("no time")
	case !valid(bounceSourceNames[:], b.Source):
		return fmt.Errorf("unknown bounce source %v", b.Source)
	case !valid(bounceClassNames[:], b.Class):
		return fmt.Errorf("unknown bounce class %v", b.Class)
	case len(b.SHA256) != 64 || strings.Trim(b.SHA256, "0123456789abcdef") != "":
		return fmt.Errorf("sha256 %q is not 64 lowercase hex digits", b.SHA256)
	case b.Size < int64(len(b.Raw)):
		return fmt.Errorf("size %d is less than the %d bytes kept", b.Size, len(b.Raw))
	case len(b.Raw) > MaxBounceRaw:
		return fmt.Errorf("%d bytes kept, more than %d", len(b.Raw), MaxBounceRaw)
	case b.Format == "":
		return errors.New("no format")
	}
	b.ReceivedAt = b.ReceivedAt.UTC()
	return nil
}

// AddBounce stores a returned message and, in the same transaction, does
// what it says about the outbox message whose token it carries:
//
//   - hard: the message's recipient is dead (a bounced mark) for each of
//     the message's findings;
//   - soft, policy: a soft or policy mark for each finding, which makes the
//     recipient dead for them once SoftBounceLimit or PolicyBounceLimit of
//     them fall within BounceWindow (markBounce);
//   - complaint, unsubscribe: the recipient is suppressed, source
//     complaint or unsubscribe, the reason naming the bounce and the
//     message;
//   - delay, autoreply, unknown: nothing.
//
// A bounce without a token, or with one of no message, is stored
// unmatched, without effect. It returns the bounce as stored (ID,
// OutboxID, To, Effect, Marks set) and whether it is new: a message
// stored before (the same SHA-256) is returned as it was stored then, and
// nothing is done again.
func (db *DB) AddBounce(ctx context.Context, b Bounce) (Bounce, bool, error) {
	if err := b.validate(); err != nil {
		return Bounce{}, false, fmt.Errorf("store: add bounce: %w", err)
	}
	added := false
	err := db.write(ctx, "add bounce "+b.SHA256[:12], func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO bounces (received_at, source, sha256, size, raw, format, class,
			token, token_source, recipient, status, action, diagnostic, sender, subject, problem, effect)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'none') ON CONFLICT (sha256) DO NOTHING`,
			b.ReceivedAt.UnixNano(), b.Source.String(), b.SHA256, b.Size, nonNil(b.Raw), b.Format, b.Class.String(),
			b.Token, b.TokenSource, b.Recipient, b.Status, b.Action, b.Diagnostic, b.From, b.Subject, b.Problem)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err == nil {
				b, err = scanBounce(tx.QueryRowContext(ctx, "SELECT "+bounceColumns+" FROM "+bounceTables+" WHERE b.sha256 = ?", b.SHA256))
			}
			return err
		}
		added = true
		if b.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		b.Effect = EffectNone
		if b.Token != "" {
			e, err := outboxByToken(ctx, tx, b.Token)
			switch {
			case errors.Is(err, ErrNotFound):
				return nil // unmatched
			case err != nil:
				return err
			}
			b.OutboxID, b.To = e.ID, e.Recipient
			if err := applyBounce(ctx, tx, &b, e); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, "UPDATE bounces SET outbox_id = ?, effect = ?, marks = ? WHERE id = ?",
			sql.NullInt64{Int64: b.OutboxID, Valid: b.OutboxID != 0}, b.Effect.String(), b.Marks, b.ID)
		return err
	})
	if err != nil {
		return Bounce{}, false, err
	}
	return b, added, nil
}

// applyBounce does what the matched bounce b says about the message e and
// sets b.Effect and b.Marks.
func applyBounce(ctx context.Context, tx *sql.Tx, b *Bounce, e OutboxEntry) error {
	var mark Mark
	switch b.Class {
	case BounceHard:
		mark = MarkBounced
	case BounceSoft:
		mark = MarkSoft
	case BouncePolicy:
		mark = MarkPolicy
	case BounceComplaint, BounceUnsubscribe:
		source := SuppressedComplaint
		if b.Class == BounceUnsubscribe {
			source = SuppressedUnsubscribe
		}
		ref := e.MessageID
		if ref == "" {
			ref = "of token " + e.Token
		}
		s := Suppression{Value: strings.ToLower(e.Recipient), Kind: SuppressAddress, Source: source, CreatedAt: b.ReceivedAt,
			Reason: fmt.Sprintf("bounce %d, %s about message %s", b.ID, b.Class, ref)}
		if err := s.validate(); err != nil {
			return fmt.Errorf("bounce %d: suppress %q: %w", b.ID, s.Value, err)
		}
		if _, err := insertSuppression(ctx, tx, s); err != nil {
			return fmt.Errorf("bounce %d: suppress %q: %w", b.ID, s.Value, err)
		}
		b.Effect = EffectSuppressed
		return nil
	default:
		return nil
	}
	reason := fmt.Sprintf("bounce %d", b.ID)
	if d := strings.TrimSpace(b.Status + " " + b.Diagnostic); d != "" {
		reason += ": " + truncateText(d, 200)
	}
	n, dead, err := markBounce(ctx, tx, e, mark, reason, b.ReceivedAt)
	if err != nil {
		return fmt.Errorf("bounce %d: %w", b.ID, err)
	}
	b.Marks, b.Effect = n, EffectCounted
	if dead {
		b.Effect = EffectDead
	}
	return nil
}

// truncateText cuts s to at most n bytes at a UTF-8 character boundary.
func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

// BounceFilter selects bounces for Bounces; zero fields do not filter.
type BounceFilter struct {
	Since     time.Time // received at or after
	Unmatched bool      // only those that answer no outbox message
	WithRaw   bool      // read Raw too
}

const (
	bounceColumns = `b.id, b.received_at, b.source, b.sha256, b.size, b.format, b.class, b.token, b.token_source,
	coalesce(b.outbox_id, 0), coalesce(o.recipient, ''), b.recipient, b.status, b.action, b.diagnostic, b.sender, b.subject,
	b.problem, b.effect, b.marks`
	bounceTables = "bounces b LEFT JOIN outbox o ON o.id = b.outbox_id"
)

// Bounces returns the bounces that match f, in the order they were
// received.
func (db *DB) Bounces(ctx context.Context, f BounceFilter) ([]Bounce, error) {
	var where []string
	var args []any
	if !f.Since.IsZero() {
		where, args = append(where, "b.received_at >= ?"), append(args, f.Since.UnixNano())
	}
	if f.Unmatched {
		where = append(where, "b.outbox_id IS NULL")
	}
	cols := bounceColumns
	if f.WithRaw {
		cols += ", b.raw"
	}
	q := "SELECT " + cols + " FROM " + bounceTables
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	scan := scanBounce
	if f.WithRaw {
		scan = scanBounceRaw
	}
	return queryAll(ctx, db, "bounces", scan, q+" ORDER BY b.received_at, b.id", args...)
}

func scanBounce(r rowScanner) (Bounce, error) { return scanBounceInto(r) }

func scanBounceRaw(r rowScanner) (Bounce, error) {
	var raw []byte
	b, err := scanBounceInto(r, &raw)
	b.Raw = raw
	return b, err
}

// scanBounceInto reads bounceColumns and then the extra columns.
func scanBounceInto(r rowScanner, extra ...any) (Bounce, error) {
	var (
		b                     Bounce
		at                    int64
		source, class, effect string
	)
	dest := append([]any{&b.ID, &at, &source, &b.SHA256, &b.Size, &b.Format, &class, &b.Token, &b.TokenSource,
		&b.OutboxID, &b.To, &b.Recipient, &b.Status, &b.Action, &b.Diagnostic, &b.From, &b.Subject,
		&b.Problem, &effect, &b.Marks}, extra...)
	if err := r.Scan(dest...); err != nil {
		return Bounce{}, err
	}
	b.ReceivedAt = fromUnixNano(at)
	var err error
	if b.Source, err = ParseBounceSource(source); err != nil {
		return Bounce{}, fmt.Errorf("bounce %d: %w", b.ID, err)
	}
	if b.Class, err = ParseBounceClass(class); err != nil {
		return Bounce{}, fmt.Errorf("bounce %d: %w", b.ID, err)
	}
	if b.Effect, err = ParseBounceEffect(effect); err != nil {
		return Bounce{}, fmt.Errorf("bounce %d: %w", b.ID, err)
	}
	return b, nil
}

// BounceCount is the number of bounces of one class received in a period,
// and how many of them answered an outbox message.
type BounceCount struct {
	Class          BounceClass
	Total, Matched int
}

// BounceCounts returns, for every class in the order of BounceClasses,
// the bounces received at or after since and before until (the digest's
// period).
func (db *DB) BounceCounts(ctx context.Context, since, until time.Time) ([]BounceCount, error) {
	got, err := queryAll(ctx, db, "bounce counts", func(r rowScanner) (BounceCount, error) {
		var c BounceCount
		var class string
		if err := r.Scan(&class, &c.Total, &c.Matched); err != nil {
			return c, err
		}
		var err error
		c.Class, err = ParseBounceClass(class)
		return c, err
	}, `SELECT class, count(*), count(outbox_id) FROM bounces WHERE received_at >= ? AND received_at < ? GROUP BY class`,
		unixNano(since), until.UnixNano())
	if err != nil {
		return nil, err
	}
	out := make([]BounceCount, 0, len(bounceClassNames)-1)
	for _, c := range BounceClasses() {
		n := BounceCount{Class: c}
		for _, g := range got {
			if g.Class == c {
				n = g
			}
		}
		out = append(out, n)
	}
	return out, nil
}
