package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestOpenAppliesMigrationsOnce(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lamers.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if db.Path() != path {
		t.Errorf("Path() = %q, want %q", db.Path(), path)
	}
	first, err := db.Migrations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	embedded, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != len(embedded) || first[0].Version != 1 || first[0].Name != "0001_init" || first[0].AppliedAt.IsZero() {
		t.Errorf("Migrations = %+v, want all %d embedded ones starting with 0001_init", first, len(embedded))
	}
	if first[0].AppliedAt.Location() != time.UTC {
		t.Errorf("applied_at %v is not UTC", first[0].AppliedAt)
	}
	for _, pragma := range []struct{ name, want string }{
		{"journal_mode", "wal"}, {"foreign_keys", "1"}, {"synchronous", "1"}, {"busy_timeout", "10000"},
	} {
		var got string
		if err := db.db.QueryRowContext(ctx, "PRAGMA "+pragma.name).Scan(&got); err != nil || got != pragma.want {
			t.Errorf("PRAGMA %s = %q (%v), want %q", pragma.name, got, err, pragma.want)
		}
	}
	if v, err := db.SQLiteVersion(ctx); err != nil || !strings.HasPrefix(v, "3.") {
		t.Errorf("SQLiteVersion = %q, %v", v, err)
	}
	if err := db.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}

	db2 := openPath(t, path)
	again, err := db2.Migrations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first, again); diff != "" {
		t.Errorf("re-Open changed schema_migrations (-first +again):\n%s", diff)
	}
}

func TestMigrateAddsLaterMigrations(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	embedded, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	// The embedded migrations plus one a later lamers would bring.
	later := fstest.MapFS{"migrations/README": {Data: []byte("not a migration")}}
	var want []string
	for _, m := range embedded {
		later["migrations/"+m.name+".sql"] = &fstest.MapFile{Data: []byte(m.sql)}
		want = append(want, m.name)
	}
	next := fmt.Sprintf("%04d_later", len(embedded)+1)
	later["migrations/"+next+".sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE later_test (id INTEGER PRIMARY KEY);")}
	want = append(want, next)
	if err := db.migrateFS(ctx, later); err != nil {
		t.Fatalf("migrate with %s: %v", next, err)
	}
	if err := db.migrateFS(ctx, later); err != nil {
		t.Fatalf("migrate again: %v", err)
	}
	ms, err := db.Migrations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range ms {
		names = append(names, m.Name)
	}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("applied migrations (-want +got):\n%s", diff)
	}
	// The binary that knows only the embedded ones now refuses the database.
	if err := db.migrate(ctx); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("migrate with fewer migrations than applied: error = %v, want a newer-schema error", err)
	}
}

