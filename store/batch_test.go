package store

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// mixedCounts is a batch as ingest sends it, the counts of each finding
// together: zoned and zone-less findings, several days and kinds, a sample
// name that only the second count has, a count without events.
func mixedCounts() []Count {
	www := zoned("example.com.", srvA, "bind", "lame_referral", 2, at(1, 0), at(1, 30))
	www.QName = "" // set by the next count only
	mail := zoned("example.com.", srvA, "bind", "refused", 1, at(2, 0), at(2, 0))
	mail.QName = "mail.example.com."
	other := zoned("example.com.", srvA, "unbound", "rec_lame", 1, testNow, testNow) // next day
	port := zoned("example.com.", srvA, "bind", "lame_referral", 1, at(3, 0), at(3, 0))
	port.Port = 5353
	none := zoned("none.example.", srvB, "bind", "lame_referral", 0, at(1, 0), at(1, 0))
	return []Count{
		www, mail, other,
		// 21-Nov-2026 01:05:00 lame-servers: info: REFUSED unexpected RCODE resolving 'x.refused.lab/A/IN': 192.0.2.53#53
		zoneless("refused.lab.", "x.refused.lab.", srvA, "refused", 2, at(1, 5), at(1, 10)),
		zoneless("refused.lab.", "y.refused.lab.", srvA, "servfail", 4, testNow, testNow),
		port,
		none,
		zoned("example.net.", srvB, "bind", "lame_referral", 3, at(4, 0), at(5, 0)),
		zoned("example.net.", srvB, "bind", "lame_referral", 1, at(6, 0), at(6, 0)), // same day and kind
		zoneless("b.example.", "www.b.example.", srvB, "timeout", 1, at(1, 0), at(1, 0)),
	}
}

// interleave returns the counts with the findings' runs taken apart: the
// first count of every finding, then the second of every finding, and so
// on. Each finding keeps the order of its own counts, and the findings
// their order of first appearance.
func interleave(counts []Count) []Count {
	var (
		order []findingKey
		runs  = make(map[findingKey][]Count)
	)
	for _, c := range counts {
		k := findingKey{zone: c.Zone, bucket: c.Bucket, server: c.Server, port: c.Port}
		if _, ok := runs[k]; !ok {
			order = append(order, k)
		}
		runs[k] = append(runs[k], c)
	}
	var out []Count
	for i := 0; len(out) < len(counts); i++ {
		for _, k := range order {
			if i < len(runs[k]) {
				out = append(out, runs[k][i])
			}
		}
	}
	return out
}

// asRows returns b with its counts given by Batch.Rows, through one Count
// that is overwritten after each yield, as ingest does: Commit must keep
// nothing of it but copies.
func asRows(b Batch) Batch {
	counts := b.Counts
	b.Counts, b.RowsLen = nil, len(counts)
	b.Rows = func(yield func(*Count) bool) {
		var c Count
		for i := range counts {
			c = counts[i]
			if !yield(&c) {
				return
			}
			c = Count{Zone: "clobbered.", QName: "clobbered.", Day: 1, N: -1}
		}
	}
	return b
}

