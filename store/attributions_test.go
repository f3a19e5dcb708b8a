package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// refusedLab is BIND 9.18's
//
//	21-Nov-2026 01:05:00 lame-servers: info: REFUSED unexpected RCODE resolving 'x.refused.lab/A/IN': 192.0.2.53#53
//
// seen on two days: zone-less evidence in the bucket refused.lab.
func refusedLab() []Count {
	next := zoneless("refused.lab.", "y.refused.lab.", srvA, "refused", 4, testNow.Add(time.Hour), testNow.Add(2*time.Hour))
	return []Count{zoneless("refused.lab.", "x.refused.lab.", srvA, "refused", 2, at(1, 5), at(1, 10)), next}
}

func TestAttribute(t *testing.T) {
	ctx := context.Background()
	ignoreID := append(cmpOpts, cmpopts.IgnoreFields(Finding{}, "ID"))
	tests := []struct {
		name string
		// prep fills the database and returns the zone-less finding to
		// attribute.
		prep  func(t *testing.T, db *DB) int64
		zone  string
		want  Finding // the target (ID ignored)
		daily map[time.Time]int64
		check func(t *testing.T, db *DB, src int64, target Finding)
	}{
		{
			name: "into a new zoned finding",
			prep: func(t *testing.T, db *DB) int64 {
				mustCommit(t, db, firstBatch(fpNamed, 100, 6, refusedLab()...))
				return findingID(t, db, "", "refused.lab.")
			},
			zone: "refused.lab.",
			want: Finding{Zone: "refused.lab.", QName: "x.refused.lab.", Server: srvA, Port: 53, Sources: []string{"bind"},
				Observed: []string{"refused"}, Count: 6, FirstSeen: at(1, 5), LastSeen: testNow.Add(2 * time.Hour), Status: StatusNew},
			daily: days(map[string]int64{"2026-11-21": 2, "2026-11-22": 4}),
			check: func(t *testing.T, db *DB, src int64, target Finding) {
				if target.ID <= src {
					t.Errorf("target ID %d, want a new ID above %d", target.ID, src)
				}
			},
		},
		{
			name: "a stale (unattributable) finding starts over as new",
			prep: func(t *testing.T, db *DB) int64 {
				mustCommit(t, db, firstBatch(fpNamed, 100, 6, refusedLab()...))
				id := findingID(t, db, "", "refused.lab.")
				if err := db.SetStatus(ctx, id, at(3, 0), FindingUpdate{Status: StatusStale, Reason: "unattributable"}); err != nil {
					t.Fatal(err)
				}
				return id
			},
			zone: "refused.lab.",
			want: Finding{Zone: "refused.lab.", QName: "x.refused.lab.", Server: srvA, Port: 53, Sources: []string{"bind"},
				Observed: []string{"refused"}, Count: 6, FirstSeen: at(1, 5), LastSeen: testNow.Add(2 * time.Hour), Status: StatusNew},
			daily: days(map[string]int64{"2026-11-21": 2, "2026-11-22": 4}),
		},
		{
			name: "into an existing zoned finding",
			prep: func(t *testing.T, db *DB) int64 {
				// Unbound named the zone: [1763686200] unbound[812:0] info: reply from <refused.lab.> 192.0.2.53#53 … REC_LAME
				ub := zoned("refused.lab.", srvA, "unbound", "rec_lame", 3, at(0, 30), at(1, 0))
				ub2 := zoned("refused.lab.", srvA, "bind", "refused", 1, at(1, 7), at(1, 7)) // same day, source, evidence as the zone-less one
				mustCommit(t, db, firstBatch(fpOther, 100, 4, ub, ub2))
				mustCommit(t, db, firstBatch(fpNamed, 100, 6, refusedLab()...))
				zid, src := findingID(t, db, "refused.lab.", ""), findingID(t, db, "", "refused.lab.")
				for _, m := range []int{0, 30} {
					if _, err := db.RecordRound(ctx, lameRound(zid, at(2, m)), FindingUpdate{Status: StatusLame, Reason: "upward_referral",
						ServerNames: []string{"ns.refused.lab."}}); err != nil {
						t.Fatal(err)
					}
				}
				// A round the zone-less finding somehow has moves too.
				if _, err := db.RecordRound(ctx, lameRound(src, at(4, 0)), FindingUpdate{Status: StatusSuspect}); err != nil {
					t.Fatal(err)
				}
				return src
			},
			zone: "refused.lab.",
			want: Finding{Zone: "refused.lab.", QName: "x.refused.lab.", Server: srvA, Port: 53, Sources: []string{"bind", "unbound"},
				Observed: []string{"rec_lame", "refused"}, Count: 10, FirstSeen: at(0, 30), LastSeen: testNow.Add(2 * time.Hour),
				ServerNames: []string{"ns.refused.lab."}, Status: StatusLame, Reason: "upward_referral", Rounds: 3, LastProbed: at(4, 0),
				ConfirmedAt: at(2, 0)},
			daily: days(map[string]int64{"2026-11-21": 2 + 3 + 1, "2026-11-22": 4}),
			check: func(t *testing.T, db *DB, src int64, target Finding) {
				rows, err := db.db.QueryContext(ctx, "SELECT day, source, evidence, n FROM daily_counts WHERE finding_id = ? ORDER BY 1, 2, 3", target.ID)
				if err != nil {
					t.Fatal(err)
				}
				defer rows.Close()
				var got []string
				for rows.Next() {
					var day, source, evidence string
					var n int64
					if err := rows.Scan(&day, &source, &evidence, &n); err != nil {
						t.Fatal(err)
					}
					got = append(got, fmt.Sprintf("%s %s %s %d", day, source, evidence, n))
				}
				want := []string{"2026-11-21 bind refused 3", "2026-11-21 unbound rec_lame 3", "2026-11-22 bind refused 4"}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("daily rows per (day, source, evidence) (-want +got):\n%s", diff)
				}
				rs, err := db.Rounds(ctx, target.ID, 0)
				if err != nil || len(rs) != 3 || !rs[2].At.Equal(at(4, 0)) || rs[2].FindingID != target.ID {
					t.Errorf("target rounds = %+v, %v; want 3, the moved one last", rs, err)
				}
			},
		},
		{
			name: "the target's sample query name is kept",
			prep: func(t *testing.T, db *DB) int64 {
				c := zoned("refused.lab.", srvA, "bind", "lame_referral", 1, at(1, 0), at(1, 0))
				c.QName = "www.refused.lab."
				mustCommit(t, db, firstBatch(fpNamed, 100, 7, append(refusedLab(), c)...))
				return findingID(t, db, "", "refused.lab.")
			},
			zone: "refused.lab.",
			want: Finding{Zone: "refused.lab.", QName: "www.refused.lab.", Server: srvA, Port: 53, Sources: []string{"bind"},
				Observed: []string{"lame_referral", "refused"}, Count: 7, FirstSeen: at(1, 0), LastSeen: testNow.Add(2 * time.Hour), Status: StatusNew},
			daily: days(map[string]int64{"2026-11-21": 3, "2026-11-22": 4}),
		},
		{
			name: "the overflow bucket moves but does not route",
			prep: func(t *testing.T, db *DB) int64 {
				c := zoneless(OverflowBucket, "q.over.lab.", srvA, "refused", 2, at(1, 0), at(1, 0))
				mustCommit(t, db, firstBatch(fpNamed, 100, 2, c))
				return findingID(t, db, "", OverflowBucket)
			},
			zone: "over.lab.",
			want: Finding{Zone: "over.lab.", QName: "q.over.lab.", Server: srvA, Port: 53, Sources: []string{"bind"},
				Observed: []string{"refused"}, Count: 2, FirstSeen: at(1, 0), LastSeen: at(1, 0), Status: StatusNew},
			daily: days(map[string]int64{"2026-11-21": 2}),
			check: func(t *testing.T, db *DB, src int64, target Finding) {
				cs, _ := db.CheckpointsByFingerprint(ctx, fpNamed)
				mustCommit(t, db, next(cs[0], 200, 3, zoneless(OverflowBucket, "q.other.lab.", srvA, "refused", 1, at(5, 0), at(5, 0))))
				if fs, _ := db.Findings(ctx, Filter{Zone: "over.lab."}); len(fs) != 1 || fs[0].Count != 2 {
					t.Errorf("over.lab. findings after more overflow counts: %+v, want the one with count 2", fs)
				}
				findingID(t, db, "", OverflowBucket)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openTest(t)
			src := tt.prep(t, db)
			got, err := db.Attribute(ctx, src, tt.zone)
			if err != nil {
				t.Fatalf("Attribute: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, ignoreID...); diff != "" {
				t.Errorf("Attribute result (-want +got):\n%s", diff)
			}
			stored, err := db.Finding(ctx, got.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, stored, cmpOpts...); diff != "" {
				t.Errorf("stored target differs from the result (-result +stored):\n%s", diff)
			}
			if _, err := db.Finding(ctx, src); !errors.Is(err, ErrNotFound) {
				t.Errorf("zone-less finding %d after Attribute: error %v, want ErrNotFound", src, err)
			}
			if daily, err := db.DailyCounts(ctx, got.ID, time.Time{}); err != nil || !cmp.Equal(tt.daily, daily) {
				t.Errorf("target daily counts = %v (%v), want %v", daily, err, tt.daily)
			}
			var orphans int
			if err := db.db.QueryRowContext(ctx, "SELECT (SELECT count(*) FROM daily_counts WHERE finding_id = ?1) + (SELECT count(*) FROM rounds WHERE finding_id = ?1)", src).Scan(&orphans); err != nil || orphans != 0 {
				t.Errorf("rows left with the deleted finding: %d (%v)", orphans, err)
			}
			// Idempotent: a repeated call changes nothing and returns the target.
			before := takeSnapshot(t, db)
			again, err := db.Attribute(ctx, src, tt.zone)
			if err != nil {
				t.Fatalf("second Attribute: %v", err)
			}
			if diff := cmp.Diff(stored, again, cmpOpts...); diff != "" {
				t.Errorf("second Attribute result (-first +second):\n%s", diff)
			}
			if _, err := db.Attribute(ctx, src, "other.lab."); err == nil || !strings.Contains(err.Error(), "attributed to "+tt.zone) {
				t.Errorf("Attribute to another zone after the first: error %v, want one naming %s", err, tt.zone)
			}
			if diff := cmp.Diff(before, takeSnapshot(t, db), cmpOpts...); diff != "" {
				t.Errorf("repeated Attribute changed the database (-before +after):\n%s", diff)
			}
			if tt.check != nil {
				tt.check(t, db, src, got)
			}
		})
	}
}

