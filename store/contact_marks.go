package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ContactMark says why a candidate of a finding's contact chain was passed
// over (docs/notify.md, section 2).
type ContactMark struct {
	ID        int64
	FindingID int64
	// Address is the candidate as the chain produced it; for MarkInvalid
	// the name it could not be made from (an RNAME as the server sent it).
	Address string
	Source  ContactSource
	Mark    Mark
	Reason  string
	At      time.Time
}

func (m *ContactMark) validate() error {
	switch {
	case m.Address == "":
		return errors.New("mark without an address")
	case !valid(contactSourceNames[:], m.Source):
		return fmt.Errorf("unknown contact source %v", m.Source)
	case !valid(markNames[:], m.Mark):
		return fmt.Errorf("unknown mark %v", m.Mark)
	case m.At.IsZero():
		return errors.New("mark without a time")
	}
	m.At = m.At.UTC()
	return nil
}

// ContactDecision is one finding's contact as a notify run decided it.
type ContactDecision struct {
	FindingID int64
	// Contact and Source are the candidate chosen; "" and 0 when none is
	// left, and then NeedsHuman is set.
	Contact    string
	Source     ContactSource
	NeedsHuman bool
	// Marks are the candidates this run passed over for reasons found
	// anew by every run (Mark.PerRun: undeliverable, invalid,
	// suppressed). They replace the finding's marks of those kinds; its
	// other marks stay.
	Marks []ContactMark
}

func (d *ContactDecision) validate() error {
	switch {
	case d.Contact == "" && d.Source != 0, d.Contact != "" && !valid(contactSourceNames[:], d.Source):
		return fmt.Errorf("finding %d: contact %q with source %v", d.FindingID, d.Contact, d.Source)
	case d.Contact != "" && d.NeedsHuman:
		return fmt.Errorf("finding %d: a contact and needs a human", d.FindingID)
	}
	for i := range d.Marks {
		m := &d.Marks[i]
		if m.FindingID == 0 {
			m.FindingID = d.FindingID
		}
		if err := m.validate(); err != nil {
			return fmt.Errorf("finding %d: %w", d.FindingID, err)
		}
		if m.FindingID != d.FindingID || !m.Mark.PerRun() {
			return fmt.Errorf("finding %d: mark %v of finding %d is not this run's to set", d.FindingID, m.Mark, m.FindingID)
		}
	}
	return nil
}

// SetContacts stores the contact decisions of a notify run in one
// transaction. Unknown findings give ErrNotFound and nothing is written.
func (db *DB) SetContacts(ctx context.Context, ds []ContactDecision) error {
	for i := range ds {
		if err := ds[i].validate(); err != nil {
			return fmt.Errorf("store: set contacts: %w", err)
		}
	}
	return db.write(ctx, "set contacts", func(tx *sql.Tx) error {
		upd, err := tx.PrepareContext(ctx, "UPDATE findings SET contact = ?, contact_source = ?, needs_human = ? WHERE id = ?")
		if err != nil {
			return err
		}
		defer upd.Close()
		del, err := tx.PrepareContext(ctx, "DELETE FROM contact_marks WHERE finding_id = ? AND mark IN ('undeliverable', 'invalid', 'suppressed')")
		if err != nil {
			return err
		}
		defer del.Close()
		for _, d := range ds {
			if err := setContact(ctx, tx, upd, del, d); err != nil {
				return err
			}
		}
		return nil
	})
}

func setContact(ctx context.Context, tx *sql.Tx, upd, del *sql.Stmt, d ContactDecision) error {
	source := ""
	if d.Source != 0 {
		source = d.Source.String()
	}
	res, err := upd.ExecContext(ctx, d.Contact, source, d.NeedsHuman, d.FindingID)
	if err := oneRow(res, err, ErrNotFound); err != nil {
		return fmt.Errorf("finding %d: %w", d.FindingID, err)
	}
	if _, err := del.ExecContext(ctx, d.FindingID); err != nil {
		return fmt.Errorf("finding %d: %w", d.FindingID, err)
	}
	for _, m := range d.Marks {
		if _, err := insertMark(ctx, tx, m); err != nil {
			return err
		}
	}
	return nil
}