// TestMigrate0002KeepsData upgrades a database written by the first
// release (schema 0001) that holds findings and daily counts.
func TestMigrate0002KeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lamers.db")
	old := openAtSchema(t, path, "0001_init.sql")
	raw := old.db
	// What 0001's Commit wrote: finding 3 was the newest; ID 2 was deleted.
	for _, q := range []string{
		`INSERT INTO findings (id, zone, bucket, server, port, qname, sources, observed, count, first_seen, last_seen)
			VALUES (1, 'example.com.', '', '192.0.2.53', 53, 'www.example.com.', '["bind"]', '["lame_referral"]', 5, 100, 200),
			       (3, '', 'refused.lab.', '2001:db8::53', 53, 'x.refused.lab.', '["bind"]', '["refused"]', 2, 300, 400)`,
		`INSERT INTO daily_counts (finding_id, day, source, evidence, n)
			VALUES (1, '2026-11-20', 'bind', 'lame_referral', 2), (1, '2026-11-21', 'bind', 'lame_referral', 3),
			       (3, '2026-11-21', 'bind', 'refused', 2)`,
	} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	// The columns of 0001, read as text: later migrations add columns that
	// Findings reads.
	const columns0001 = `SELECT id, zone, bucket, server, port, qname, sources, observed, count, first_seen, last_seen,
		server_names, status, reason, rounds, coalesce(last_probed, 'null') FROM findings ORDER BY id`
	before := dumpRows(t, raw, columns0001)
	beforeDaily := map[int64]map[time.Time]int64{}
	for _, id := range []int64{1, 3} {
		daily, err := old.DailyCounts(ctx, id, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		beforeDaily[id] = daily
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}

	db := openPath(t, path)
	if diff := cmp.Diff(before, dumpRows(t, db.db, columns0001)); diff != "" {
		t.Errorf("findings changed by the upgrade (-before +after):\n%s", diff)
	}
	for id, want := range beforeDaily {
		if got, _ := db.DailyCounts(ctx, id, time.Time{}); !cmp.Equal(got, want) {
			t.Errorf("finding %d daily counts after the upgrade = %v, want %v", id, got, want)
		}
	}
	var tables []string
	rows, err := db.db.QueryContext(ctx, "SELECT name FROM sqlite_schema WHERE type = 'table' AND name LIKE '%v2%'")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	if len(tables) > 0 {
		t.Errorf("tables left over: %v", tables)
	}
	// The foreign key follows the renamed table: deleting a finding deletes
	// its daily counts.
	if _, err := db.db.ExecContext(ctx, "DELETE FROM findings WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.db.QueryRowContext(ctx, "SELECT count(*) FROM daily_counts WHERE finding_id = 1").Scan(&n); err != nil || n != 0 {
		t.Errorf("daily counts of a deleted finding: %d (%v), want 0", n, err)
	}
	// New IDs continue above every ID ever used, also after deleting the
	// newest finding.
	if _, err := db.db.ExecContext(ctx, "DELETE FROM findings WHERE id = 3"); err != nil {
		t.Fatal(err)
	}
	mustCommit(t, db, firstBatch(fpNamed, 10, 1, zoned("example.net.", srvA, "bind", "lame_referral", 1, at(1, 0), at(1, 0))))
	fs, err := db.Findings(ctx, Filter{})
	if err != nil || len(fs) != 1 || fs[0].ID != 4 {
		t.Errorf("findings after deleting 1 and 3 and adding one: %+v (%v), want the new one with ID 4", fs, err)
	}
}

func TestLoadMigrationsRejectsBadSets(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"gap":      {"migrations/0001_a.sql": {}, "migrations/0003_c.sql": {}},
		"no digit": {"migrations/init.sql": {}},
		"none":     {"migrations/README": {}},
	} {
		if _, err := loadMigrations(fsys); err == nil {
			t.Errorf("%s: loadMigrations accepted it", name)
		}
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lamers.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.db.ExecContext(ctx,
		"INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, '0999_future', '2030-01-01T00:00:00Z')"); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, path)
	if err == nil {
		t.Fatal("Open accepted a database from a newer lamers")
	}
	if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, "999") || !strings.Contains(msg, "newer") {
		t.Errorf("error %q should name the path, the version and say newer", msg)
	}
}

func TestOpenRefusesOtherFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	foreign := filepath.Join(dir, "places.sqlite")
	raw, err := sql.Open(driverName, dsn(foreign, defaultCacheKiB))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.ExecContext(ctx, "CREATE TABLE moz_places (id INTEGER PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	tests := []struct {
		name    string
		content []byte // nil: do not create
		path    string
		want    string // the error, with PATH for the path
	}{
		{name: "log file", content: []byte("22-Nov-2026 02:01:50.284 lame-servers: info: lame server resolving 'example.com'\n"),
			want: "store: open PATH: not an SQLite database"},
		{name: "short file", content: []byte("x"), want: "store: open PATH: not an SQLite database"},
		{name: "header only, rest garbage", content: append([]byte(sqliteHeader), make([]byte, 200)...),
			want: "store: open PATH: not an SQLite database"},
		{name: "another application's SQLite database", path: foreign,
			want: "store: open PATH: not a lamers database: it has 1 tables but no schema_migrations"},
		{name: "directory", path: dir, want: "store: open PATH: is a directory"},
		{name: "missing directory", path: filepath.Join(dir, "nope", "lamers.db"), want: "store: open PATH: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.path
			if path == "" {
				path = filepath.Join(t.TempDir(), "lamers.db")
				if err := os.WriteFile(path, tt.content, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			db, err := Open(ctx, path)
			if err == nil {
				db.Close(ctx)
				t.Fatal("Open succeeded")
			}
			want := strings.ReplaceAll(tt.want, "PATH", path)
			if msg := err.Error(); !strings.HasPrefix(msg, want) || strings.Contains(msg, "\n") {
				t.Errorf("error = %q, want one line starting %q", msg, want)
			}
			if tt.content != nil {
				if got, _ := os.ReadFile(path); string(got) != string(tt.content) {
					t.Error("the refused file was modified")
				}
			}
		})
	}
}