func TestAttributeRefuses(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	mustCommit(t, db, firstBatch(fpNamed, 100, 7, append(refusedLab(),
		zoned("example.com.", srvA, "bind", "lame_referral", 1, at(1, 0), at(1, 0)))...))
	zoneless, zid := findingID(t, db, "", "refused.lab."), findingID(t, db, "example.com.", "")
	before := takeSnapshot(t, db)
	for _, tt := range []struct {
		name string
		id   int64
		zone string
		want string
	}{
		{"unknown finding", 99, "example.com.", "not found"},
		{"relative zone", zoneless, "refused.lab", "not an absolute name"},
		{"no zone", zoneless, "", "not an absolute name"},
		{"a zoned finding to another zone", zid, "com.", "it has zone example.com."},
	} {
		_, err := db.Attribute(ctx, tt.id, tt.zone)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Attribute error = %v, want %q", tt.name, err, tt.want)
		}
		if tt.id == 99 && !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: Attribute error = %v, want ErrNotFound", tt.name, err)
		}
	}
	// A zoned finding "attributed" to its own zone: nothing to do.
	if got, err := db.Attribute(ctx, zid, "example.com."); err != nil || got.ID != zid {
		t.Errorf("Attribute of a zoned finding to its zone = %+v, %v; want it unchanged", got, err)
	}
	if diff := cmp.Diff(before, takeSnapshot(t, db), cmpOpts...); diff != "" {
		t.Errorf("refused Attribute calls changed the database (-before +after):\n%s", diff)
	}
}

