package store_test

import (
	"context"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/lamers-dev/lamers/store"
)

// OpenReadOnly reads and never writes: a commit through it fails. (A
// database the user may not write is TestReportAsAnotherUser's, in
// cmd/lamers: it needs another user.)
func TestOpenReadOnly(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lamers.db")
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 11, 21, 1, 0, 0, 0, time.UTC)
	if _, err := db.Commit(ctx, store.Batch{Base: store.Checkpoint{Fingerprint: []byte("fp")}, Next: store.Checkpoint{Offset: 1, Lines: 1},
		Counts: []store.Count{{Zone: "example.com.", Server: netip.MustParseAddr("192.0.2.53"), Port: 53, Source: "bind",
			Evidence: "lame_referral", Day: store.DayOf(day), N: 3, First: day, Last: day}}}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(ctx); err != nil {
		t.Fatal(err)
	}
	ro, err := store.OpenReadOnly(ctx, path)
	if err != nil {
		t.Fatalf("OpenReadOnly: %v", err)
	}
	fs, err := ro.Findings(ctx, store.Filter{})
	if err != nil || len(fs) != 1 || fs[0].Count != 3 {
		t.Errorf("findings %+v, %v", fs, err)
	}
	if _, err := ro.Commit(ctx, store.Batch{Base: store.Checkpoint{Fingerprint: []byte("fp2")}, Next: store.Checkpoint{Offset: 1, Lines: 1}}); err == nil {
		t.Error("a commit through a read-only database succeeded")
	}
	if err := ro.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
}
