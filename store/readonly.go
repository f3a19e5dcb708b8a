package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"time"
)

// roDSN is dsn for a read-only connection: SQLite's mode=ro
// (https://sqlite.org/uri.html), deferred transactions (an immediate one
// takes the write lock), and a smaller page cache: a reader streams rows,
// it does not merge batches.
func roDSN(path string) string {
	u := url.URL{Path: path}
	return "file:" + u.EscapedPath() + "?mode=ro&_busy_timeout=10000&_txlock=deferred&_cache_size=-16384"
}

// OpenReadOnly opens the existing database at path for reading only, as
// commands that write nothing do (report): it works on a file the user may
// read but not write, and never changes it. A database whose schema is
// older than this lamers knows is an error that says to run a writing
// command first (which applies the migrations); one that is newer is
// refused as by Open. Writes through the returned DB fail.
func OpenReadOnly(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("store: open: empty database path")
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("store: open %s: no such database (lamers scan creates it)", path)
	}
	if err := checkHeader(path); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	sqldb, err := sql.Open(driverName, roDSN(abs))
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	db := &DB{path: path, db: sqldb, clock: time.Now, readOnly: true}
	if err := db.checkSchema(ctx); err != nil {
		sqldb.Close()
		return nil, openError(path, err)
	}
	return db, nil
}

// checkSchema checks that a read-only database has every embedded
// migration applied, and no other.
func (db *DB) checkSchema(ctx context.Context) error {
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		return err
	}
	var tables int
	if err := db.db.QueryRowContext(ctx,
		"SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'").Scan(&tables); err != nil {
		return err
	}
	if tables == 0 {
		return errors.New("not a lamers database, or an empty one: run lamers scan on it first")
	}
	current, err := schemaVersion(ctx, db.db)
	if err != nil {
		return err
	}
	switch known := ms[len(ms)-1].version; {
	case current > known:
		return fmt.Errorf("database schema version %d is newer than this lamers knows (%d): upgrade lamers", current, known)
	case current < known:
		return fmt.Errorf("database schema version %d needs the upgrade to %d, which read-only commands do not make: run a command that writes to it (lamers scan, lamers verify) first", current, known)
	}
	return nil
}
