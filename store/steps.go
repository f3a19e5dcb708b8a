package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ErrStepLost is matched (errors.Is) by the error of FinishStep and
// AbandonStep when the step's row no longer holds the caller's claim:
// another process claimed the step since.
var ErrStepLost = errors.New("store: step claimed by another run")

// StepRun is the last run of one scheduled step of `lamers run` (scan,
// verify, notify, digest), whichever process ran it.
type StepRun struct {
	Name string
	// StartedAt is when the run started: the schedule's anchor.
	StartedAt time.Time
	// FinishedAt is when it ended; zero while it runs, or when its process
	// died during it.
	FinishedAt time.Time
	// Err is the error the run ended with, "" when it succeeded.
	Err string
	// LastSuccess is when the last run that succeeded ended; zero if none.
	LastSuccess time.Time
	// Holder names the process that ran it: "host:pid".
	Holder string
}

// Due returns when the step is due again, run every every: at once when
// it never ran, or when its last start lies in the future (the clock was
// set back: waiting for it could stop the step for as long), else
// StartedAt+every.
func (r StepRun) Due(every time.Duration, now time.Time) time.Time {
	if r.StartedAt.IsZero() || r.StartedAt.After(now) {
		return now
	}
	return r.StartedAt.Add(every)
}

// Running reports whether the run has no end: its process runs it now,
// or died during it.
func (r StepRun) Running() bool {
	return !r.StartedAt.IsZero() && r.FinishedAt.IsZero()
}

// HolderGone reports whether the process that holds r, a run that has no
// end (Running), is gone at now: it died during the run, which will then
// never end. A HolderGone must be quick (ClaimStep calls it inside its
// transaction) and, when it cannot tell, answer false.
type HolderGone func(r StepRun, now time.Time) bool

// Claimable returns when the step can be claimed, run every every, with r
// its last run: a run that has not ended (Running) whose holder gone
// reports gone, at once (waiting an interval for the process that died
// could stop the step for as long); one that has not ended and whose
// holder still runs it, never (ok false: look again later); else Due. A
// nil gone reports no holder gone.
func (r StepRun) Claimable(every time.Duration, now time.Time, gone HolderGone) (at time.Time, ok bool) {
	if r.Running() {
		if gone != nil && gone(r, now) {
			return now, true
		}
		return time.Time{}, false
	}
	return r.Due(every, now), true
}

// ClaimStep starts a run of the step name for holder at now, in one
// transaction, when the step can be claimed (StepRun.Claimable with every
// and gone): claimed is false, and nothing is written, when it cannot —
// another process ran it lately, or runs it now. prev is the row as it was
// (zero StartedAt: the step never ran), what AbandonStep puts back.
func (db *DB) ClaimStep(ctx context.Context, name, holder string, now time.Time, every time.Duration,
	gone HolderGone) (prev StepRun, claimed bool, err error) {
	if name == "" || now.IsZero() || every < 0 {
		return prev, false, fmt.Errorf("store: claim step %q: no name or time, or a negative interval", name)
	}
	err = db.write(ctx, "claim step "+name, func(tx *sql.Tx) error {
		r, err := stepByName(ctx, tx, name)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			r = StepRun{Name: name}
		case err != nil:
			return err
		}
		prev = r
		if at, ok := r.Claimable(every, now, gone); !ok || at.After(now) {
			return nil
		}
		claimed = true
		_, err = tx.ExecContext(ctx, `INSERT INTO steps (name, started_at, finished_at, error, last_success, holder)
			VALUES (?, ?, NULL, '', NULL, ?)
			ON CONFLICT (name) DO UPDATE SET started_at = excluded.started_at, finished_at = NULL, error = '',
				holder = excluded.holder`,
			name, now.UnixNano(), holder)
		return err
	})
	if err != nil {
		return StepRun{}, false, err
	}
	return prev, claimed, nil
}

// FinishStep records the end at finished of the caller's run of name,
// the one claimed at started: errText is its error, "" when it succeeded
// (LastSuccess becomes finished). A row claimed by another run since gives
// ErrStepLost and is left alone.
func (db *DB) FinishStep(ctx context.Context, name string, started, finished time.Time, errText string) error {
	return db.write(ctx, "finish step "+name, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE steps SET finished_at = ?, error = ?,
				last_success = CASE WHEN ? = '' THEN ? ELSE last_success END
			WHERE name = ? AND started_at = ? AND finished_at IS NULL`,
			finished.UnixNano(), errText, errText, finished.UnixNano(), name, started.UnixNano())
		return oneRow(res, err, ErrStepLost)
	})
}

// AbandonStep puts prev, the row ClaimStep returned, back in place of the
// caller's run of prev.Name claimed at started, which a stop ended before
// it did its work: the step is as due as it was before the claim. A row
// claimed by another run since gives ErrStepLost and is left alone.
func (db *DB) AbandonStep(ctx context.Context, prev StepRun, started time.Time) error {
	return db.write(ctx, "abandon step "+prev.Name, func(tx *sql.Tx) error {
		var (
			res sql.Result
			err error
		)
		if prev.StartedAt.IsZero() {
			res, err = tx.ExecContext(ctx, "DELETE FROM steps WHERE name = ? AND started_at = ? AND finished_at IS NULL",
				prev.Name, started.UnixNano())
		} else {
			res, err = tx.ExecContext(ctx, `UPDATE steps SET started_at = ?, finished_at = ?, error = ?, last_success = ?, holder = ?
				WHERE name = ? AND started_at = ? AND finished_at IS NULL`,
				prev.StartedAt.UnixNano(), nullTime(prev.FinishedAt), prev.Err, nullTime(prev.LastSuccess), prev.Holder,
				prev.Name, started.UnixNano())
		}
		return oneRow(res, err, ErrStepLost)
	})
}

// StepRuns returns the last run of every step that ever ran, by name.
func (db *DB) StepRuns(ctx context.Context) ([]StepRun, error) {
	return queryAll(ctx, db, "step runs", scanStepRun,
		"SELECT name, started_at, finished_at, error, last_success, holder FROM steps ORDER BY name")
}

func stepByName(ctx context.Context, q queryRower, name string) (StepRun, error) {
	return scanStepRun(q.QueryRowContext(ctx,
		"SELECT name, started_at, finished_at, error, last_success, holder FROM steps WHERE name = ?", name))
}

func scanStepRun(row rowScanner) (StepRun, error) {
	var (
		r                   StepRun
		started             int64
		finished, succeeded sql.NullInt64
	)
	if err := row.Scan(&r.Name, &started, &finished, &r.Err, &succeeded, &r.Holder); err != nil {
		return StepRun{}, err
	}
	r.StartedAt, r.FinishedAt, r.LastSuccess = fromUnixNano(started), fromUnixNano(finished.Int64), fromUnixNano(succeeded.Int64)
	return r, nil
}

// Heartbeat writes at as the heartbeat of name: a small write transaction
// whose success shows that the database takes writes (the file, its
// directory and the disk; another process holding the write lock makes it
// wait, up to the busy timeout).
func (db *DB) Heartbeat(ctx context.Context, name string, at time.Time) error {
	return db.write(ctx, "heartbeat", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO heartbeats (name, at) VALUES (?, ?)
			ON CONFLICT (name) DO UPDATE SET at = excluded.at`, name, at.UnixNano())
		return err
	})
}
