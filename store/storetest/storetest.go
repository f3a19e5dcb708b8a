// Package storetest opens scratch lamers databases for the tests of the
// packages built on package store.
package storetest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/lamers-dev/lamers/store"
)

// Open opens a new, empty database in a temporary directory of tb, with
// every migration applied, and closes it when the test ends; a failure to
// open or close fails the test.
func Open(tb testing.TB) *store.DB {
	tb.Helper()
	db, err := store.Open(context.Background(), filepath.Join(tb.TempDir(), "lamers.db"))
	if err != nil {
		tb.Fatalf("storetest: %v", err)
	}
	tb.Cleanup(func() {
		if err := db.Close(context.Background()); err != nil {
			tb.Errorf("storetest: %v", err)
		}
	})
	return db
}
