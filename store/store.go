// Package store keeps lamers' state in one SQLite database: ingest
// checkpoints, findings and their per-day evidence counts
// (docs/exactly-once.md), verification's probe rounds, verdicts and the
// zones it attributed to zone-less findings (docs/verification.md), and
// notification's state (docs/notify.md): the SOAs of authoritative rounds,
// each finding's contact and the marks on its candidates, the outbox,
// suppressions and the lease that keeps notify runs one at a time; and the
// returned messages `lamers bounce` stored, with what each one did.
//
// Conventions: one file per table (findings.go, daily_counts.go, rounds.go,
// checkpoints.go, attributions.go, zone_soas.go, contact_marks.go,
// outbox.go, suppressions.go, leases.go, bounces.go; Commit's stages in commit*.go);
// writes go through one immediate transaction each (write.go); every
// enum stored as text has one type and one table of names (enums.go); times
// in the API are time.Time, in UTC, stored as unix nanoseconds; the clock is
// injected (DB.clock); tests of other packages open a scratch database with
// store/storetest.
//
// Retention (Prune): daily counts and probe rounds older than the retention
// day go, except each finding's newest KeepRounds rounds; findings keep
// their totals and verdict.
//
// The database is opened through database/sql with the mattn/go-sqlite3
// driver in WAL mode (https://sqlite.org/wal.html) with a busy timeout and
// immediate write transactions (BEGIN IMMEDIATE,
// https://sqlite.org/lang_transaction.html), so several lamers processes — a
// tailing daemon and a cron job — can share one file without "database is
// locked" errors. The driver name and the DSN are built in one place (dsn below).
// Commit's bulk statements bypass database/sql: they run on go-sqlite3's
// connection inside the database/sql transaction (rawconn.go).
//
// The schema is created and upgraded by embedded, ordered migrations
// (migrations/NNNN_name.sql) applied at Open, each in its own transaction and
// recorded in the schema_migrations table. A database written by a newer
// lamers is refused rather than guessed at.
//
// All times stored and returned are UTC.
package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/mattn/go-sqlite3"
)

// driverName is the database/sql driver this package uses; with dsn it is the
// only place that knows about go-sqlite3's connection string.
const driverName = "sqlite3"

// sqliteHeader opens every SQLite 3 database file.
const sqliteHeader = "SQLite format 3\x00"

// dsn returns the connection string for the database file at path.
//
//   - _txlock=immediate makes every BeginTx take the write lock at once, so a
//     read-then-write transaction never fails when upgrading its lock
//     (measured: 159/400 "database is locked" with deferred transactions).
//   - _busy_timeout (milliseconds) lets a writer wait for another one.
//   - _synchronous=NORMAL is durable against process crashes in WAL mode;
//     only a power loss can drop the last transactions, never half of one.
//   - _cache_size=-65536 (64 MiB of page cache per connection instead of
//     SQLite's 2 MiB) keeps the findings indexes in memory during a large
//     batch: measured 2.5× faster commits of 50,000 findings. WithCacheSize
//     changes it.
func dsn(path string, cacheKiB int) string {
	u := url.URL{Path: path}
	return "file:" + u.EscapedPath() +
		"?_journal_mode=WAL&_busy_timeout=10000&_foreign_keys=on&_synchronous=NORMAL&_txlock=immediate" +
		fmt.Sprintf("&_cache_size=-%d", cacheKiB)
}

// defaultCacheKiB is the page cache of a connection unless WithCacheSize
// says otherwise (dsn).
const defaultCacheKiB = 64 << 10

// OpenOption changes how Open opens a database.
type OpenOption func(*openOptions)

type openOptions struct {
	cacheKiB int
}

// WithCacheSize gives each connection a page cache of kib KiB instead of
// 64 MiB: for a process that touches few pages and must stay small
// (bounce, run by the MTA for each returned message; measured in
// bench/README.md, section bounce). Values below 1 are taken as 1.
func WithCacheSize(kib int) OpenOption {
	return func(o *openOptions) { o.cacheKiB = max(kib, 1) }
}

var (
	// ErrConflict is returned (wrapped) by Commit when the checkpoint the
	// batch was built on was changed by another writer; nothing was written.
	ErrConflict = errors.New("store: checkpoint changed by another writer")

	// ErrNotFound is returned (wrapped) when a requested row does not exist.
	// It wraps sql.ErrNoRows.
	ErrNotFound = fmt.Errorf("store: not found: %w", sql.ErrNoRows)
)

// DB is an open lamers database. It is safe for concurrent use by multiple
// goroutines; several processes may open the same file.
type DB struct {
	path string
	db   *sql.DB

	// clock returns the current time; tests replace it.
	clock func() time.Time

	// writeMu serialises this process's write transactions so that they
	// queue here instead of polling SQLite's busy handler.
	writeMu sync.Mutex

	// readOnly: opened by OpenReadOnly.
	readOnly bool

	closeOnce sync.Once
	closeErr  error
}

// Open opens the database at path, creating the file (not its directory) if
// it does not exist, and applies any pending migrations. It refuses files that
// are not SQLite databases, SQLite databases of other applications and
// databases whose schema is newer than this binary knows.
func Open(ctx context.Context, path string, opts ...OpenOption) (*DB, error) {
	o := openOptions{cacheKiB: defaultCacheKiB}
	for _, opt := range opts {
		opt(&o)
	}
	if path == "" {
		return nil, errors.New("store: open: empty database path")
	}
	if err := checkHeader(path); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	sqldb, err := sql.Open(driverName, dsn(abs, o.cacheKiB))
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	db := &DB{path: path, db: sqldb, clock: time.Now}
	if err := whileBusy(ctx, func() error { return sqldb.PingContext(ctx) }); err != nil {
		sqldb.Close()
		return nil, openError(path, err)
	}
	if err := whileBusy(ctx, func() error { return db.migrate(ctx) }); err != nil {
		sqldb.Close()
		return nil, openError(path, err)
	}
	return db, nil
}

