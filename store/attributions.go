package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Attribute assigns zone to the zone-less finding findingID, once
// verification has found the zone cut above its sample query name whose
// delegation lists its server (docs/verification.md, section 1). In one
// transaction:
//
//   - the finding's evidence moves into the finding (zone, "", server,
//     port), which is created if missing and merged into if present: Count
//     summed, Sources and Observed united, FirstSeen the earlier, LastSeen
//     the later, QName kept unless the target has none, daily counts added
//     per (day, source, evidence), probe rounds moved and Rounds summed;
//   - a target that exists keeps its verdict (Status, Reason, ServerNames;
//     LastProbed the later). A new target takes the zone-less finding's
//     verdict if that finding has probe rounds, and otherwise starts as
//     "new" and never probed: a zone-less finding's status (stale: no
//     delegation lists the server) is about its attribution, which this
//     call just settled;
//   - the zone-less finding is deleted, and the attribution is recorded, so
//     that later Commits of zone-less counts for the same (server, port,
//     bucket) go straight into the target. The overflow bucket
//     (OverflowBucket) mixes unrelated names: its evidence moves like any
//     other, but its later counts are not routed.
//
// It returns the target finding. Attribute is idempotent: called again with
// the ID of a finding it deleted and the same zone, it changes nothing and
// returns the target as it is now; with another zone it fails. Finding IDs
// are never reused, so an old ID cannot name a newer finding. Called on a
// finding that already has zone, it returns that finding unchanged. Unknown
// IDs give ErrNotFound.
func (db *DB) Attribute(ctx context.Context, findingID int64, zone string) (Finding, error) {
	if zone == "" || !strings.HasSuffix(zone, ".") {
		return Finding{}, fmt.Errorf("store: attribute finding %d: zone %q is not an absolute name", findingID, zone)
	}
	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return Finding{}, fmt.Errorf("store: attribute finding %d %s: %w", findingID, db.path, err)
	}
	defer tx.Rollback()

	src, err := findingByID(ctx, tx, db.path, findingID)
	switch {
	case errors.Is(err, ErrNotFound):
		return db.attributed(ctx, tx, findingID, zone)
	case err != nil:
		return Finding{}, fmt.Errorf("store: attribute: %w", err)
	case src.Zone == zone:
		return src, nil
	case src.Zone != "":
		return Finding{}, fmt.Errorf("store: attribute finding %d to %s: it has zone %s", findingID, zone, src.Zone)
	}

	targetID, err := db.moveInto(ctx, tx, src, zone)
	if err != nil {
		return Finding{}, fmt.Errorf("store: attribute finding %d to %s %s: %w", findingID, zone, db.path, err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO attributions (finding_id, server, port, bucket, zone, at) VALUES (?, ?, ?, ?, ?, ?)",
		src.ID, src.Server.String(), int(src.Port), src.Bucket, zone, db.clock().UnixNano()); err != nil {
		return Finding{}, fmt.Errorf("store: attribute finding %d to %s %s: record attribution: %w", findingID, zone, db.path, err)
	}
	target, err := db.commitTarget(ctx, tx, targetID)
	if err != nil {
		return Finding{}, fmt.Errorf("store: attribute finding %d to %s: %w", findingID, zone, err)
	}
	return target, nil
}

