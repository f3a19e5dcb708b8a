package store

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// hash16 is a 16-byte hash made of one repeated byte.
func hash16(b byte) []byte { return bytes.Repeat([]byte{b}, 16) }

// Marks are stored with the checkpoint and read back as written; a batch
// with malformed marks is refused before anything is written.
func TestCheckpointMarks(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	marks := []PrefixMark{{Offset: 1030, Lines: 7, Hash: hash16(1)}, {Offset: 2100, Lines: 15, Hash: hash16(2)}}
	res := mustCommit(t, db, Batch{Base: Checkpoint{Fingerprint: []byte("fp")},
		Next: Checkpoint{Offset: 3000, Lines: 20, TailHash: hash16(9), Marks: marks}})
	got, err := db.Checkpoint(ctx, res.Checkpoint.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(marks, got.Marks); diff != "" {
		t.Errorf("marks (-written +read):\n%s", diff)
	}
	for name, bad := range map[string][]PrefixMark{
		"short hash":     {{Offset: 10, Lines: 1, Hash: []byte{1}}},
		"not ascending":  {{Offset: 20, Lines: 2, Hash: hash16(1)}, {Offset: 10, Lines: 1, Hash: hash16(2)}},
		"negative lines": {{Offset: 10, Lines: -1, Hash: hash16(1)}},
		"too many":       make([]PrefixMark, MaxPrefixMarks+1),
	} {
		_, err := db.Commit(ctx, Batch{Base: got, Next: Checkpoint{Offset: 4000, Lines: 30, Marks: bad}})
		if err == nil {
			t.Errorf("%s: commit accepted", name)
		}
	}
	if after, _ := db.Checkpoint(ctx, got.ID); after.Version != got.Version {
		t.Errorf("a refused batch changed the checkpoint: version %d, was %d", after.Version, got.Version)
	}
}

// A checkpoint written before migration 0005 has no marks and resumes as
// before.
func TestMigrate0005KeepsCheckpoints(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lamers.db")
	raw := openAtSchema(t, path, "0001_init.sql", "0002_verification.sql", "0003_lossy_candidates.sql", "0004_notify.sql").db
	if _, err := raw.ExecContext(ctx, `INSERT INTO checkpoints (fingerprint, byte_offset, tail_hash, lines, state, dev, inode, path, version, updated_at)
		VALUES (x'0102', 500, x'0909', 4, x'', 1, 2, '/var/log/named.log', 3, 100)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	db := openPath(t, path)
	cps, err := db.CheckpointsByFingerprint(ctx, []byte{1, 2})
	if err != nil || len(cps) != 1 {
		t.Fatalf("checkpoints %+v, %v", cps, err)
	}
	if c := cps[0]; c.Offset != 500 || c.Lines != 4 || c.Version != 3 || c.Path != "/var/log/named.log" || len(c.Marks) != 0 {
		t.Errorf("after the upgrade: %+v", c)
	}
	mustCommit(t, db, Batch{Base: cps[0], Next: Checkpoint{Offset: 600, Lines: 5, Marks: []PrefixMark{{Offset: 550, Lines: 4, Hash: hash16(3)}}}})
}
