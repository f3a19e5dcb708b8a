package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// OutboxEntry is one message of the outbox (docs/notify.md, section 5).
type OutboxEntry struct {
	ID int64
	// Token identifies the message in its envelope sender, Message-ID and
	// bounces: 20 characters of a–z and 2–7.
	Token     string
	Recipient string
	Source    ContactSource
	Subject   string
	MessageID string
	State     OutboxState
	// Transport is how the message was handed over: "smtp", "sendmail".
	Transport string
	// CreatedAt is when the message was recorded to be handed over, the
	// last time: RetryOutbox moves it to the retry, so that the limits
	// (docs/notify.md, section 3) count from the last handover and the
	// message stays within the history they read. UpdatedAt is when its
	// state last changed.
	CreatedAt, UpdatedAt time.Time
	// Code, Enhanced and Detail are the relay's answer: the SMTP reply
	// code (0: none), the enhanced status code (RFC 3463, "5.1.1") and
	// its text, or sendmail's exit status and output.
	Code     int
	Enhanced string
	Detail   string
	// FindingIDs are the findings the message lists, ascending.
	FindingIDs []int64
}

// OutboxOutcome is what became of a message handed to the relay.
type OutboxOutcome struct {
	State    OutboxState // sent, deferred, rejected or unknown
	Code     int
	Enhanced string
	Detail   string
}

// validToken reports whether s has the form of a token.
func validToken(s string) bool {
	return len(s) == 20 && strings.Trim(s, "abcdefghijklmnopqrstuvwxyz234567") == ""
}

func (e *OutboxEntry) validate() error {
	switch {
	case !validToken(e.Token):
		return fmt.Errorf("token %q is not 20 characters of a-z and 2-7", e.Token)
	case e.Recipient == "":
		return errors.New("no recipient")
	case !valid(contactSourceNames[:], e.Source):
		return fmt.Errorf("unknown contact source %v", e.Source)
	case e.State != OutboxPending && e.State != OutboxDeferred:
		return fmt.Errorf("a new message is pending or deferred, not %v", e.State)
	case e.Transport == "":
		return errors.New("no transport")
	case e.CreatedAt.IsZero():
		return errors.New("no time")
	case len(e.FindingIDs) == 0:
		return errors.New("no findings")
	}
	return validOutcome(OutboxOutcome{State: OutboxSent, Code: e.Code, Enhanced: e.Enhanced, Detail: e.Detail})
}

func validOutcome(o OutboxOutcome) error {
	switch {
	case o.State != OutboxSent && o.State != OutboxDeferred && o.State != OutboxRejected && o.State != OutboxUnknown:
		return fmt.Errorf("%v is not an outcome", o.State)
	case o.Code < 0 || o.Code > 999:
		return fmt.Errorf("reply code %d is not 0 to 999", o.Code)
	}
	return nil
}

// AddOutbox records a new message with its findings in one transaction and
// returns it as stored (ID, UpdatedAt = CreatedAt in UTC, FindingIDs
// sorted). A message is pending when it is about to be handed to the
// relay, deferred when the relay could not be reached at all.
func (db *DB) AddOutbox(ctx context.Context, e OutboxEntry) (OutboxEntry, error) {
	if err := e.validate(); err != nil {
		return OutboxEntry{}, fmt.Errorf("store: add message %s: %w", e.Token, err)
	}
	e.CreatedAt = e.CreatedAt.UTC()
	e.UpdatedAt = e.CreatedAt
	e.FindingIDs = slices.Compact(slices.Sorted(slices.Values(e.FindingIDs)))
	err := db.write(ctx, "add message "+e.Token, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO outbox (token, recipient, source, subject, message_id, state, transport,
			created_at, updated_at, smtp_code, smtp_enhanced, smtp_detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.Token, e.Recipient, e.Source.String(), e.Subject, e.MessageID, e.State.String(), e.Transport,
			e.CreatedAt.UnixNano(), e.UpdatedAt.UnixNano(), e.Code, e.Enhanced, e.Detail)
		if err != nil {
			return err
		}
		if e.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		return linkFindings(ctx, tx, e.ID, e.FindingIDs)
	})
	if err != nil {
		return OutboxEntry{}, err
	}
	return e, nil
}