// MergeZone moves the zoned finding findingID into the finding (zone, "",
// server, port) of its server and port, when verification has found that
// the finding's zone is a lossy spelling of zone: Unbound writes the octets
// it cannot print as '?' (docs/verification.md, section 1). It moves the
// evidence as Attribute does, in one transaction — counts summed, sources
// and observed united, first and last seen widened, daily counts added per
// (day, source, evidence), probe rounds moved — into a target that keeps
// its verdict, or that is created (status "new" unless the finding had
// rounds); then it deletes the finding and returns the target.
//
// Nothing routes later evidence: Unbound will spell the zone the same way
// again, and the next verification merges the new finding too. The finding
// must have a zone other than zone (a zone-less one is for Attribute);
// unknown IDs, also of findings merged before, give ErrNotFound.
func (db *DB) MergeZone(ctx context.Context, findingID int64, zone string) (Finding, error) {
	if zone == "" || !strings.HasSuffix(zone, ".") {
		return Finding{}, fmt.Errorf("store: merge finding %d: zone %q is not an absolute name", findingID, zone)
	}
	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return Finding{}, fmt.Errorf("store: merge finding %d %s: %w", findingID, db.path, err)
	}
	defer tx.Rollback()
	src, err := findingByID(ctx, tx, db.path, findingID)
	switch {
	case err != nil:
		return Finding{}, fmt.Errorf("store: merge: %w", err)
	case src.Zone == "":
		return Finding{}, fmt.Errorf("store: merge finding %d into %s: it has no zone", findingID, zone)
	case src.Zone == zone:
		return Finding{}, fmt.Errorf("store: merge finding %d into %s: it already has zone %s", findingID, zone, zone)
	}
	targetID, err := db.moveInto(ctx, tx, src, zone)
	if err != nil {
		return Finding{}, fmt.Errorf("store: merge finding %d into %s %s: %w", findingID, zone, db.path, err)
	}
	target, err := db.commitTarget(ctx, tx, targetID)
	if err != nil {
		return Finding{}, fmt.Errorf("store: merge finding %d into %s: %w", findingID, zone, err)
	}
	return target, nil
}

// commitTarget reads the finding targetID back and commits tx (the end of
// Attribute and MergeZone).
func (db *DB) commitTarget(ctx context.Context, tx *sql.Tx, targetID int64) (Finding, error) {
	target, err := findingByID(ctx, tx, db.path, targetID)
	if err != nil {
		return Finding{}, fmt.Errorf("read back: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return Finding{}, fmt.Errorf("commit %s: %w", db.path, err)
	}
	return target, nil
}

// moveInto moves src's evidence and rounds into the finding (zone, "",
// src.Server, src.Port), creating it if missing, deletes src and returns
// the target's ID (the common part of Attribute and MergeZone).
func (db *DB) moveInto(ctx context.Context, tx *sql.Tx, src Finding, zone string) (int64, error) {
	targetID, err := db.mergeInto(ctx, tx, src, zone)
	if err != nil {
		return 0, err
	}
	for _, st := range []struct {
		what, query string
		args        []any
	}{
		{"move daily counts", `INSERT INTO daily_counts (finding_id, day, source, evidence, n)
			SELECT ?, day, source, evidence, n FROM daily_counts WHERE finding_id = ?
			ON CONFLICT (finding_id, day, source, evidence) DO UPDATE SET n = n + excluded.n`,
			[]any{targetID, src.ID}},
		{"move rounds", "UPDATE rounds SET finding_id = ? WHERE finding_id = ?", []any{targetID, src.ID}},
		{"delete finding", "DELETE FROM findings WHERE id = ?", []any{src.ID}},
	} {
		if _, err := tx.ExecContext(ctx, st.query, st.args...); err != nil {
			return 0, fmt.Errorf("%s: %w", st.what, err)
		}
	}
	return targetID, nil
}

// attributed answers a repeated Attribute of a finding that is gone.
func (db *DB) attributed(ctx context.Context, tx *sql.Tx, findingID int64, zone string) (Finding, error) {
	var was, server string
	var port int
	err := tx.QueryRowContext(ctx, "SELECT zone, server, port FROM attributions WHERE finding_id = ?", findingID).
		Scan(&was, &server, &port)
	if errors.Is(err, sql.ErrNoRows) {
		return Finding{}, fmt.Errorf("store: attribute finding %d: %w", findingID, ErrNotFound)
	}
	if err != nil {
		return Finding{}, fmt.Errorf("store: attribute finding %d %s: %w", findingID, db.path, err)
	}
	if was != zone {
		return Finding{}, fmt.Errorf("store: attribute finding %d to %s: it was attributed to %s", findingID, zone, was)
	}
	var id int64
	err = tx.QueryRowContext(ctx, "SELECT id FROM findings WHERE zone = ? AND bucket = '' AND server = ? AND port = ?",
		zone, server, port).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return Finding{}, fmt.Errorf("store: attribute finding %d: finding (%s %s#%d) it went to: %w", findingID, zone, server, port, ErrNotFound)
	}
	if err != nil {
		return Finding{}, fmt.Errorf("store: attribute finding %d %s: %w", findingID, db.path, err)
	}
	return findingByID(ctx, tx, db.path, id)
}