// insertMark adds a validated mark and reports whether it did: a dead mark
// (rejected, bounced) that the finding already has for the address is kept
// as it was.
func insertMark(ctx context.Context, tx *sql.Tx, m ContactMark) (bool, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO contact_marks (finding_id, address, source, mark, reason, at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		m.FindingID, m.Address, m.Source.String(), m.Mark.String(), m.Reason, m.At.UnixNano())
	if err != nil {
		return false, fmt.Errorf("mark %s of finding %d: %w", m.Mark, m.FindingID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("mark %s of finding %d: %w", m.Mark, m.FindingID, err)
	}
	return n == 1, nil
}

// ContactMarks returns the marks of a finding (0: of every finding), by
// finding, then oldest first.
func (db *DB) ContactMarks(ctx context.Context, findingID int64) ([]ContactMark, error) {
	q := "SELECT id, finding_id, address, source, mark, reason, at FROM contact_marks"
	var args []any
	if findingID != 0 {
		q, args = q+" WHERE finding_id = ?", []any{findingID}
	}
	return queryAll(ctx, db, "contact marks", scanMark, q+" ORDER BY finding_id, at, id", args...)
}

func scanMark(r rowScanner) (ContactMark, error) {
	var (
		m            ContactMark
		source, mark string
		at           int64
	)
	if err := r.Scan(&m.ID, &m.FindingID, &m.Address, &source, &mark, &m.Reason, &at); err != nil {
		return ContactMark{}, err
	}
	var err error
	if m.Source, err = ParseContactSource(source); err != nil {
		return ContactMark{}, fmt.Errorf("mark %d: %w", m.ID, err)
	}
	if m.Mark, err = ParseMark(mark); err != nil {
		return ContactMark{}, fmt.Errorf("mark %d: %w", m.ID, err)
	}
	m.At = fromUnixNano(at)
	return m, nil
}

// BounceWindow is the window over which soft and policy bounces count:
// SoftBounceLimit soft ones, or PolicyBounceLimit policy ones, of one
// address within it make that address dead — a bounced mark — for the
// findings of the message whose bounce reached the limit (docs/notify.md,
// section 7). Bounces count per address over every finding; one bounce
// marks each finding of its message at the same instant and counts once.
// This is the one place the rule is applied: notify passes over an
// address only for its dead marks.
const (
	BounceWindow      = 14 * 24 * time.Hour
	SoftBounceLimit   = 3
	PolicyBounceLimit = 2
)

// MarkMessage marks the recipient of the outbox message token for every
// finding the message listed: bounced (a hard bounce: the address is dead
// for those findings), soft or policy (events that count over
// BounceWindow, and make the address dead once they reach their limit),
// or rejected. It returns the number of marks added (a dead mark already
// there is not added again). An unknown token gives ErrNotFound. Bounce
// handling stores a returned message with its marks through AddBounce.
func (db *DB) MarkMessage(ctx context.Context, token string, mark Mark, reason string, at time.Time) (int, error) {
	if mark.PerRun() || !valid(markNames[:], mark) {
		return 0, fmt.Errorf("store: mark message %s: %v is not a mark of a message", token, mark)
	}
	n := 0
	err := db.write(ctx, "mark message "+token, func(tx *sql.Tx) error {
		e, err := outboxByToken(ctx, tx, token)
		if err != nil {
			return err
		}
		n, _, err = markBounce(ctx, tx, e, mark, reason, at)
		return err
	})
	return n, err
}

// markBounce gives the recipient of e the mark for each of e's findings;
// a soft or policy mark with which the address reaches its limit within
// BounceWindow brings a bounced mark with it. It returns the marks added
// and whether the recipient is dead for the findings now.
func markBounce(ctx context.Context, tx *sql.Tx, e OutboxEntry, mark Mark, reason string, at time.Time) (int, bool, error) {
	n, err := markRecipient(ctx, tx, e, mark, reason, at)
	if err != nil {
		return n, false, err
	}
	limit := 0
	switch mark {
	case MarkBounced, MarkRejected:
		return n, true, nil
	case MarkSoft:
		limit = SoftBounceLimit
	case MarkPolicy:
		limit = PolicyBounceLimit
	default:
		return n, false, nil
	}
	reached, err := reachedLimit(ctx, tx, e.Recipient, mark, limit, at)
	if err != nil || !reached {
		return n, false, err
	}
	why := fmt.Sprintf("%d %s bounces within %d days", limit, mark, int(BounceWindow/(24*time.Hour)))
	if reason != "" {
		why += ", the last: " + reason
	}
	dead, err := markRecipient(ctx, tx, e, MarkBounced, why, at)
	return n + dead, true, err
}

// reachedLimit reports whether addr has limit marks of the kind mark (soft
// or policy: the name is written into the query, which the partial index
// contact_marks_events needs) at distinct instants within some span
// shorter than BounceWindow that holds at. Addresses compare without
// regard to ASCII case.
func reachedLimit(ctx context.Context, tx *sql.Tx, addr string, mark Mark, limit int, at time.Time) (bool, error) {
	w, t := BounceWindow.Nanoseconds(), at.UnixNano()
	rows, err := tx.QueryContext(ctx, "SELECT DISTINCT at FROM contact_marks WHERE mark = '"+mark.String()+
		"' AND lower(address) = lower(?) AND at > ? AND at < ? ORDER BY at", addr, t-w, t+w)
	if err != nil {
		return false, fmt.Errorf("%s bounces of %s: %w", mark, addr, err)
	}
	defer rows.Close()
	var ts []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return false, fmt.Errorf("%s bounces of %s: %w", mark, addr, err)
		}
		ts = append(ts, v)
	}
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("%s bounces of %s: %w", mark, addr, err)
	}
	return withinWindow(ts, t, w, limit), nil
}

// withinWindow reports whether some span [s, s+w) with s in the sorted
// times ts holds t and at least limit of ts. (A span holding a set of
// times may as well start at the earliest of them.)
func withinWindow(ts []int64, t, w int64, limit int) bool {
	for i, s := range ts {
		if s > t {
			break
		}
		if t >= s+w {
			continue
		}
		n := 0
		for _, u := range ts[i:] {
			if u >= s+w {
				break
			}
			n++
		}
		if n >= limit {
			return true
		}
	}
	return false
}

// markRecipient gives the recipient of e the mark for each of e's findings
// and returns how many marks it added.
func markRecipient(ctx context.Context, tx *sql.Tx, e OutboxEntry, mark Mark, reason string, at time.Time) (int, error) {
	n := 0
	for _, id := range e.FindingIDs {
		m := ContactMark{FindingID: id, Address: e.Recipient, Source: e.Source, Mark: mark, Reason: reason, At: at}
		if err := m.validate(); err != nil {
			return n, err
		}
		added, err := insertMark(ctx, tx, m)
		if err != nil {
			return n, err
		}
		if added {
			n++
		}
	}
	return n, nil
}
