package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"slices"
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
// when a server is blamed for thousands of unrelated query names (DESIGN §4).
const MaxZonelessPerServer = 256

// dayLayout is the format of Count.Day and of the day arguments.
const dayLayout = "2006-01-02"

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
	QName    string
	Server   netip.Addr
	Port     uint16
	Source   string // "bind" | "unbound"
	Evidence string // e.g. "lame_referral", "rcode_notimp"
	Day      string // "2006-01-02", UTC
	N        int64
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
	// Path); its ID, Version and Fingerprint are ignored.
	Next   Checkpoint
	Counts []Count
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
}

// findingKey is the identity of a finding.
type findingKey struct {
	zone, bucket string
	server       netip.Addr
	port         uint16
}

// agg is the batch's contribution to one finding, merged in memory before
// the transaction starts.
type agg struct {
	key         findingKey
	qname       string
	sources     []string
	observed    []string
	n           int64
	first, last time.Time
}

// dailyRow is the batch's contribution to one daily_counts row.
type dailyRow struct {
	agg                   *agg
	day, source, evidence string
	n                     int64
	id                    int64 // the finding's row id, once known
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
	aggs, daily, err := aggregate(b.Counts)
	b.Counts = nil // the caller may have handed them over: let them go
	if err != nil {
		return CommitResult{}, fmt.Errorf("store: commit: %w", err)
	}

	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return CommitResult{}, fmt.Errorf("store: commit %s: %w", db.path, err)
	}
	defer tx.Rollback()

	if err := checkBase(ctx, tx, b); err != nil {
		return CommitResult{}, err
	}
	res, err := upsertFindings(ctx, tx, aggs, daily)
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

// aggregate validates the counts and merges them per finding, in order of
// first appearance, and lists their daily rows. Counts with N == 0 carry no event and
// are skipped.
func aggregate(counts []Count) ([]*agg, []dailyRow, error) {
	// Sized for the common case of one row per finding and day: growing
	// maps of 100,000 entries costs more than the rows themselves.
	byKey := make(map[findingKey]*agg, len(counts)/2)
	var (
		aggs  = make([]*agg, 0, len(counts)/2)
		daily = make([]dailyRow, 0, len(counts))
	)
	for i := range counts {
		c := &counts[i]
		if err := validCount(c); err != nil {
			return nil, nil, fmt.Errorf("count %d (zone %q bucket %q server %s): %w", i, c.Zone, c.Bucket, c.Server, err)
		}
		if c.N == 0 {
			continue
		}
		first, last := c.First.UTC(), c.Last.UTC()
		if first.IsZero() {
			first = last
		}
		if last.IsZero() {
			last = first
		}
		if last.Before(first) {
			first, last = last, first
		}
		k := findingKey{zone: c.Zone, bucket: c.Bucket, server: c.Server.WithZone(""), port: c.Port}
		a := byKey[k]
		if a == nil {
			a = &agg{key: k, first: first, last: last}
			byKey[k] = a
			aggs = append(aggs, a)
		}
		a.merge(c.QName, c.Source, c.Evidence, c.N, first, last)
		// Rows for the same (finding, day, source, evidence) are not merged
		// here: the daily upsert adds them up (see insertDaily).
		daily = append(daily, dailyRow{agg: a, day: c.Day, source: c.Source, evidence: c.Evidence, n: c.N})
	}
	return aggs, daily, nil
}

func validCount(c *Count) error {
	switch {
	case !c.Server.IsValid():
		return errors.New("invalid server address")
	case c.Zone != "" && c.Bucket != "":
		return errors.New("bucket set on a count with a zone")
	case c.Source == "":
		return errors.New("empty source")
	case c.Evidence == "":
		return errors.New("empty evidence kind")
	case c.N < 0:
		return fmt.Errorf("negative count %d", c.N)
	case c.First.IsZero() && c.Last.IsZero():
		return errors.New("no event time")
	}
	if !validDay(c.Day) {
		return fmt.Errorf("day %q is not YYYY-MM-DD", c.Day)
	}
	return nil
}

// validDay reports whether d is a date in dayLayout (without time.Parse:
// it runs once per count of a batch).
func validDay(d string) bool {
	if len(d) != 10 || d[4] != '-' || d[7] != '-' {
		return false
	}
	num := func(s string) int {
		n := 0
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return -1
			}
			n = n*10 + int(s[i]-'0')
		}
		return n
	}
	y, m, day := num(d[:4]), num(d[5:7]), num(d[8:])
	if y < 0 || m < 1 || m > 12 || day < 1 {
		return false
	}
	return day <= time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// merge adds one count's totals to a.
func (a *agg) merge(qname, source, evidence string, n int64, first, last time.Time) {
	if a.qname == "" {
		a.qname = qname
	}
	a.sources = addToSet(a.sources, source)
	a.observed = addToSet(a.observed, evidence)
	a.n += n
	if first.Before(a.first) {
		a.first = first
	}
	if last.After(a.last) {
		a.last = last
	}
}

// addToSet inserts s into the sorted set set.
func addToSet(set []string, s string) []string {
	i, found := slices.BinarySearch(set, s)
	if found {
		return set
	}
	return slices.Insert(set, i, s)
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
	now := db.now().UTC()
	args := []any{n.Offset, nonNil(n.TailHash), n.Lines, nonNil(n.State), int64(n.Dev), int64(n.Inode), n.Path, unixNano(now)}
	if b.Base.ID != 0 {
		r, err := tx.ExecContext(ctx, `UPDATE checkpoints SET byte_offset = ?, tail_hash = ?, lines = ?, state = ?,
			dev = ?, inode = ?, path = ?, updated_at = ?, version = version + 1 WHERE id = ? AND version = ?`,
			append(args, b.Base.ID, b.Base.Version)...)
		if err != nil {
			return Checkpoint{}, fmt.Errorf("update checkpoint %d: %w", b.Base.ID, err)
		}
		if n, err := r.RowsAffected(); err != nil || n != 1 {
			return Checkpoint{}, fmt.Errorf("update checkpoint %d: %d rows changed (%v)", b.Base.ID, n, err)
		}
	}
	var id int64
	if b.Base.ID != 0 {
		id = b.Base.ID
	} else {
		r, err := tx.ExecContext(ctx, `INSERT INTO checkpoints
			(byte_offset, tail_hash, lines, state, dev, inode, path, updated_at, version, fingerprint)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?)`, append(args, b.Base.Fingerprint)...)
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