// linkFindings replaces the findings of message id.
func linkFindings(ctx context.Context, tx *sql.Tx, id int64, findings []int64) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM outbox_findings WHERE outbox_id = ?", id); err != nil {
		return err
	}
	for _, f := range findings {
		if _, err := tx.ExecContext(ctx, "INSERT INTO outbox_findings (outbox_id, finding_id) VALUES (?, ?)", id, f); err != nil {
			if isForeignKey(err) {
				return fmt.Errorf("finding %d: %w", f, ErrNotFound)
			}
			return fmt.Errorf("finding %d: %w", f, err)
		}
	}
	return nil
}

// FinishOutbox records what became of the pending message token, in one
// transaction with what follows from it: sent sets last_notified of its
// findings to at (never moving it back); rejected marks the recipient
// rejected — dead — for each of its findings. A message that is not
// pending is refused: its fate was recorded already.
func (db *DB) FinishOutbox(ctx context.Context, token string, o OutboxOutcome, at time.Time) error {
	if err := validOutcome(o); err != nil {
		return fmt.Errorf("store: finish message %s: %w", token, err)
	}
	if at.IsZero() {
		return fmt.Errorf("store: finish message %s: no time", token)
	}
	at = at.UTC()
	return db.write(ctx, "finish message "+token, func(tx *sql.Tx) error {
		e, err := outboxByToken(ctx, tx, token)
		if err != nil {
			return err
		}
		if e.State != OutboxPending {
			return fmt.Errorf("message is %v, not pending", e.State)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET state = ?, updated_at = ?, smtp_code = ?, smtp_enhanced = ?,
			smtp_detail = ? WHERE id = ?`, o.State.String(), at.UnixNano(), o.Code, o.Enhanced, o.Detail, e.ID); err != nil {
			return err
		}
		switch o.State {
		case OutboxSent:
			_, err = tx.ExecContext(ctx, `UPDATE findings SET last_notified = max(coalesce(last_notified, 0), ?)
				WHERE id IN (SELECT finding_id FROM outbox_findings WHERE outbox_id = ?)`, at.UnixNano(), e.ID)
		case OutboxRejected:
			_, err = markRecipient(ctx, tx, e, MarkRejected, rejection(o), at)
		}
		return err
	})
}

// rejection is the reason of a rejected mark: "550 5.1.1 user unknown".
func rejection(o OutboxOutcome) string {
	var parts []string
	if o.Code != 0 {
		parts = append(parts, fmt.Sprint(o.Code))
	}
	for _, s := range []string{o.Enhanced, o.Detail} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, " ")
}

// RecoverPending turns every pending message into unknown and returns how
// many it changed: called by a notify run that holds the lease, a pending
// message is one a crashed run handed over, or was about to, and never
// marked. Unknown messages are never sent again automatically.
func (db *DB) RecoverPending(ctx context.Context, at time.Time) (int, error) {
	var n int64
	err := db.write(ctx, "recover pending messages", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE outbox SET state = 'unknown', updated_at = ? WHERE state = 'pending'", at.UnixNano())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// RetryOutbox makes the unknown message e.Token pending again, to be
// handed over once more (notify --retry-unknown: a person checked the
// relay's log), with the subject, Message-ID and findings of the letter
// composed anew (e.Subject, e.MessageID, e.FindingIDs) at e.UpdatedAt,
// which becomes its CreatedAt too: it is handed over then.
func (db *DB) RetryOutbox(ctx context.Context, e OutboxEntry) error {
	if e.UpdatedAt.IsZero() || len(e.FindingIDs) == 0 {
		return fmt.Errorf("store: retry message %s: no time or no findings", e.Token)
	}
	return db.write(ctx, "retry message "+e.Token, func(tx *sql.Tx) error {
		old, err := outboxByToken(ctx, tx, e.Token)
		if err != nil {
			return err
		}
		if old.State != OutboxUnknown {
			return fmt.Errorf("message is %v, not unknown", old.State)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET state = 'pending', subject = ?, message_id = ?, created_at = ?,
			updated_at = ? WHERE id = ?`, e.Subject, e.MessageID, e.UpdatedAt.UnixNano(), e.UpdatedAt.UnixNano(), old.ID); err != nil {
			return err
		}
		return linkFindings(ctx, tx, old.ID, slices.Compact(slices.Sorted(slices.Values(e.FindingIDs))))
	})
}

