package store

import (
	"context"
	"database/sql"
	"errors"
	"testing"
)

func TestCheckpointLookups(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	if id, err := db.MaxCheckpointID(ctx); err != nil || id != 0 {
		t.Fatalf("MaxCheckpointID on an empty database = %d, %v", id, err)
	}
	_, err := db.Checkpoint(ctx, 42)
	if !errors.Is(err, ErrNotFound) || !errors.Is(err, sql.ErrNoRows) {
		t.Errorf("Checkpoint(42) error = %v, want ErrNotFound wrapping sql.ErrNoRows", err)
	}
	stdin := firstBatch(fpOther, 10, 1)
	stdin.Next.Dev, stdin.Next.Inode, stdin.Next.Path = 0, 0, "-"
	mustCommit(t, db, stdin)
	r := mustCommit(t, db, firstBatch(fpNamed, 10, 1))
	cs, err := db.CheckpointsByInode(ctx, 2049, 1<<63)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].ID != r.Checkpoint.ID || cs[0].Inode != 1<<63 {
		t.Errorf("CheckpointsByInode = %+v, want checkpoint %d", cs, r.Checkpoint.ID)
	}
	if id, _ := db.MaxCheckpointID(ctx); id != 2 {
		t.Errorf("MaxCheckpointID = %d, want 2", id)
	}
	if cs, _ := db.CheckpointsByFingerprint(ctx, []byte("unknown")); len(cs) != 0 {
		t.Errorf("CheckpointsByFingerprint(unknown) = %d checkpoints", len(cs))
	}
}
