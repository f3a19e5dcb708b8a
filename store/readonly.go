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

	"github.com/mattn/go-sqlite3"
)

// roDSN is dsn for a read-only connection: SQLite's mode=ro
// (https://sqlite.org/uri.html), deferred transactions (an immediate one
// takes the write lock), and a smaller page cache: a reader streams rows,
// it does not merge batches.
//
// immutable adds SQLite's immutable=1: no locks, no -shm file. It is for a
// database in WAL mode that no one has open (there is no -wal file) in a
// directory the user may not write, where SQLite cannot create the -shm
// file a WAL reader needs (https://sqlite.org/wal.html, "Read-Only
// Databases"). A writer that starts meanwhile writes its -wal file; only
// a checkpoint of 1000 pages or more would change the file under the
// reader, and then a read fails or sees part of a commit: a report, which
// the next run gets right.
func roDSN(path string, immutable bool) string {
	u := url.URL{Path: path}
	dsn := "file:" + u.EscapedPath() + "?mode=ro&_busy_timeout=10000&_txlock=deferred&_cache_size=-16384"
	if immutable {
		dsn += "&immutable=1"
	}
	return dsn
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
	db, err := openRO(ctx, path, roDSN(abs, false))
	if err != nil && noSharedMemory(err, abs) {
		db, err = openRO(ctx, path, roDSN(abs, true))
	}
	return db, err
}

// openRO opens path through dsn and checks its schema.
func openRO(ctx context.Context, path, dsn string) (*DB, error) {
	sqldb, err := sql.Open(driverName, dsn)
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

// noSharedMemory reports whether err is SQLite's failure to read a WAL
// database without its -shm file, which it could not create, while no
// -wal file exists (see roDSN).
func noSharedMemory(err error, path string) bool {
	var se sqlite3.Error
	if !errors.As(err, &se) || (se.Code != sqlite3.ErrReadonly && se.Code != sqlite3.ErrCantOpen) {
		return false
	}
	fi, err := os.Stat(path + "-wal")
	return errors.Is(err, fs.ErrNotExist) || (err == nil && fi.Size() == 0)
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
