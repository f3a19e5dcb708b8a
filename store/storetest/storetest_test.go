package storetest_test

import (
	"context"
	"testing"

	"github.com/lamers-dev/lamers/store"
	"github.com/lamers-dev/lamers/store/storetest"
)

// A scratch database is empty, migrated and usable, and two of them are
// not the same file.
func TestOpen(t *testing.T) {
	ctx := context.Background()
	a, b := storetest.Open(t), storetest.Open(t)
	if a.Path() == b.Path() {
		t.Errorf("two scratch databases share %s", a.Path())
	}
	ms, err := a.Migrations(ctx)
	if err != nil || len(ms) == 0 {
		t.Fatalf("Migrations = %v, %v; want the embedded migrations applied", ms, err)
	}
	fs, err := a.Findings(ctx, store.Filter{})
	if err != nil || len(fs) != 0 {
		t.Errorf("Findings of a new database = %v, %v; want none", fs, err)
	}
}
