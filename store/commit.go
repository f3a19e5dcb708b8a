package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"iter"
	"net/netip"
	"time"
)

// OverflowBucket is the bucket that takes a server's new zone-less evidence
// once the server already has MaxZonelessPerServer zone-less findings.
const OverflowBucket = "*"

// MaxZonelessPerServer bounds the zone-less findings (Zone == "") of one
// server address, over all ports, not counting the OverflowBucket ones. When
// a batch would create one more, its counts go to the finding (zone "",
// bucket "*", server, port) instead. Existing buckets keep receiving their
// counts, and so do buckets that Attribute gave a zone: their counts go to the
// zoned finding and do not count against the cap. This keeps storage bounded
// when a server is blamed for thousands of unrelated query names.
const MaxZonelessPerServer = 256

// Count is aggregated evidence for one finding, one source, one evidence kind,
// one UTC day.
type Count struct {
	// Zone is the canonical absolute zone name, "" when the log line named no
	// zone.
	Zone string
	// Bucket groups zone-less evidence by query name (computed by ingest,
	// e.g. "refused.lab."); it must be "" when Zone != "".
	Bucket string
	// QName is one sample query name ("" if none).
	QName string
	// Server is the server's address. An IPv6 scope (fe80::1%2) is kept and
	// is part of the finding's identity: a link-local address names a
	// different host on every link.
	Server   netip.Addr
	Port     uint16
	Source   string // "bind" | "unbound"
	Evidence string // e.g. "lame_referral", "rcode_notimp"
	Day      Day    // the UTC day of the events
	// N is the number of events. A count with N == 0 only adds Source and
	// Evidence to its finding (the second line of an event a resolver logs
	// in two): it makes no daily row and never creates a finding.
	N int64
	// First and Last are the times of the first and last event counted; a
	// zero one takes the other's value.
	First, Last time.Time
}

// Batch is what one ingest step produced: the counts of the content between
// Base and Next.
type Batch struct {
	// Base is the checkpoint as read before this batch; Base.ID == 0 means the
	// content was never seen, and Base.Fingerprint must be set.
	Base Checkpoint
	// SeenMaxID is MaxCheckpointID at the time Base was looked up; only used
	// when Base.ID == 0.
	SeenMaxID int64
	// Next is the new position (Offset, TailHash, Lines, State, Dev, Inode,
	// Path, Marks); its ID, Version and Fingerprint are ignored.
	Next   Checkpoint
	Counts []Count
	// Rows, when not nil, yields the batch's counts instead of Counts, so
	// that a large batch need not exist as a slice of Count; each *Count is
	// valid only during the call of yield. RowsLen is how many it yields
	// (a hint for allocation).
	Rows    iter.Seq[*Count]
	RowsLen int
}

// All returns the batch's counts as a sequence: Rows, or Counts.
func (b *Batch) All() iter.Seq[*Count] {
	if b.Rows != nil {
		return b.Rows
	}
	counts := b.Counts
	return func(yield func(*Count) bool) {
		for i := range counts {
			if !yield(&counts[i]) {
				return
			}
		}
	}
}

// Len is the number of counts in the batch (RowsLen when Rows is set).
func (b *Batch) Len() int {
	if b.Rows != nil {
		return b.RowsLen
	}
	return len(b.Counts)
}

// CommitResult tells what Commit did.
type CommitResult struct {
	// Checkpoint is the checkpoint as stored after the commit (ID and
	// Version set).
	Checkpoint Checkpoint
	// NewFindings is the number of findings created by this batch.
	NewFindings int
	// UpdatedFindings is the number of pre-existing findings this batch added
	// counts to.
	UpdatedFindings int
	// Findings are the ids of the findings this batch added counts to, new
	// and pre-existing, ascending.
	Findings []int64
	// CappedEvents is the number of events of evidence kinds that were not
	// stored because their finding holds MaxObservedKinds kinds already:
	// counted in the finding's Count, without daily rows.
	CappedEvents int64
}

// Commit applies a batch atomically, in one immediate transaction that
//  1. checks the checkpoint: for Base.ID != 0 the stored Version and Offset
//     must equal Base's; for Base.ID == 0 no checkpoint with the same
//     Fingerprint may have an ID above SeenMaxID. Otherwise it returns an
//     error wrapping ErrConflict and writes nothing;
//  2. upserts the findings (totals, sources, observed, first/last seen, the
//     sample query name when it has none) and their per-day counts; zone-less
//     counts of an attributed (server, port, bucket) go to the zoned finding
//     (see Attribute), new zone-less buckets past the cap to the overflow
//     finding (see MaxZonelessPerServer);
//  3. writes the new checkpoint with Version+1 (1 for a new one).
//
// A crash at any instant leaves either all of it or nothing. A batch with
// an invalid count is refused before anything is written.
func (db *DB) Commit(ctx context.Context, b Batch) (CommitResult, error) {
	if b.Base.ID == 0 && len(b.Base.Fingerprint) == 0 {
		return CommitResult{}, errors.New("store: commit: new checkpoint without a fingerprint")
	}
	if b.Next.Offset < 0 || b.Next.Lines < 0 {
		return CommitResult{}, fmt.Errorf("store: commit: negative position (offset %d, lines %d)", b.Next.Offset, b.Next.Lines)
	}
	aggs, daily, err := aggregate(b.All(), b.Len())
	b.Counts, b.Rows = nil, nil // the caller may have handed them over: let them go
	if err != nil {
		return CommitResult{}, fmt.Errorf("store: commit: %w", err)
	}

	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	conn, release, err := db.commitConn(ctx)
	if err != nil {
		return CommitResult{}, fmt.Errorf("store: commit %s: %w", db.path, err)
	}
	defer release()
	tx, err := beginWrite(ctx, conn)
	if err != nil {
		return CommitResult{}, fmt.Errorf("store: commit %s: %w", db.path, err)
	}
	defer tx.Rollback()

	if err := checkBase(ctx, tx, b); err != nil {
		return CommitResult{}, err
	}
	var res CommitResult
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(driverConn)
		if !ok {
			return fmt.Errorf("driver connection %T cannot prepare with a context", dc)
		}
		var err error
		res, err = upsertFindings(ctx, c, aggs, daily)
		return err
	})
	if err != nil {
		return CommitResult{}, fmt.Errorf("store: commit %s: %w", db.path, err)
	}
	res.Checkpoint, err = db.writeCheckpoint(ctx, tx, b)
	if err != nil {
		return CommitResult{}, fmt.Errorf("store: commit %s: %w", db.path, err)
	}
	if err := tx.Commit(); err != nil {
		return CommitResult{}, fmt.Errorf("store: commit %s: %w", db.path, err)
	}
	return res, nil
}