// mergeInto creates or updates the finding (zone, "", src.Server, src.Port)
// with src's totals and returns its ID (Attribute's first step).
func (db *DB) mergeInto(ctx context.Context, tx *sql.Tx, src Finding, zone string) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, "SELECT id FROM findings WHERE zone = ? AND bucket = '' AND server = ? AND port = ?",
		zone, src.Server.String(), int(src.Port)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		t := src
		if src.Rounds == 0 {
			t.Status, t.Reason, t.ServerNames, t.LastProbed, t.ConfirmedAt = StatusNew, "", nil, time.Time{}, time.Time{}
		}
		// status_at goes with the verdict: src's own, or none for "new".
		res, err := tx.ExecContext(ctx, `INSERT INTO findings (zone, bucket, server, port, qname, sources, observed,
			count, first_seen, last_seen, server_names, status, reason, rounds, last_probed, confirmed_at, server_key,
			status_at)
			VALUES (?, '', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
			CASE WHEN ? > 0 THEN (SELECT status_at FROM findings WHERE id = ?) END)`,
			zone, t.Server.String(), int(t.Port), t.QName, jsonSet(t.Sources), jsonSet(t.Observed),
			t.Count, unixNano(t.FirstSeen), unixNano(t.LastSeen), jsonSet(t.ServerNames), t.Status.String(), t.Reason,
			t.Rounds, nullTime(t.LastProbed), nullTime(t.ConfirmedAt), serverKey(t.Server), src.Rounds, src.ID)
		if err != nil {
			return 0, fmt.Errorf("create finding: %w", err)
		}
		return res.LastInsertId()
	}
	if err != nil {
		return 0, fmt.Errorf("read target finding: %w", err)
	}
	t, err := findingByID(ctx, tx, db.path, id)
	if err != nil {
		return 0, err
	}
	if t.QName == "" {
		t.QName = src.QName
	}
	for _, s := range src.Sources {
		t.Sources = addToSet(t.Sources, s)
	}
	for _, s := range src.Observed {
		if len(t.Observed) >= MaxObservedKinds {
			break // the target's kinds first, then src's while there is room
		}
		t.Observed = addToSet(t.Observed, s)
	}
	t.Count += src.Count
	if src.FirstSeen.Before(t.FirstSeen) {
		t.FirstSeen = src.FirstSeen
	}
	if src.LastSeen.After(t.LastSeen) {
		t.LastSeen = src.LastSeen
	}
	if src.Rounds > 0 && src.LastProbed.After(t.LastProbed) {
		t.LastProbed = src.LastProbed
	}
	t.Rounds += src.Rounds
	if _, err := tx.ExecContext(ctx, `UPDATE findings SET qname = ?, sources = ?, observed = ?, count = ?,
		first_seen = ?, last_seen = ?, rounds = ?, last_probed = ? WHERE id = ?`,
		t.QName, jsonSet(t.Sources), jsonSet(t.Observed), t.Count, unixNano(t.FirstSeen), unixNano(t.LastSeen),
		t.Rounds, nullTime(t.LastProbed), id); err != nil {
		return 0, fmt.Errorf("update finding %d: %w", id, err)
	}
	return id, nil
}

// nullTime stores the zero time as NULL.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

// addToSet inserts s into the sorted set set.
func addToSet(set []string, s string) []string {
	i, found := slices.BinarySearch(set, s)
	if found {
		return set
	}
	return slices.Insert(set, i, s)
}
