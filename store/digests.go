package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// The digests table (migration 0009): the digests handed to the relay,
// recorded before the handover and marked after, as the outbox records
// notify's messages. The end of the last digest sent is where the next
// one's period starts by default.

// DigestEntry is one digest handed to the relay.
type DigestEntry struct {
	ID int64
	// Token identifies the message (its envelope sender and Message-ID):
	// 20 characters of a–z and 2–7.
	Token     string
	Recipient string
	// Since and Until bound the digest's period, [Since, Until).
	Since, Until time.Time
	Subject      string
	MessageID    string
	State        OutboxState
	// Transport is how it was handed over: "smtp", "sendmail".
	Transport            string
	CreatedAt, UpdatedAt time.Time
	// Code, Enhanced and Detail are the relay's answer, as in
	// OutboxEntry.
	Code     int
	Enhanced string
	Detail   string
}

// AddDigest records the digest e as pending, about to be handed to the
// relay, and turns every digest still pending into unknown: one a process
// left when it died between the handover and its mark. It returns e as
// stored (ID, times in UTC, UpdatedAt = CreatedAt).
func (db *DB) AddDigest(ctx context.Context, e DigestEntry) (DigestEntry, error) {
	switch {
	case !validToken(e.Token):
		return DigestEntry{}, fmt.Errorf("store: add digest: token %q is not 20 characters of a-z and 2-7", e.Token)
	case e.Recipient == "" || e.Transport == "":
		return DigestEntry{}, fmt.Errorf("store: add digest %s: no recipient or transport", e.Token)
	case e.CreatedAt.IsZero() || e.Until.Before(e.Since):
		return DigestEntry{}, fmt.Errorf("store: add digest %s: no time, or a period that ends before it starts", e.Token)
	}
	e.State, e.CreatedAt = OutboxPending, e.CreatedAt.UTC()
	e.UpdatedAt, e.Since, e.Until = e.CreatedAt, e.Since.UTC(), e.Until.UTC()
	err := db.write(ctx, "add digest "+e.Token, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "UPDATE digests SET state = 'unknown', updated_at = ? WHERE state = 'pending'",
			e.CreatedAt.UnixNano()); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO digests (token, recipient, since, until, subject, message_id, state,
			transport, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)`,
			e.Token, e.Recipient, e.Since.UnixNano(), e.Until.UnixNano(), e.Subject, e.MessageID, e.Transport,
			e.CreatedAt.UnixNano(), e.UpdatedAt.UnixNano())
		if err != nil {
			return err
		}
		e.ID, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return DigestEntry{}, err
	}
	return e, nil
}

// FinishDigest records what became of the digest token at at. A digest
// that is neither pending nor unknown (a later digest may have made it
// unknown meanwhile) is refused: its fate was recorded already.
func (db *DB) FinishDigest(ctx context.Context, token string, o OutboxOutcome, at time.Time) error {
	if err := validOutcome(o); err != nil {
		return fmt.Errorf("store: finish digest %s: %w", token, err)
	}
	if at.IsZero() {
		return fmt.Errorf("store: finish digest %s: no time", token)
	}
	return db.write(ctx, "finish digest "+token, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE digests SET state = ?, updated_at = ?, smtp_code = ?, smtp_enhanced = ?,
			smtp_detail = ? WHERE token = ? AND state IN ('pending', 'unknown')`,
			o.State.String(), at.UTC().UnixNano(), o.Code, o.Enhanced, o.Detail, token)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		return fmt.Errorf("no pending digest %s: %w", token, ErrNotFound)
	})
}

// LastDigest returns the digest sent (accepted by the relay) whose period
// ends last; ok is false when none was ever sent.
func (db *DB) LastDigest(ctx context.Context) (e DigestEntry, ok bool, err error) {
	ds, err := db.digests(ctx, "WHERE state = 'sent' ORDER BY until DESC, id DESC LIMIT 1")
	if err != nil || len(ds) == 0 {
		return DigestEntry{}, false, err
	}
	return ds[0], true, nil
}

// Digests returns every digest recorded, the latest first.
func (db *DB) Digests(ctx context.Context) ([]DigestEntry, error) {
	return db.digests(ctx, "ORDER BY id DESC")
}

// digests reads the digests a clause selects.
func (db *DB) digests(ctx context.Context, clause string) ([]DigestEntry, error) {
	return queryAll(ctx, db, "digests", func(r rowScanner) (DigestEntry, error) {
		var (
			e                              DigestEntry
			state                          string
			since, until, created, updated int64
		)
		if err := r.Scan(&e.ID, &e.Token, &e.Recipient, &since, &until, &e.Subject, &e.MessageID, &state, &e.Transport,
			&created, &updated, &e.Code, &e.Enhanced, &e.Detail); err != nil {
			return e, err
		}
		var err error
		if e.State, err = ParseOutboxState(state); err != nil {
			return e, fmt.Errorf("digest %d: %w", e.ID, err)
		}
		e.Since, e.Until = fromUnixNano(since), fromUnixNano(until)
		e.CreatedAt, e.UpdatedAt = fromUnixNano(created), fromUnixNano(updated)
		return e, nil
	}, `SELECT id, token, recipient, since, until, subject, message_id, state, transport, created_at, updated_at,
		smtp_code, smtp_enhanced, smtp_detail FROM digests `+clause)
}
