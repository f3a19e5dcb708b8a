package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// KeepRounds is the number of newest probe rounds of each finding that Prune
// keeps however old they are: the confirmation policy needs a finding's
// recent history (a lame verdict stays lame until an authoritative round),
// while the digest needs no round older than the retention.
const KeepRounds = 10

// Prune deletes what is older than before: the daily counts of the UTC days
// that ended by then (the days before before's), and the probe rounds made
// before it except each finding's newest KeepRounds. It returns how many rows
// (daily counts and rounds) went. Findings keep their Count, FirstSeen,
// LastSeen, Rounds and verdict.
func (db *DB) Prune(ctx context.Context, before time.Time) (int64, error) {
	if before.IsZero() {
		return 0, errors.New("store: prune: no time")
	}
	day := before.UTC().Format(dayLayout)
	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: prune %s: %w", db.path, err)
	}
	defer tx.Rollback()
	var total int64
	for _, st := range []struct {
		what, query string
		args        []any
	}{
		{"daily counts", "DELETE FROM daily_counts WHERE day < ?", []any{day}},
		{"rounds", `DELETE FROM rounds WHERE at < ? AND id NOT IN (
			SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY finding_id ORDER BY at DESC, id DESC) AS rn
				FROM rounds) WHERE rn <= ?)`, []any{before.UnixNano(), KeepRounds}},
	} {
		r, err := tx.ExecContext(ctx, st.query, st.args...)
		if err != nil {
			return 0, fmt.Errorf("store: prune %s %s: %w", st.what, db.path, err)
		}
		n, err := r.RowsAffected()
		if err != nil {
			return 0, fmt.Errorf("store: prune %s %s: %w", st.what, db.path, err)
		}
		total += n
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("store: prune %s: %w", db.path, err)
	}
	return total, nil
}
