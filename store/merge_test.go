package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// weirdLossy is Unbound 1.17's evidence for the zone we\.ird.lab., which it
// prints as we?ird.lab. (the lab's unbound.log):
//
//	[1795312911] unbound[19034:0] info: reply from <we?ird.lab.> 192.0.2.53#53
//	[1795312911] unbound[19034:0] info: query response was LAME
//
// on two days.
func weirdLossy() []Count {
	return []Count{
		zoned("we?ird.lab.", srvA, "unbound", "lame_referral", 2, at(1, 0), at(1, 30)),
		zoned("we?ird.lab.", srvA, "unbound", "lame_referral", 3, testNow.Add(time.Hour), testNow.Add(time.Hour)),
	}
}

func TestMergeZone(t *testing.T) {
	ctx := context.Background()
	ignoreID := append(cmpOpts, cmpopts.IgnoreFields(Finding{}, "ID"))
	tests := []struct {
		name  string
		prep  func(t *testing.T, db *DB) int64 // returns the lossy finding
		want  Finding
		daily map[time.Time]int64
	}{
		{
			name: "into the BIND finding of the same server",
			prep: func(t *testing.T, db *DB) int64 {
				// BIND 9.18: lame server resolving 'www.we\.ird.lab' (in 'we\.ird.lab'?): 192.0.2.53#53
				b := zoned(`we\.ird.lab.`, srvA, "bind", "lame_referral", 4, at(0, 30), at(1, 10))
				b.QName = `www.we\.ird.lab.`
				mustCommit(t, db, firstBatch(fpNamed, 100, 4, b))
				id := findingID(t, db, `we\.ird.lab.`, "")
				if _, err := db.RecordRound(ctx, lameRound(id, at(2, 0)), FindingUpdate{Status: StatusSuspect, Reason: "upward_referral",
					ServerNames: []string{"ns-upref.nic.lab."}}); err != nil {
					t.Fatal(err)
				}
				mustCommit(t, db, firstBatch(fpOther, 100, 5, weirdLossy()...))
				lossy := findingID(t, db, "we?ird.lab.", "")
				if err := db.SetStatus(ctx, lossy, at(3, 0), FindingUpdate{Status: StatusInconclusive, Reason: "lossy_name"}); err != nil {
					t.Fatal(err)
				}
				return lossy
			},
			want: Finding{Zone: `we\.ird.lab.`, QName: `www.we\.ird.lab.`, Server: srvA, Port: 53, Sources: []string{"bind", "unbound"},
				Observed: []string{"lame_referral"}, Count: 9, FirstSeen: at(0, 30), LastSeen: testNow.Add(time.Hour),
				ServerNames: []string{"ns-upref.nic.lab."}, Status: StatusSuspect, Reason: "upward_referral", Rounds: 1, LastProbed: at(2, 0)},
			daily: days(map[string]int64{"2026-11-21": 4 + 2, "2026-11-22": 3}),
		},
		{
			name: "into a new finding, as new",
			prep: func(t *testing.T, db *DB) int64 {
				mustCommit(t, db, firstBatch(fpOther, 100, 5, weirdLossy()...))
				lossy := findingID(t, db, "we?ird.lab.", "")
				if err := db.SetStatus(ctx, lossy, at(3, 0), FindingUpdate{Status: StatusInconclusive, Reason: "lossy_name"}); err != nil {
					t.Fatal(err)
				}
				return lossy
			},
			want: Finding{Zone: `we\.ird.lab.`, Server: srvA, Port: 53, Sources: []string{"unbound"},
				Observed: []string{"lame_referral"}, Count: 5, FirstSeen: at(1, 0), LastSeen: testNow.Add(time.Hour), Status: StatusNew},
			daily: days(map[string]int64{"2026-11-21": 2, "2026-11-22": 3}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openTest(t)
			src := tt.prep(t, db)
			got, err := db.MergeZone(ctx, src, `we\.ird.lab.`)
			if err != nil {
				t.Fatalf("MergeZone: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, ignoreID...); diff != "" {
				t.Errorf("MergeZone result (-want +got):\n%s", diff)
			}
			if stored, err := db.Finding(ctx, got.ID); err != nil || !cmp.Equal(got, stored, cmpOpts...) {
				t.Errorf("stored target = %+v, %v; want the result", stored, err)
			}
			if _, err := db.Finding(ctx, src); !errors.Is(err, ErrNotFound) {
				t.Errorf("lossy finding %d after MergeZone: error %v, want ErrNotFound", src, err)
			}
			if daily, err := db.DailyCounts(ctx, got.ID, time.Time{}); err != nil || !cmp.Equal(tt.daily, daily) {
				t.Errorf("target daily counts = %v (%v), want %v", daily, err, tt.daily)
			}
			var orphans int
			if err := db.db.QueryRowContext(ctx, "SELECT (SELECT count(*) FROM daily_counts WHERE finding_id = ?1) + (SELECT count(*) FROM rounds WHERE finding_id = ?1)", src).Scan(&orphans); err != nil || orphans != 0 {
				t.Errorf("rows left with the deleted finding: %d (%v)", orphans, err)
			}
			if fs, _ := db.Findings(ctx, Filter{}); len(fs) != 1 {
				t.Errorf("%d findings after MergeZone, want the target alone: %+v", len(fs), fs)
			}
			// Later Unbound lines spell the zone the same lossy way again:
			// a new lossy finding, for the next verification to merge.
			cs, _ := db.CheckpointsByFingerprint(ctx, fpOther)
			mustCommit(t, db, next(cs[0], 200, 6, zoned("we?ird.lab.", srvA, "unbound", "lame_referral", 1, at(5, 0), at(5, 0))))
			again := findingID(t, db, "we?ird.lab.", "")
			if again == src {
				t.Errorf("the new lossy finding reuses the merged one's ID %d", src)
			}
			if merged, err := db.MergeZone(ctx, again, `we\.ird.lab.`); err != nil || merged.ID != got.ID || merged.Count != got.Count+1 {
				t.Errorf("second MergeZone = %+v, %v; want the same target with one more event", merged, err)
			}
		})
	}
}

func TestMergeZoneRefuses(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	mustCommit(t, db, firstBatch(fpNamed, 100, 7, append(refusedLab(), weirdLossy()...)...))
	zoneless, lossy := findingID(t, db, "", "refused.lab."), findingID(t, db, "we?ird.lab.", "")
	before := takeSnapshot(t, db)
	for _, tt := range []struct {
		name string
		id   int64
		zone string
		want string
	}{
		{"unknown finding", 99, `we\.ird.lab.`, "not found"},
		{"relative zone", lossy, `we\.ird.lab`, "not an absolute name"},
		{"no zone", lossy, "", "not an absolute name"},
		{"its own zone", lossy, "we?ird.lab.", "already has zone we?ird.lab."},
		{"a zone-less finding", zoneless, "refused.lab.", "has no zone"},
	} {
		_, err := db.MergeZone(ctx, tt.id, tt.zone)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: MergeZone error = %v, want %q", tt.name, err, tt.want)
		}
		if tt.id == 99 && !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: MergeZone error = %v, want ErrNotFound", tt.name, err)
		}
	}
	if diff := cmp.Diff(before, takeSnapshot(t, db), cmpOpts...); diff != "" {
		t.Errorf("refused MergeZone calls changed the database (-before +after):\n%s", diff)
	}
}

