package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Checkpoint is the ingest position in one content stream
// (docs/exactly-once.md: device, inode, fingerprint of its first bytes,
// offset). A stream is identified by
// its content, not by its file: the same content renamed, rotated or gzipped
// resumes from the same checkpoint.
type Checkpoint struct {
	ID int64
	// Fingerprint identifies the content: a hash of its first line (at most
	// 4096 bytes). Indexed, not unique: two streams may share a first line.
	Fingerprint []byte
	// Offset is the number of bytes of (decompressed) content consumed.
	Offset int64
	// TailHash is a hash of the at most 4096 bytes just before Offset; it
	// verifies that a candidate file really holds this content.
	TailHash []byte
	// Lines is the number of lines consumed.
	Lines int64
	// State is the parser's opaque state at Offset.
	State []byte
	// Dev and Inode identify the file last seen holding this content (0, 0
	// for stdin).
	Dev, Inode uint64
	// Path is the path last seen.
	Path string
	// Marks are prefix marks of the content before Offset, by ascending
	// offset: a shorter file that matches the last mark it reaches is a
	// prefix of this content. At most MaxPrefixMarks are stored.
	Marks []PrefixMark
	// Version is incremented by every Commit (compare-and-swap).
	Version   int64
	UpdatedAt time.Time
}

// PrefixMark is a position inside a checkpoint's content: the offset of a line
// end, the lines before it, and the hash of the (at most 4096) bytes
// before it, like Checkpoint's TailHash (16 bytes).
type PrefixMark struct {
	Offset, Lines int64
	Hash          []byte
}

// MaxPrefixMarks bounds Checkpoint.Marks: ingest takes them at 1 and 2 KiB,
// every 4 KiB up to 64 KiB, and at every power of two from 128 KiB to 2^62.
const MaxPrefixMarks = 64

// markSize is the stored size of a Mark: offset and lines as 8 bytes big
// endian, then its 16-byte hash.
const markSize = 32

// encodeMarks is the marks column of ms.
func encodeMarks(ms []PrefixMark) ([]byte, error) {
	if len(ms) > MaxPrefixMarks {
		return nil, fmt.Errorf("%d marks, at most %d", len(ms), MaxPrefixMarks)
	}
	out := make([]byte, 0, len(ms)*markSize)
	for i, m := range ms {
		if len(m.Hash) != 16 || m.Offset < 0 || m.Lines < 0 || (i > 0 && m.Offset <= ms[i-1].Offset) {
			return nil, fmt.Errorf("mark %d (offset %d, lines %d, %d-byte hash) is invalid", i, m.Offset, m.Lines, len(m.Hash))
		}
		out = binary.BigEndian.AppendUint64(out, uint64(m.Offset))
		out = binary.BigEndian.AppendUint64(out, uint64(m.Lines))
		out = append(out, m.Hash...)
	}
	return out, nil
}

// decodeMarks is the inverse of encodeMarks.
func decodeMarks(b []byte) ([]PrefixMark, error) {
	if len(b)%markSize != 0 {
		return nil, fmt.Errorf("marks: %d bytes is not a multiple of %d", len(b), markSize)
	}
	var ms []PrefixMark
	for ; len(b) > 0; b = b[markSize:] {
		ms = append(ms, PrefixMark{
			Offset: int64(binary.BigEndian.Uint64(b)),
			Lines:  int64(binary.BigEndian.Uint64(b[8:])),
			Hash:   slices.Clone(b[16:markSize]),
		})
	}
	return ms, nil
}

const checkpointColumns = `id, fingerprint, byte_offset, tail_hash, lines, state, dev, inode, path, version, updated_at, marks`

func scanCheckpoint(r rowScanner) (Checkpoint, error) {
	var c Checkpoint
	var dev, inode, updated int64
	var marks []byte
	err := r.Scan(&c.ID, &c.Fingerprint, &c.Offset, &c.TailHash, &c.Lines, &c.State,
		&dev, &inode, &c.Path, &c.Version, &updated, &marks)
	if err != nil {
		return Checkpoint{}, err
	}
	if c.Marks, err = decodeMarks(marks); err != nil {
		return Checkpoint{}, fmt.Errorf("checkpoint %d: %w", c.ID, err)
	}
	// SQLite integers are signed: dev and inode are stored bit-cast.
	c.Dev, c.Inode = uint64(dev), uint64(inode)
	c.UpdatedAt = fromUnixNano(updated)
	return c, nil
}

// CheckpointsByFingerprint returns the checkpoints of content whose first line
// has fingerprint fp, furthest Offset first (ties: newest ID first).
func (db *DB) CheckpointsByFingerprint(ctx context.Context, fp []byte) ([]Checkpoint, error) {
	return queryAll(ctx, db, "checkpoints by fingerprint", scanCheckpoint,
		"SELECT "+checkpointColumns+" FROM checkpoints WHERE fingerprint = ? ORDER BY byte_offset DESC, id DESC", nonNil(fp))
}

// CheckpointsByInode returns the checkpoints last seen in the file (dev,
// inode), in ID order.
func (db *DB) CheckpointsByInode(ctx context.Context, dev, inode uint64) ([]Checkpoint, error) {
	return queryAll(ctx, db, "checkpoints by inode", scanCheckpoint,
		"SELECT "+checkpointColumns+" FROM checkpoints WHERE dev = ? AND inode = ? ORDER BY id", int64(dev), int64(inode))
}

// Checkpoint returns the checkpoint with the given ID, or an error wrapping
// ErrNotFound (and so sql.ErrNoRows).
func (db *DB) Checkpoint(ctx context.Context, id int64) (Checkpoint, error) {
	c, err := scanCheckpoint(db.db.QueryRowContext(ctx,
		"SELECT "+checkpointColumns+" FROM checkpoints WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return Checkpoint{}, fmt.Errorf("store: checkpoint %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Checkpoint{}, fmt.Errorf("store: checkpoint %d %s: %w", id, db.path, err)
	}
	return c, nil
}

// MaxCheckpointID returns the highest checkpoint ID, 0 if there is none. IDs
// are never reused, so a checkpoint created later always has a higher ID.
func (db *DB) MaxCheckpointID(ctx context.Context) (int64, error) {
	var id int64
	if err := db.db.QueryRowContext(ctx, "SELECT coalesce(max(id), 0) FROM checkpoints").Scan(&id); err != nil {
		return 0, fmt.Errorf("store: max checkpoint id %s: %w", db.path, err)
	}
	return id, nil
}

// nonNil turns a nil slice into an empty one: the blob columns are NOT NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
