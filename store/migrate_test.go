package store

import (
	"context"
	"database/sql"
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
	init, err := migrationFS.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	later := fstest.MapFS{
		"migrations/0001_init.sql":   {Data: init},
		"migrations/0002_rounds.sql": {Data: []byte("CREATE TABLE rounds_test (id INTEGER PRIMARY KEY);")},
		"migrations/README":          {Data: []byte("not a migration")},
	}
	if err := db.migrateFS(ctx, later); err != nil {
		t.Fatalf("migrate with 0002: %v", err)
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
	if diff := cmp.Diff([]string{"0001_init", "0002_rounds"}, names); diff != "" {
		t.Errorf("applied migrations (-want +got):\n%s", diff)
	}
	// The binary that only knows 0001 now refuses the database.
	if err := db.migrate(ctx); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("migrate with fewer migrations than applied: error = %v, want a newer-schema error", err)
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
	raw, err := sql.Open(driverName, dsn(foreign))
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
