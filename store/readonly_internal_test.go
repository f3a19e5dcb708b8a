package store

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// A database that needs a migration cannot be upgraded read-only: the
// error says what to do. A missing one is named as missing.
func TestOpenReadOnlyRefuses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	old := filepath.Join(dir, "old.db")
	openAtSchema(t, old, "0001_init.sql", "0002_verification.sql").db.Close()
	for _, tc := range []struct{ path, want string }{
		{old, "database schema version 2 needs the upgrade to"},
		{old, "run a command that writes to it (lamers scan, lamers verify) first"},
		{filepath.Join(dir, "missing.db"), "no such database"},
	} {
		_, err := OpenReadOnly(ctx, tc.path)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "store: open "+tc.path+": ") {
			t.Errorf("OpenReadOnly(%s): %v, want an error with %q", tc.path, err, tc.want)
		}
	}
}