// TestCommitAnyOrder: counts grouped by finding, as ingest sends them, and
// the same counts in another order, or given by Batch.Rows, give the same
// database, ids included.
func TestCommitAnyOrder(t *testing.T) {
	for _, tt := range []struct {
		name   string
		counts []Count
	}{
		{"mixed", mixedCounts()},
		{"lame-2m shape", lameShapeBatch(0)[:6000]},
	} {
		t.Run(tt.name, func(t *testing.T) {
			grouped, other := openTest(t), openTest(t)
			rg := mustCommit(t, grouped, firstBatch(fpNamed, 100, 10, slices.Clone(tt.counts)...))
			ro := mustCommit(t, other, firstBatch(fpNamed, 100, 10, interleave(tt.counts)...))
			if diff := cmp.Diff(rg, ro, cmpOpts...); diff != "" {
				t.Errorf("CommitResult (-grouped +interleaved):\n%s", diff)
			}
			// Again, on top: the findings exist now.
			rg = mustCommit(t, grouped, next(rg.Checkpoint, 200, 20, slices.Clone(tt.counts)...))
			ro = mustCommit(t, other, next(ro.Checkpoint, 200, 20, interleave(tt.counts)...))
			if diff := cmp.Diff(rg, ro, cmpOpts...); diff != "" {
				t.Errorf("second CommitResult (-grouped +interleaved):\n%s", diff)
			}
			if diff := cmp.Diff(takeSnapshot(t, grouped), takeSnapshot(t, other), cmpOpts...); diff != "" {
				t.Errorf("database (-grouped +interleaved):\n%s", diff)
			}
			rows := openTest(t)
			rr := mustCommit(t, rows, asRows(firstBatch(fpNamed, 100, 10, slices.Clone(tt.counts)...)))
			rr = mustCommit(t, rows, asRows(next(rr.Checkpoint, 200, 20, slices.Clone(tt.counts)...)))
			if diff := cmp.Diff(rg, rr, cmpOpts...); diff != "" {
				t.Errorf("second CommitResult (-Counts +Rows):\n%s", diff)
			}
			if diff := cmp.Diff(takeSnapshot(t, grouped), takeSnapshot(t, rows), cmpOpts...); diff != "" {
				t.Errorf("database (-Counts +Rows):\n%s", diff)
			}
		})
	}
}

// TestCommitManyNewFindings crosses the staging chunks of new findings and
// the look-up chunks of existing ones: ids follow first appearance, and a
// second batch of the same findings adds to them.
func TestCommitManyNewFindings(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	n := 2*stageChunk + 5
	counts := make([]Count, 0, n)
	for i := range n {
		counts = append(counts, zoned(fmt.Sprintf("z%d.example.", i), srvA, "bind", "lame_referral", 1, at(1, 0), at(1, 0)))
	}
	counts = append(counts, zoneless("refused.lab.", "", srvB, "refused", 1, at(1, 0), at(1, 0)))
	r := mustCommit(t, db, firstBatch(fpNamed, 100, 10, slices.Clone(counts)...))
	if r.NewFindings != n+1 || r.UpdatedFindings != 0 {
		t.Errorf("first batch: %d new, %d updated, want %d and 0", r.NewFindings, r.UpdatedFindings, n+1)
	}
	r = mustCommit(t, db, next(r.Checkpoint, 200, 20, slices.Clone(counts)...))
	if r.NewFindings != 0 || r.UpdatedFindings != n+1 {
		t.Errorf("second batch: %d new, %d updated, want 0 and %d", r.NewFindings, r.UpdatedFindings, n+1)
	}
	fs, err := db.Findings(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != n+1 {
		t.Fatalf("%d findings, want %d", len(fs), n+1)
	}
	for _, f := range fs {
		want := fmt.Sprintf("z%d.example.", f.ID-1)
		if f.ID == int64(n+1) {
			want = ""
		}
		if f.Zone != want || f.Count != 2 {
			t.Errorf("finding %d: zone %q count %d, want %q and 2", f.ID, f.Zone, f.Count, want)
		}
	}
	var rows, total int64
	if err := db.db.QueryRowContext(ctx, "SELECT count(*), sum(n) FROM daily_counts").Scan(&rows, &total); err != nil {
		t.Fatal(err)
	}
	if rows != int64(n+1) || total != int64(2*(n+1)) {
		t.Errorf("daily counts: %d rows of %d events, want %d of %d", rows, total, n+1, 2*(n+1))
	}
}

// TestCommitLeavesConnectionsAsFound: Commit keeps its staging table in
// memory, and puts the connection back with SQLite's defaults.
func TestCommitLeavesConnectionsAsFound(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	mustCommit(t, db, firstBatch(fpNamed, 100, 10, mixedCounts()...))
	// Hold several connections at once, so that the one Commit used is
	// among them.
	for i := range 3 {
		conn, err := db.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var store, fk int
		if err := conn.QueryRowContext(ctx, "PRAGMA temp_store").Scan(&store); err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
			t.Fatal(err)
		}
		var tables int
		if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM temp.sqlite_schema").Scan(&tables); err != nil {
			t.Fatal(err)
		}
		if store != 0 || fk != 1 || tables != 0 {
			t.Errorf("connection %d: temp_store %d, foreign_keys %d, %d temporary tables; want 0, 1, 0", i, store, fk, tables)
		}
	}
}