// OutboxFilter selects messages for Outbox; zero fields do not filter.
type OutboxFilter struct {
	Token  string
	States []OutboxState
	Since  time.Time // created at or after
}

const outboxColumns = `id, token, recipient, source, subject, message_id, state, transport, created_at, updated_at,
	smtp_code, smtp_enhanced, smtp_detail`

// Outbox returns the messages that match f, oldest first, with their
// findings.
func (db *DB) Outbox(ctx context.Context, f OutboxFilter) ([]OutboxEntry, error) {
	var where []string
	var args []any
	if f.Token != "" {
		where, args = append(where, "token = ?"), append(args, f.Token)
	}
	if len(f.States) > 0 {
		names := make([]string, len(f.States))
		for i, s := range f.States {
			names[i] = s.String()
		}
		cond, a := inList("state", names)
		where, args = append(where, cond), append(args, a...)
	}
	if !f.Since.IsZero() {
		where, args = append(where, "created_at >= ?"), append(args, f.Since.UnixNano())
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	es, err := queryAll(ctx, db, "outbox", scanOutbox, "SELECT "+outboxColumns+" FROM outbox"+cond+" ORDER BY created_at, id", args...)
	if err != nil || len(es) == 0 {
		return es, err
	}
	type link struct{ outbox, finding int64 }
	links, err := queryAll(ctx, db, "outbox findings", func(r rowScanner) (link, error) {
		var l link
		return l, r.Scan(&l.outbox, &l.finding)
	}, "SELECT outbox_id, finding_id FROM outbox_findings WHERE outbox_id IN (SELECT id FROM outbox"+cond+") ORDER BY 1, 2", args...)
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]*OutboxEntry, len(es))
	for i := range es {
		byID[es[i].ID] = &es[i]
	}
	for _, l := range links {
		if e := byID[l.outbox]; e != nil {
			e.FindingIDs = append(e.FindingIDs, l.finding)
		}
	}
	return es, nil
}

// outboxByToken reads one message and its findings inside a transaction;
// an unknown token gives ErrNotFound.
func outboxByToken(ctx context.Context, tx *sql.Tx, token string) (OutboxEntry, error) {
	e, err := scanOutbox(tx.QueryRowContext(ctx, "SELECT "+outboxColumns+" FROM outbox WHERE token = ?", token))
	if errors.Is(err, sql.ErrNoRows) {
		return OutboxEntry{}, fmt.Errorf("message %s: %w", token, ErrNotFound)
	}
	if err != nil {
		return OutboxEntry{}, err
	}
	rows, err := tx.QueryContext(ctx, "SELECT finding_id FROM outbox_findings WHERE outbox_id = ? ORDER BY 1", e.ID)
	if err != nil {
		return OutboxEntry{}, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return OutboxEntry{}, err
		}
		e.FindingIDs = append(e.FindingIDs, id)
	}
	return e, rows.Err()
}

func scanOutbox(r rowScanner) (OutboxEntry, error) {
	var (
		e                OutboxEntry
		source, state    string
		created, updated int64
	)
	if err := r.Scan(&e.ID, &e.Token, &e.Recipient, &source, &e.Subject, &e.MessageID, &state, &e.Transport,
		&created, &updated, &e.Code, &e.Enhanced, &e.Detail); err != nil {
		return OutboxEntry{}, err
	}
	var err error
	if e.Source, err = ParseContactSource(source); err != nil {
		return OutboxEntry{}, fmt.Errorf("message %d: %w", e.ID, err)
	}
	if e.State, err = ParseOutboxState(state); err != nil {
		return OutboxEntry{}, fmt.Errorf("message %d: %w", e.ID, err)
	}
	e.CreatedAt, e.UpdatedAt = fromUnixNano(created), fromUnixNano(updated)
	return e, nil
}