// commitConn returns the connection for a Commit: its transaction and the
// driver-level statements of the upsert (see rawconn.go) share it. It keeps
// temporary tables in memory (the staging table of new findings, see
// upsert.go; in a temporary file, it slowed down the daily rows by a
// third). release puts it back in the pool as it was, or drops it; it must
// run after the transaction ended.
func (db *DB) commitConn(ctx context.Context) (conn *sql.Conn, release func(), err error) {
	if conn, err = db.db.Conn(ctx); err != nil {
		return nil, nil, err
	}
	if _, err := conn.ExecContext(ctx, "PRAGMA temp_store = MEMORY"); err != nil {
		conn.Close()
		return nil, nil, err
	}
	release = func() {
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA temp_store = DEFAULT"); err != nil {
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		conn.Close()
	}
	return conn, release, nil
}

// checkBase is the compare-and-swap on the checkpoint (Commit step 1).
func checkBase(ctx context.Context, tx *sql.Tx, b Batch) error {
	if b.Base.ID != 0 {
		var version, offset int64
		err := tx.QueryRowContext(ctx, "SELECT version, byte_offset FROM checkpoints WHERE id = ?", b.Base.ID).Scan(&version, &offset)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: commit: checkpoint %d no longer exists: %w", b.Base.ID, ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("store: commit: read checkpoint %d: %w", b.Base.ID, err)
		}
		if version != b.Base.Version || offset != b.Base.Offset {
			return fmt.Errorf("store: commit: checkpoint %d is at version %d offset %d, batch built on version %d offset %d: %w",
				b.Base.ID, version, offset, b.Base.Version, b.Base.Offset, ErrConflict)
		}
		return nil
	}
	var id int64
	err := tx.QueryRowContext(ctx, "SELECT id FROM checkpoints WHERE fingerprint = ? AND id > ? LIMIT 1",
		b.Base.Fingerprint, b.SeenMaxID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: commit: look up fingerprint: %w", err)
	}
	return fmt.Errorf("store: commit: checkpoint %d with the same fingerprint was created after id %d: %w", id, b.SeenMaxID, ErrConflict)
}

// writeCheckpoint is Commit step 3.
func (db *DB) writeCheckpoint(ctx context.Context, tx *sql.Tx, b Batch) (Checkpoint, error) {
	n := b.Next
	marks, err := encodeMarks(n.Marks)
	if err != nil {
		return Checkpoint{}, err
	}
	args := []any{n.Offset, nonNil(n.TailHash), n.Lines, nonNil(n.State), int64(n.Dev), int64(n.Inode), n.Path, unixNano(db.clock().UTC()), marks}
	if b.Base.ID != 0 {
		r, err := tx.ExecContext(ctx, `UPDATE checkpoints SET byte_offset = ?, tail_hash = ?, lines = ?, state = ?,
			dev = ?, inode = ?, path = ?, updated_at = ?, marks = ?, version = version + 1 WHERE id = ? AND version = ?`,
			append(args, b.Base.ID, b.Base.Version)...)
		if err != nil {
			return Checkpoint{}, fmt.Errorf("update checkpoint %d: %w", b.Base.ID, err)
		}
		if n, err := r.RowsAffected(); err != nil {
			return Checkpoint{}, fmt.Errorf("update checkpoint %d: %w", b.Base.ID, err)
		} else if n != 1 {
			return Checkpoint{}, fmt.Errorf("update checkpoint %d: %d rows changed", b.Base.ID, n)
		}
	}
	var id int64
	if b.Base.ID != 0 {
		id = b.Base.ID
	} else {
		r, err := tx.ExecContext(ctx, `INSERT INTO checkpoints
			(byte_offset, tail_hash, lines, state, dev, inode, path, updated_at, marks, version, fingerprint)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)`, append(args, b.Base.Fingerprint)...)
		if err != nil {
			return Checkpoint{}, fmt.Errorf("insert checkpoint: %w", err)
		}
		if id, err = r.LastInsertId(); err != nil {
			return Checkpoint{}, fmt.Errorf("insert checkpoint: %w", err)
		}
	}
	c, err := scanCheckpoint(tx.QueryRowContext(ctx, "SELECT "+checkpointColumns+" FROM checkpoints WHERE id = ?", id))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("read back checkpoint %d: %w", id, err)
	}
	return c, nil
}