// checkHeader refuses an existing, non-empty file that does not start with
// the SQLite header, before SQLite gets a chance to touch it.
func checkHeader(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: open %s: %w", path, err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return fmt.Errorf("store: open %s: is a directory", path)
	}
	buf := make([]byte, len(sqliteHeader))
	n, err := io.ReadFull(f, buf)
	switch {
	case n == 0 && (err == io.EOF):
		return nil // empty file: SQLite makes a new database of it
	case err != nil && !errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("store: open %s: %w", path, err)
	case !bytes.Equal(buf[:n], []byte(sqliteHeader)):
		return fmt.Errorf("store: open %s: not an SQLite database", path)
	}
	return nil
}

// openError names the path and turns SQLite's "file is not a database" into
// one clear line.
func openError(path string, err error) error {
	var se sqlite3.Error
	if errors.As(err, &se) && se.Code == sqlite3.ErrNotADB {
		return fmt.Errorf("store: open %s: not an SQLite database", path)
	}
	return fmt.Errorf("store: open %s: %w", path, err)
}

// Close releases the database. Later calls return the first call's result.
// It runs SQLite's "PRAGMA optimize" first, bounded by ctx, unless the
// database was opened read-only.
func (db *DB) Close(ctx context.Context) error {
	db.closeOnce.Do(func() {
		var optErr error
		if !db.readOnly {
			_, optErr = db.db.ExecContext(ctx, "PRAGMA optimize")
		}
		err := db.db.Close()
		switch {
		case err != nil:
			db.closeErr = fmt.Errorf("store: close %s: %w", db.path, err)
		case optErr != nil && ctx.Err() == nil:
			db.closeErr = fmt.Errorf("store: close %s: optimize: %w", db.path, optErr)
		}
	})
	return db.closeErr
}

// Path returns the path the database was opened with.
func (db *DB) Path() string { return db.path }

// SQLiteVersion returns the version of the SQLite library in use.
func (db *DB) SQLiteVersion(ctx context.Context) (string, error) {
	var v string
	if err := db.db.QueryRowContext(ctx, "SELECT sqlite_version()").Scan(&v); err != nil {
		return "", fmt.Errorf("store: sqlite version %s: %w", db.path, err)
	}
	return v, nil
}

// isBusy reports whether err is SQLite's SQLITE_BUSY or SQLITE_LOCKED.
func isBusy(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && (se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked)
}

// beginWrite starts an immediate (write) transaction. The busy timeout already
// waits 10 s for another writer; a few more attempts ride out a long one
// (a big scan commit in another process) before giving up with a clear error.
func (db *DB) beginWrite(ctx context.Context) (*sql.Tx, error) {
	return beginWrite(ctx, db.db)
}

// beginner is a *sql.DB or a *sql.Conn.
type beginner interface {
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

// beginWrite is DB.beginWrite on a given database or connection.
func beginWrite(ctx context.Context, b beginner) (*sql.Tx, error) {
	const attempts = 6
	for i := 1; ; i++ {
		tx, err := b.BeginTx(ctx, nil)
		if err == nil {
			return tx, nil
		}
		if !isBusy(err) || i == attempts || ctx.Err() != nil {
			if isBusy(err) {
				return nil, fmt.Errorf("database busy: another process kept it locked for a minute: %w", err)
			}
			return nil, err
		}
	}
}

// openBusyWait bounds how long Open waits for other processes that hold a
// new database's lock. SQLite reports SQLITE_BUSY at once, without calling
// the busy handler, when a connection's first statement must switch a new
// file to WAL mode while another process does the same; two lamers
// processes started together on a fresh database (a daemon and a cron job)
// would otherwise fail with "database is locked".
const openBusyWait = 30 * time.Second

// whileBusy runs f again, after a short and growing pause, for as long as it
// fails with SQLITE_BUSY or SQLITE_LOCKED, up to openBusyWait.
func whileBusy(ctx context.Context, f func() error) error {
	deadline := time.Now().Add(openBusyWait)
	pause := 5 * time.Millisecond
	for {
		err := f()
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		pause = min(2*pause, 250*time.Millisecond)
	}
}

// unixNano stores t as unix nanoseconds; the zero time is stored as 0.
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromUnixNano is the inverse of unixNano, in UTC.
func fromUnixNano(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// fromNullUnixNano is fromUnixNano of a nullable column; NULL is the zero
// time.
func fromNullUnixNano(ns sql.NullInt64) time.Time {
	if !ns.Valid {
		return time.Time{}
	}
	return fromUnixNano(ns.Int64)
}

// rowScanner is a *sql.Row or *sql.Rows.
type rowScanner interface {
	Scan(dest ...any) error
}

// queryAll runs the query q and reads every row with scan; errors name op
// and the database.
func queryAll[T any](ctx context.Context, db *DB, op string, scan func(rowScanner) (T, error), q string, args ...any) ([]T, error) {
	rows, err := db.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: %s %s: %w", op, db.path, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("store: %s %s: %w", op, db.path, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: %s %s: %w", op, db.path, err)
	}
	return out, nil
}
