package store

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// buckets returns n zone-less counts of server, in buckets prefix000.lab.
// and on.
func buckets(prefix string, n int, server netip.Addr) []Count {
	var counts []Count
	for i := range n {
		b := fmt.Sprintf("%s%03d.lab.", prefix, i)
		counts = append(counts, zoneless(b, "q."+b, server, "refused", 1, at(1, 0), at(1, 0)))
	}
	return counts
}

// zonelessOf lists the zone-less findings of server as "bucket#port=count".
func zonelessOf(t *testing.T, db *DB, server netip.Addr) map[string]int64 {
	t.Helper()
	fs, err := db.Findings(context.Background(), Filter{Server: server})
	if err != nil {
		t.Fatal(err)
	}
	got := make(map[string]int64)
	for _, f := range fs {
		if f.Zone == "" {
			got[fmt.Sprintf("%s#%d", f.Bucket, f.Port)] = f.Count
		}
	}
	return got
}

// TestCommitZonelessCapPerServer: one batch for several servers whose
// zone-less findings the store reads in one go, each with its own cap:
// srvA has room for one more bucket, srvB none, srvC is new.
func TestCommitZonelessCapPerServer(t *testing.T) {
	srvC := netip.MustParseAddr("198.51.100.7")
	db := openTest(t)
	first := append(buckets("a", MaxZonelessPerServer-1, srvA), buckets("b", MaxZonelessPerServer, srvB)...)
	// An overflow finding of srvB already, and one on another port of srvA:
	// neither counts against the cap.
	over := zoneless("b-over.lab.", "", srvB, "refused", 1, at(1, 0), at(1, 0))
	other := zoneless("a-other.lab.", "", srvA, "refused", 1, at(1, 0), at(1, 0))
	other.Port = 5353
	first = append(first, over, other)
	r := mustCommit(t, db, firstBatch(fpNamed, 100, 10, first...))
	if want := 2*MaxZonelessPerServer + 1; r.NewFindings != want {
		t.Fatalf("first batch: %d new findings, want %d (the 257th bucket of srvB overflows; a-other.lab.#5353 is srvA's 256th)", r.NewFindings, want)
	}

	newB := zoneless("b-new.lab.", "", srvB, "timeout", 2, at(2, 0), at(2, 0))
	newB.Port = 5353
	r = mustCommit(t, db, next(r.Checkpoint, 200, 20,
		zoneless("c000.lab.", "", srvC, "refused", 1, at(2, 0), at(2, 0)),    // new server: new finding
		zoneless("a-late.lab.", "", srvA, "refused", 1, at(2, 0), at(2, 0)),  // srvA is full now (a-other.lab.#5353)
		zoneless("b007.lab.", "", srvB, "refused", 3, at(2, 0), at(2, 0)),    // existing bucket: kept
		zoneless("b-over2.lab.", "", srvB, "refused", 1, at(2, 0), at(2, 0)), // into srvB's "*"#53
		newB, // a new "*"#5353 of srvB
		zoneless("c001.lab.", "", srvC, "refused", 1, at(2, 0), at(2, 0)),            // new server: new finding
		zoneless(OverflowBucket, "", srvC, "refused", 1, at(2, 0), at(2, 0)),         // overflow counts as sent
		zoneless("a-other.lab.", "", srvA, "servfail", 1, at(2, 0), at(2, 0)),        // port 53: srvA is full
		zoneless("a000.lab.", "q.a000.lab.", srvA, "refused", 1, at(2, 0), at(2, 0)), // existing bucket: kept
	))
	// New: c000, c001, "*"#53 of srvC, "*"#53 of srvA, "*"#5353 of srvB;
	// updated: b007, "*"#53 of srvB, a000.
	if r.NewFindings != 5 || r.UpdatedFindings != 3 {
		t.Errorf("second batch: %d new, %d updated; want 5 and 3", r.NewFindings, r.UpdatedFindings)
	}
	for _, tt := range []struct {
		server netip.Addr
		want   map[string]int64 // some of its findings
		named  int
	}{
		{srvA, map[string]int64{"a000.lab.#53": 2, "a-other.lab.#5353": 1, "*#53": 2}, MaxZonelessPerServer},
		{srvB, map[string]int64{"b007.lab.#53": 4, "*#53": 2, "*#5353": 2}, MaxZonelessPerServer},
		{srvC, map[string]int64{"c000.lab.#53": 1, "c001.lab.#53": 1, "*#53": 1}, 2},
	} {
		got := zonelessOf(t, db, tt.server)
		for k, n := range tt.want {
			if got[k] != n {
				t.Errorf("%s: finding %s has count %d, want %d", tt.server, k, got[k], n)
			}
		}
		named := 0
		for k := range got {
			if k[0] != '*' {
				named++
			}
		}
		if named != tt.named {
			t.Errorf("%s: %d named zone-less findings, want %d", tt.server, named, tt.named)
		}
	}
}

// TestCommitRoutesIntoOneFinding: two buckets attributed to one zone and
// that zone's own counts meet in one batch: one finding is updated, and
// the daily rows of one day and kind add up.
func TestCommitRoutesIntoOneFinding(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	r := mustCommit(t, db, firstBatch(fpNamed, 100, 10,
		zoneless("a.example.", "www.a.example.", srvA, "refused", 1, at(1, 0), at(1, 0)),
		zoneless("b.example.", "www.b.example.", srvA, "refused", 1, at(1, 0), at(1, 0)),
	))
	for _, b := range []string{"a.example.", "b.example."} {
		if _, err := db.Attribute(ctx, findingID(t, db, "", b), "example."); err != nil {
			t.Fatal(err)
		}
	}
	r = mustCommit(t, db, next(r.Checkpoint, 200, 20,
		zoneless("b.example.", "", srvA, "refused", 2, at(2, 0), at(2, 0)),
		zoned("example.", srvA, "bind", "lame_referral", 5, at(3, 0), at(3, 0)),
		zoneless("a.example.", "", srvA, "refused", 3, at(4, 0), at(4, 0)),
		zoneless("c.example.", "", srvA, "refused", 1, at(4, 0), at(4, 0)), // not attributed
	))
	if r.NewFindings != 1 || r.UpdatedFindings != 1 {
		t.Errorf("Commit: %d new, %d updated; want 1 (c.example.) and 1 (example.)", r.NewFindings, r.UpdatedFindings)
	}
	fs := wantFindings(t, db, []Finding{
		{Zone: "", Bucket: "c.example.", Server: srvA, Port: 53, Sources: []string{"bind"},
			Observed: []string{"refused"}, Count: 1, FirstSeen: at(4, 0), LastSeen: at(4, 0), Status: StatusNew},
		{Zone: "example.", QName: "www.a.example.", Server: srvA, Port: 53, Sources: []string{"bind"},
			Observed: []string{"lame_referral", "refused"}, Count: 12, FirstSeen: at(1, 0), LastSeen: at(4, 0), Status: StatusNew},
	})
	daily, err := db.DailyCounts(ctx, fs[1].ID, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(days(map[string]int64{"2026-11-21": 12}), daily); diff != "" {
		t.Errorf("daily counts of example. (-want +got):\n%s", diff)
	}
	var refused int64
	if err := db.db.QueryRowContext(ctx, `SELECT n FROM daily_counts WHERE finding_id = ? AND evidence = 'refused'`, fs[1].ID).Scan(&refused); err != nil {
		t.Fatal(err)
	}
	if refused != 7 {
		t.Errorf("refused on 2026-11-21: %d, want 7 in one row", refused)
	}
}
