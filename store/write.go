package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/mattn/go-sqlite3"
)

// write runs fn in one immediate write transaction, queued behind this
// process's other writers, and commits it. Errors are wrapped as
// "store: <op> <path>: …".
func (db *DB) write(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return fmt.Errorf("store: %s %s: %w", op, db.path, err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return fmt.Errorf("store: %s %s: %w", op, db.path, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: %s %s: %w", op, db.path, err)
	}
	return nil
}

// isForeignKey reports whether err is SQLite's foreign key violation.
func isForeignKey(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.ExtendedCode == sqlite3.ErrConstraintForeignKey
}