// LossyCandidates gives the zones known for one server and port — its
// zoned findings', and those its zone-less findings were attributed to —
// that hold a character Unbound would print as '?'.
func TestLossyCandidates(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	onOtherPort := zoned(`p\.ort.lab.`, srvA, "bind", "lame_referral", 1, at(1, 0), at(1, 0))
	onOtherPort.Port = 5353
	mustCommit(t, db, firstBatch(fpNamed, 100, 12,
		zoned(`we\.ird.lab.`, srvA, "bind", "lame_referral", 1, at(1, 0), at(1, 0)),
		zoned("we?ird.lab.", srvA, "unbound", "lame_referral", 1, at(1, 0), at(1, 0)),
		zoned(`sp\032ace.lab.`, srvA, "bind", "lame_referral", 1, at(1, 0), at(1, 0)),
		zoned("plain-name_1.*.lab.", srvA, "bind", "lame_referral", 1, at(1, 0), at(1, 0)), // all printed as they are
		zoned(`o\.ther.lab.`, srvB, "bind", "lame_referral", 1, at(1, 0), at(1, 0)),
		zoneless("b.lab.", `x.b\$c.lab.`, srvA, "refused", 1, at(1, 0), at(1, 0)),
		onOtherPort,
	))
	if _, err := db.Attribute(ctx, findingID(t, db, "", "b.lab."), `b\$c.lab.`); err != nil {
		t.Fatal(err)
	}
	// The attributed zone's finding is gone (pruned or merged elsewhere);
	// the attribution still names the zone.
	if _, err := db.db.ExecContext(ctx, `DELETE FROM findings WHERE zone = 'b\$c.lab.'`); err != nil {
		t.Fatal(err)
	}
	got, err := db.LossyCandidates(ctx, srvA, 53)
	want := []string{`b\$c.lab.`, `sp\032ace.lab.`, "we?ird.lab.", `we\.ird.lab.`} // in byte order
	if diff := cmp.Diff(want, got); err != nil || diff != "" {
		t.Errorf("LossyCandidates(%s#53): %v (-want +got):\n%s", srvA, err, diff)
	}
	if got, err := db.LossyCandidates(ctx, srvA, 5353); err != nil || !cmp.Equal(got, []string{`p\.ort.lab.`}) {
		t.Errorf("LossyCandidates(%s#5353) = %v, %v; want p\\.ort.lab.", srvA, got, err)
	}
	// The lossy name set aside, and a finding of another status: only the
	// first has the status and reason asked for.
	lossy := findingID(t, db, "we?ird.lab.", "")
	if err := db.SetStatus(ctx, lossy, at(2, 0), FindingUpdate{Status: StatusInconclusive, Reason: "lossy_name"}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetStatus(ctx, findingID(t, db, `sp\032ace.lab.`, ""), at(2, 0), FindingUpdate{Status: StatusStale, Reason: "not_delegated"}); err != nil {
		t.Fatal(err)
	}
	fs, err := db.UnprintableFindings(ctx, StatusInconclusive, "lossy_name", 10)
	if err != nil || len(fs) != 1 || fs[0].ID != lossy {
		t.Errorf("UnprintableFindings(inconclusive, lossy_name) = %+v, %v; want we?ird.lab.", fs, err)
	}
	if fs, err := db.UnprintableFindings(ctx, StatusStale, "lossy_name", 10); err != nil || len(fs) != 0 {
		t.Errorf("UnprintableFindings(stale, lossy_name) = %+v, %v; want none", fs, err)
	}
	if _, err := db.UnprintableFindings(ctx, StatusInconclusive, "lossy_name", 0); err == nil {
		t.Error("UnprintableFindings with limit 0: no error")
	}
	var plan string
	if err := db.db.QueryRowContext(ctx, `EXPLAIN QUERY PLAN SELECT zone FROM findings
		WHERE server = ?1 AND port = ?2 AND zone GLOB '*[^a-z0-9.*_-]*'`, srvA.String(), 53).Scan(new(int), new(int), new(int), &plan); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan, "findings_unprintable") {
		t.Errorf("query plan %q does not use the partial index", plan)
	}
}