func TestOpenPathNeedingEscapes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "odd dir?#%", "la mers?x=1#frag%20.db")
	if err := os.Mkdir(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	db := openPath(t, path)
	mustCommit(t, db, firstBatch(fpNamed, 1, 1))
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		t.Errorf("database not at %q: %v", path, err)
	}
	if _, err := db.MaxCheckpointID(ctx); err != nil {
		t.Error(err)
	}
}

func TestOpenEmptyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lamers.db")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	db := openPath(t, path) // touch(1)'d file: becomes a new database
	if ms, err := db.Migrations(context.Background()); err != nil || len(ms) == 0 {
		t.Errorf("Migrations = %v, %v", ms, err)
	}
}

// dumpRows returns every row of the query, each column as text.
func dumpRows(t *testing.T, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string) [][]string {
	t.Helper()
	rows, err := q.QueryContext(context.Background(), query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for rows.Next() {
		row := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range row {
			ptrs[i] = &row[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		text := make([]string, len(cols))
		for i, v := range row {
			text[i] = v.String
			if !v.Valid {
				text[i] = "NULL"
			}
		}
		out = append(out, text)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestMigrate0004ConfirmedAt upgrades a database of schema 0003: a finding
// confirmed lame gets the first round after its last authoritative one,
// one confirmed without rounds its last probe, the others none.
func TestMigrate0004ConfirmedAt(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lamers.db")
	raw := openAtSchema(t, path, "0001_init.sql", "0002_verification.sql", "0003_lossy_candidates.sql").db
	for _, q := range []string{
		`INSERT INTO findings (id, zone, bucket, server, port, count, first_seen, last_seen, status, rounds, last_probed)
			VALUES (1, 'a.example.', '', '192.0.2.1', 53, 1, 10, 10, 'lame', 4, 400),
			       (2, 'b.example.', '', '192.0.2.1', 53, 1, 10, 10, 'unresponsive', 0, 500),
			       (3, 'c.example.', '', '192.0.2.1', 53, 1, 10, 10, 'suspect', 1, 600)`,
		`INSERT INTO rounds (finding_id, at, zone, server, port, verdict, reason, class)
			VALUES (1, 100, 'a.example.', '192.0.2.1', 53, 'lame', 'refused', 'hard'),
			       (1, 200, 'a.example.', '192.0.2.1', 53, 'authoritative', 'authoritative', 'authoritative'),
			       (1, 300, 'a.example.', '192.0.2.1', 53, 'lame', 'refused', 'hard'),
			       (1, 400, 'a.example.', '192.0.2.1', 53, 'lame', 'refused', 'hard'),
			       (3, 600, 'c.example.', '192.0.2.1', 53, 'lame', 'refused', 'hard')`,
	} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}
	db := openPath(t, path)
	got := dumpRows(t, db.db, "SELECT id, coalesce(confirmed_at, 'null'), contact, contact_source, needs_human, coalesce(last_notified, 'null') FROM findings ORDER BY id")
	want := [][]string{{"1", "300", "", "", "0", "null"}, {"2", "500", "", "", "0", "null"}, {"3", "null", "", "", "0", "null"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings after 0004 (-want +got):\n%s", diff)
	}
}

// openAtSchema creates the database at path with only the named embedded
// migrations applied, as an older lamers left it; the caller closes its
// db.
func openAtSchema(t *testing.T, path string, names ...string) *DB {
	t.Helper()
	raw, err := sql.Open(driverName, dsn(path, defaultCacheKiB))
	if err != nil {
		t.Fatal(err)
	}
	old := &DB{path: path, db: raw, clock: func() time.Time { return testNow }}
	fsys := fstest.MapFS{}
	for _, name := range names {
		data, err := migrationFS.ReadFile("migrations/" + name)
		if err != nil {
			t.Fatal(err)
		}
		fsys["migrations/"+name] = &fstest.MapFile{Data: data}
	}
	if err := old.migrateFS(context.Background(), fsys); err != nil {
		t.Fatal(err)
	}
	return old
}