// TestAttributeRoutesLaterCommits: after attribution, the same zone-less
// evidence goes straight to the zoned finding; storage does not grow back.
func TestAttributeRoutesLaterCommits(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	// Two buckets of one server that belong to two zones (each zone gets its
	// own finding, not one for both), and the same bucket on another port.
	other := zoneless("b.example.", "www.b.example.", srvA, "refused", 1, at(1, 0), at(1, 0))
	r := mustCommit(t, db, firstBatch(fpNamed, 100, 7, append(refusedLab(), other)...))
	if _, err := db.Attribute(ctx, findingID(t, db, "", "refused.lab."), "refused.lab."); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Attribute(ctx, findingID(t, db, "", "b.example."), "example."); err != nil {
		t.Fatal(err)
	}
	onOtherPort := zoneless("refused.lab.", "p.refused.lab.", srvA, "refused", 1, at(6, 0), at(6, 0))
	onOtherPort.Port = 5353
	res := mustCommit(t, db, next(r.Checkpoint, 200, 12,
		zoneless("refused.lab.", "z.refused.lab.", srvA, "timeout", 5, at(5, 0), at(5, 0)),
		zoneless("b.example.", "mail.b.example.", srvA, "refused", 2, at(5, 0), at(5, 0)),
		zoned("example.", srvA, "unbound", "lame_referral", 1, at(5, 30), at(5, 30)),
		onOtherPort,
	))
	if res.NewFindings != 1 || res.UpdatedFindings != 2 {
		t.Errorf("Commit after Attribute: %d new, %d updated; want 1 (port 5353) and 2 (refused.lab., example.)",
			res.NewFindings, res.UpdatedFindings)
	}
	fs := wantFindings(t, db, []Finding{
		{Zone: "", Bucket: "refused.lab.", QName: "p.refused.lab.", Server: srvA, Port: 5353, Sources: []string{"bind"},
			Observed: []string{"refused"}, Count: 1, FirstSeen: at(6, 0), LastSeen: at(6, 0), Status: StatusNew},
		{Zone: "example.", QName: "www.b.example.", Server: srvA, Port: 53, Sources: []string{"bind", "unbound"},
			Observed: []string{"lame_referral", "refused"}, Count: 4, FirstSeen: at(1, 0), LastSeen: at(5, 30), Status: StatusNew},
		{Zone: "refused.lab.", QName: "x.refused.lab.", Server: srvA, Port: 53, Sources: []string{"bind"},
			Observed: []string{"refused", "timeout"}, Count: 11, FirstSeen: at(1, 5), LastSeen: testNow.Add(2 * time.Hour), Status: StatusNew},
	})
	if daily, _ := db.DailyCounts(ctx, fs[2].ID, time.Time{}); !cmp.Equal(daily, days(map[string]int64{"2026-11-21": 7, "2026-11-22": 4})) {
		t.Errorf("refused.lab. daily counts = %v", daily)
	}
	if daily, _ := db.DailyCounts(ctx, fs[1].ID, time.Time{}); !cmp.Equal(daily, days(map[string]int64{"2026-11-21": 4})) {
		t.Errorf("example. daily counts = %v", daily)
	}
}

// TestAttributeCap: the cap counts unattributed buckets only. Attributing
// one frees a place for a new bucket, and an attributed bucket's counts are
// routed even when the server is at the cap.
func TestAttributeCap(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	var counts []Count
	for i := range MaxZonelessPerServer {
		b := fmt.Sprintf("b%03d.lab.", i)
		counts = append(counts, zoneless(b, "q."+b, srvA, "refused", 1, at(1, 0), at(1, 0)))
	}
	r := mustCommit(t, db, firstBatch(fpNamed, 100, 256, counts...))
	if _, err := db.Attribute(ctx, findingID(t, db, "", "b007.lab."), "b007.lab."); err != nil {
		t.Fatal(err)
	}
	r = mustCommit(t, db, next(r.Checkpoint, 200, 259,
		zoneless("new1.lab.", "", srvA, "refused", 1, at(2, 0), at(2, 0)), // takes the freed place
		zoneless("new2.lab.", "", srvA, "refused", 1, at(2, 0), at(2, 0)), // over the cap
		zoneless("b007.lab.", "", srvA, "refused", 1, at(2, 0), at(2, 0)), // routed
	))
	if r.NewFindings != 2 || r.UpdatedFindings != 1 {
		t.Errorf("Commit at the cap: %d new, %d updated; want 2 (new1, *) and 1 (b007.lab.)", r.NewFindings, r.UpdatedFindings)
	}
	fs, err := db.Findings(ctx, Filter{Server: srvA})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	unattributed := 0
	for _, f := range fs {
		got[f.Zone+"|"+f.Bucket] = f.Count
		if f.Zone == "" && f.Bucket != OverflowBucket {
			unattributed++
		}
	}
	if unattributed != MaxZonelessPerServer {
		t.Errorf("%d unattributed zone-less findings, want %d", unattributed, MaxZonelessPerServer)
	}
	for k, want := range map[string]int64{"b007.lab.|": 2, "|new1.lab.": 1, "|*": 1, "|b007.lab.": 0, "|new2.lab.": 0} {
		if got[k] != want {
			t.Errorf("finding %s count %d, want %d", k, got[k], want)
		}
	}
}
