package store

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var (
	fpNamed = []byte("fingerprint of named.log's first line")
	fpOther = []byte("fingerprint of unbound.log's first line")
)

// firstBatch is the first batch of a never-seen file.
func firstBatch(fp []byte, offset, lines int64, counts ...Count) Batch {
	return Batch{
		Base: Checkpoint{Fingerprint: fp},
		Next: Checkpoint{Offset: offset, Lines: lines, TailHash: []byte("tail"), State: []byte("state"),
			Dev: 2049, Inode: 1 << 63, Path: "/var/log/named/lame.log"},
		Counts: counts,
	}
}

// next is the batch that continues base.
func next(base Checkpoint, offset, lines int64, counts ...Count) Batch {
	n := base
	n.Offset, n.Lines = offset, lines
	return Batch{Base: base, Next: n, Counts: counts}
}

func TestCommit(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		// prep commits what the case needs and returns the batch under test.
		prep       func(t *testing.T, db *DB) Batch
		wantErr    error // errors.Is; the database must then be unchanged
		wantResult CommitResult
		// check looks at the database after a successful commit.
		check func(t *testing.T, db *DB)
	}{
		{
			name: "new content",
			prep: func(t *testing.T, db *DB) Batch {
				return firstBatch(fpNamed, 180, 2,
					// 21-Nov-2026 01:00:00 lame-servers: info: lame server resolving 'www.example.com' (in 'example.com'?): 192.0.2.53#53
					zoned("example.com.", srvA, "bind", "lame_referral", 1, at(1, 0), at(1, 0)),
					// 21-Nov-2026 01:05:00 lame-servers: info: REFUSED unexpected RCODE resolving 'x.refused.lab/A/IN': 2001:db8::53#53
					zoneless("refused.lab.", "x.refused.lab.", srvB, "refused", 1, at(1, 5), at(1, 5)),
				)
			},
			wantResult: CommitResult{
				Checkpoint: Checkpoint{ID: 1, Fingerprint: fpNamed, Offset: 180, TailHash: []byte("tail"), Lines: 2,
					State: []byte("state"), Dev: 2049, Inode: 1 << 63, Path: "/var/log/named/lame.log", Version: 1, UpdatedAt: testNow},
				NewFindings: 2,
				Findings:    []int64{1, 2},
			},
			check: func(t *testing.T, db *DB) {
				wantFindings(t, db, []Finding{
					{Zone: "", Bucket: "refused.lab.", QName: "x.refused.lab.", Server: srvB, Port: 53, Sources: []string{"bind"},
						Observed: []string{"refused"}, Count: 1, FirstSeen: at(1, 5), LastSeen: at(1, 5), Status: StatusNew},
					{Zone: "example.com.", Server: srvA, Port: 53, Sources: []string{"bind"},
						Observed: []string{"lame_referral"}, Count: 1, FirstSeen: at(1, 0), LastSeen: at(1, 0), Status: StatusNew},
				})
			},
		},
		{
			name: "append with the current version",
			prep: func(t *testing.T, db *DB) Batch {
				r := mustCommit(t, db, firstBatch(fpNamed, 100, 1, zoned("example.com.", srvA, "bind", "lame_referral", 1, at(1, 0), at(1, 0))))
				return next(r.Checkpoint, 250, 3, zoned("example.com.", srvA, "bind", "lame_referral", 2, at(2, 0), at(2, 30)))
			},
			wantResult: CommitResult{
				Checkpoint: Checkpoint{ID: 1, Fingerprint: fpNamed, Offset: 250, TailHash: []byte("tail"), Lines: 3,
					State: []byte("state"), Dev: 2049, Inode: 1 << 63, Path: "/var/log/named/lame.log", Version: 2, UpdatedAt: testNow},
				UpdatedFindings: 1,
				Findings:        []int64{1},
			},
			check: func(t *testing.T, db *DB) {
				wantFindings(t, db, []Finding{
					{Zone: "example.com.", Server: srvA, Port: 53, Sources: []string{"bind"},
						Observed: []string{"lame_referral"}, Count: 3, FirstSeen: at(1, 0), LastSeen: at(2, 30), Status: StatusNew},
				})
			},
		},
		{
			name: "stale base version",
			prep: func(t *testing.T, db *DB) Batch {
				r1 := mustCommit(t, db, firstBatch(fpNamed, 100, 1, zoned("example.com.", srvA, "bind", "lame_referral", 1, at(1, 0), at(1, 0))))
				// Another writer (a second tailer) moves the checkpoint on.
				mustCommit(t, db, next(r1.Checkpoint, 200, 2, zoned("example.com.", srvA, "bind", "lame_referral", 1, at(1, 1), at(1, 1))))
				return next(r1.Checkpoint, 200, 2, zoned("example.com.", srvA, "bind", "lame_referral", 1, at(1, 1), at(1, 1)))
			},
			wantErr: ErrConflict,
		},
		{
			name: "stale base offset, same version",
			prep: func(t *testing.T, db *DB) Batch {
				r := mustCommit(t, db, firstBatch(fpNamed, 100, 1))
				base := r.Checkpoint
				base.Offset = 50
				return next(base, 200, 2, zoned("example.com.", srvA, "bind", "lame_referral", 1, at(1, 1), at(1, 1)))
			},
			wantErr: ErrConflict,
		},
		{
			name: "base checkpoint does not exist",
			prep: func(t *testing.T, db *DB) Batch {
				return next(Checkpoint{ID: 7, Fingerprint: fpNamed, Version: 1}, 200, 2)
			},
			wantErr: ErrConflict,
		},
		{
			name: "same fingerprint created concurrently",
			prep: func(t *testing.T, db *DB) Batch {
				seen, err := db.MaxCheckpointID(ctx)
				if err != nil {
					t.Fatal(err)
				}
				// After our lookup found nothing, another process ingests the same content.
				mustCommit(t, db, firstBatch(fpNamed, 100, 1, zoned("example.com.", srvA, "bind", "lame_referral", 1, at(1, 0), at(1, 0))))
				b := firstBatch(fpNamed, 100, 1, zoned("example.com.", srvA, "bind", "lame_referral", 1, at(1, 0), at(1, 0)))
				b.SeenMaxID = seen
				return b
			},
			wantErr: ErrConflict,
		},
		{
			name: "same fingerprint seen before the lookup is another stream",
			prep: func(t *testing.T, db *DB) Batch {
				mustCommit(t, db, firstBatch(fpOther, 10, 1))
				mustCommit(t, db, firstBatch(fpNamed, 100, 1))
				seen, err := db.MaxCheckpointID(ctx)
				if err != nil {
					t.Fatal(err)
				}
				// Two files that begin with the same line but differ later
				// (TailHash told them apart): a second checkpoint.
				b := firstBatch(fpNamed, 40, 1)
				b.SeenMaxID = seen
				return b
			},
			wantResult: CommitResult{
				Checkpoint: Checkpoint{ID: 3, Fingerprint: fpNamed, Offset: 40, TailHash: []byte("tail"), Lines: 1,
					State: []byte("state"), Dev: 2049, Inode: 1 << 63, Path: "/var/log/named/lame.log", Version: 1, UpdatedAt: testNow},
			},
			check: func(t *testing.T, db *DB) {
				cs, err := db.CheckpointsByFingerprint(ctx, fpNamed)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, c := range cs {
					got = append(got, fmt.Sprintf("id %d offset %d", c.ID, c.Offset))
				}
				if diff := cmp.Diff([]string{"id 2 offset 100", "id 3 offset 40"}, got); diff != "" {
					t.Errorf("CheckpointsByFingerprint, offset descending (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "upsert merges evidence, sources, first and last seen, count",
			prep: func(t *testing.T, db *DB) Batch {
				r := mustCommit(t, db, firstBatch(fpNamed, 100, 3,
					zoned("example.com.", srvA, "bind", "lame_referral", 3, at(1, 0), at(2, 0))))
				mustCommit(t, db, firstBatch(fpOther, 100, 1,
					zoned("example.com.", srvA, "unbound", "rec_lame", 1, at(3, 0), at(3, 0))))
				c1 := zoned("example.com.", srvA, "bind", "refused", 2, at(0, 30), at(0, 45))
				c1.QName = "www.example.com."
				c2 := zoned("example.com.", srvA, "bind", "lame_referral", 1, at(4, 0), at(4, 0))
				c2.QName = "mail.example.com."                                                  // not kept: the sample is set only when empty
				c3 := zoned("example.com.", srvA, "bind", "lame_referral", 5, testNow, testNow) // next day
				return next(r.Checkpoint, 300, 10, c1, c2, c3)
			},
			wantResult: CommitResult{
				Checkpoint: Checkpoint{ID: 1, Fingerprint: fpNamed, Offset: 300, TailHash: []byte("tail"), Lines: 10,
					State: []byte("state"), Dev: 2049, Inode: 1 << 63, Path: "/var/log/named/lame.log", Version: 2, UpdatedAt: testNow},
				UpdatedFindings: 1,
				Findings:        []int64{1},
			},
			check: func(t *testing.T, db *DB) {
				fs := wantFindings(t, db, []Finding{
					{Zone: "example.com.", QName: "www.example.com.", Server: srvA, Port: 53, Sources: []string{"bind", "unbound"},
						Observed: []string{"lame_referral", "rec_lame", "refused"}, Count: 12,
						FirstSeen: at(0, 30), LastSeen: testNow, Status: StatusNew},
				})
				got, err := db.DailyCounts(ctx, fs[0].ID, time.Time{})
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(days(map[string]int64{"2026-11-21": 7, "2026-11-22": 5}), got); diff != "" {
					t.Errorf("DailyCounts (-want +got):\n%s", diff)
				}
				if got, _ := db.DailyCounts(ctx, fs[0].ID, utcDay("2026-11-22")); !cmp.Equal(got, days(map[string]int64{"2026-11-22": 5})) {
					t.Errorf("DailyCounts since 2026-11-22 = %v", got)
				}
			},
		},
		{
			name: "same finding on other ports and addresses stays apart",
			prep: func(t *testing.T, db *DB) Batch {
				c := zoned("example.com.", srvA, "bind", "lame_referral", 1, at(1, 0), at(1, 0))
				c5353 := c
				c5353.Port = 5353
				cB := zoned("example.com.", srvB, "unbound", "lame_referral", 1, at(1, 0), at(1, 0))
				return firstBatch(fpNamed, 10, 3, c, c5353, cB, c)
			},
			wantResult: CommitResult{
				Checkpoint: Checkpoint{ID: 1, Fingerprint: fpNamed, Offset: 10, TailHash: []byte("tail"), Lines: 3,
					State: []byte("state"), Dev: 2049, Inode: 1 << 63, Path: "/var/log/named/lame.log", Version: 1, UpdatedAt: testNow},
				NewFindings: 3,
				Findings:    []int64{1, 2, 3},
			},
			check: func(t *testing.T, db *DB) {
				fs, err := db.Findings(ctx, Filter{})
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, f := range fs {
					got = append(got, fmt.Sprintf("%s %s#%d n=%d", f.Zone, f.Server, f.Port, f.Count))
				}
				want := []string{"example.com. 192.0.2.53#53 n=2", "example.com. 192.0.2.53#5353 n=1", "example.com. 2001:db8::53#53 n=1"}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("findings (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "invalid count refuses the whole batch",
			prep: func(t *testing.T, db *DB) Batch {
				r := mustCommit(t, db, firstBatch(fpNamed, 100, 1, zoned("example.com.", srvA, "bind", "lame_referral", 1, at(1, 0), at(1, 0))))
				bad := zoned("example.com.", srvA, "bind", "lame_referral", 1, at(1, 0), at(1, 0))
				bad.Bucket = "example.com." // a bucket on a count that has a zone
				return next(r.Checkpoint, 200, 2, zoned("example.com.", srvA, "bind", "lame_referral", 1, at(1, 1), at(1, 1)), bad)
			},
			wantErr: errAny,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openTest(t)
			b := tt.prep(t, db)
			before := takeSnapshot(t, db)
			got, err := db.Commit(ctx, b)
			if tt.wantErr != nil {
				if err == nil || (tt.wantErr != errAny && !errors.Is(err, tt.wantErr)) {
					t.Fatalf("Commit error = %v, want %v", err, tt.wantErr)
				}
				if diff := cmp.Diff(before, takeSnapshot(t, db), cmpOpts...); diff != "" {
					t.Errorf("failed Commit changed the database (-before +after):\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatalf("Commit: %v", err)
			}
			if diff := cmp.Diff(tt.wantResult, got, cmpOpts...); diff != "" {
				t.Errorf("CommitResult (-want +got):\n%s", diff)
			}
			stored, err := db.Checkpoint(ctx, got.Checkpoint.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got.Checkpoint, stored, cmpOpts...); diff != "" {
				t.Errorf("stored checkpoint differs from the result (-result +stored):\n%s", diff)
			}
			if tt.check != nil {
				tt.check(t, db)
			}
		})
	}
}

// errAny accepts any error.
var errAny = errors.New("any error")

// wantFindings compares all findings, ignoring IDs, and returns them.
func wantFindings(t *testing.T, db *DB, want []Finding) []Finding {
	t.Helper()
	got, err := db.Findings(context.Background(), Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, append(cmpOpts, cmpopts.IgnoreFields(Finding{}, "ID"))...); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	return got
}

// TestCommitZonelessCap fills one server with MaxZonelessPerServer zone-less
// buckets: what would be more goes to its "*" bucket, on any port, while
// existing buckets and other servers are unaffected.
func TestCommitZonelessCap(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	var counts []Count
	for i := range MaxZonelessPerServer - 1 {
		b := fmt.Sprintf("b%03d.lab.", i)
		counts = append(counts, zoneless(b, "q."+b, srvA, "refused", 1, at(1, 0), at(1, 0)))
	}
	// A zoned finding and another server's zone-less one do not count.
	counts = append(counts,
		zoned("example.com.", srvA, "bind", "lame_referral", 1, at(1, 0), at(1, 0)),
		zoneless("other.lab.", "", srvB, "refused", 1, at(1, 0), at(1, 0)),
		// The 256th bucket of srvA still gets its own finding, the 257th
		// (in the same batch) is the first to overflow.
		zoneless("last.lab.", "", srvA, "refused", 1, at(1, 0), at(1, 0)),
		zoneless("over1.lab.", "q.over1.lab.", srvA, "servfail", 2, at(1, 1), at(1, 2)),
	)
	r := mustCommit(t, db, firstBatch(fpNamed, 1000, 260, counts...))
	if r.NewFindings != MaxZonelessPerServer+3 {
		t.Errorf("NewFindings = %d, want %d", r.NewFindings, MaxZonelessPerServer+3)
	}

	over2 := zoneless("over2.lab.", "", srvA, "timeout", 1, at(2, 0), at(2, 0))
	over2.Port = 5353 // the cap is per address; the overflow finding keeps the port
	r = mustCommit(t, db, next(r.Checkpoint, 2000, 264,
		zoneless("b000.lab.", "", srvA, "refused", 4, at(2, 0), at(2, 0)), // existing bucket: kept
		zoneless("over3.lab.", "", srvA, "refused", 3, at(3, 0), at(3, 0)),
		over2,
		// Same overflow finding, day, source and evidence as over3: one daily row.
		zoneless("over4.lab.", "", srvA, "refused", 2, at(2, 30), at(2, 30)),
		zoneless("other2.lab.", "", srvB, "refused", 1, at(1, 0), at(1, 0)),
	))
	if r.NewFindings != 2 || r.UpdatedFindings != 2 {
		t.Errorf("second batch: NewFindings %d UpdatedFindings %d, want 2 and 2 (new: *#5353, other2; updated: b000, *#53)",
			r.NewFindings, r.UpdatedFindings)
	}

	fs, err := db.Findings(ctx, Filter{Server: srvA})
	if err != nil {
		t.Fatal(err)
	}
	got := make(map[string]Finding)
	named := 0
	for _, f := range fs {
		got[fmt.Sprintf("%s|%s|%d", f.Zone, f.Bucket, f.Port)] = f
		if f.Zone == "" && f.Bucket != OverflowBucket {
			named++
		}
	}
	if named != MaxZonelessPerServer {
		t.Errorf("srvA has %d named zone-less findings, want %d", named, MaxZonelessPerServer)
	}
	want := map[string]Finding{
		"|*|53": {Zone: "", Bucket: "*", QName: "q.over1.lab.", Server: srvA, Port: 53, Sources: []string{"bind"},
			Observed: []string{"refused", "servfail"}, Count: 7, FirstSeen: at(1, 1), LastSeen: at(3, 0), Status: StatusNew},
		"|*|5353": {Zone: "", Bucket: "*", Server: srvA, Port: 5353, Sources: []string{"bind"},
			Observed: []string{"timeout"}, Count: 1, FirstSeen: at(2, 0), LastSeen: at(2, 0), Status: StatusNew},
		"|b000.lab.|53": {Zone: "", Bucket: "b000.lab.", QName: "q.b000.lab.", Server: srvA, Port: 53, Sources: []string{"bind"},
			Observed: []string{"refused"}, Count: 5, FirstSeen: at(1, 0), LastSeen: at(2, 0), Status: StatusNew},
	}
	for k, w := range want {
		if diff := cmp.Diff(w, got[k], append(cmpOpts, cmpopts.IgnoreFields(Finding{}, "ID"))...); diff != "" {
			t.Errorf("finding %s (-want +got):\n%s", k, diff)
		}
	}
	for _, k := range []string{"|over1.lab.|53", "|over2.lab.|5353", "|over3.lab.|53", "|over4.lab.|53"} {
		if _, ok := got[k]; ok {
			t.Errorf("finding %s exists, want it in the overflow bucket", k)
		}
	}
	if fsB, err := db.Findings(ctx, Filter{Server: srvB}); err != nil || len(fsB) != 2 {
		t.Errorf("srvB findings = %d (%v), want 2", len(fsB), err)
	}
	daily, err := db.DailyCounts(ctx, got["|*|53"].ID, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(daily, days(map[string]int64{"2026-11-21": 7})) {
		t.Errorf("overflow daily counts = %v, want 7 on 2026-11-21", daily)
	}
}

func TestCommitRefusesBadBatches(t *testing.T) {
	good := func() Count { return zoned("example.com.", srvA, "bind", "lame_referral", 1, at(1, 0), at(1, 0)) }
	tests := []struct {
		name  string
		batch func() Batch
		want  string
	}{
		{"new content without fingerprint", func() Batch { return firstBatch(nil, 10, 1, good()) }, "without a fingerprint"},
		{"invalid server", func() Batch { c := good(); c.Server = netip.Addr{}; return firstBatch(fpNamed, 10, 1, c) }, "invalid server"},
		{"bad day", func() Batch { c := good(); c.Day = 0; return firstBatch(fpNamed, 10, 1, c) }, "day 0 is not a day"},
		{"negative count", func() Batch { c := good(); c.N = -1; return firstBatch(fpNamed, 10, 1, c) }, "negative count"},
		{"no time", func() Batch {
			c := good()
			c.First, c.Last = time.Time{}, time.Time{}
			return firstBatch(fpNamed, 10, 1, c)
		}, "no event time"},
		{"empty evidence", func() Batch { c := good(); c.Evidence = ""; return firstBatch(fpNamed, 10, 1, c) }, "empty evidence"},
		{"negative offset", func() Batch { return firstBatch(fpNamed, -1, 1, good()) }, "negative position"},
	}
	for _, tt := range tests {
		for _, form := range []string{"Counts", "Rows"} {
			t.Run(tt.name+"/"+form, func(t *testing.T) {
				db := openTest(t)
				before := takeSnapshot(t, db)
				b := tt.batch()
				if form == "Rows" {
					// the bad count second: Commit stops in the middle
					b.Counts = append([]Count{good()}, b.Counts...)
					b = asRows(b)
				}
				_, err := db.Commit(context.Background(), b)
				if err == nil || !strings.Contains(err.Error(), tt.want) || errors.Is(err, ErrConflict) {
					t.Errorf("Commit error = %v, want one containing %q", err, tt.want)
				}
				if diff := cmp.Diff(before, takeSnapshot(t, db), cmpOpts...); diff != "" {
					t.Errorf("refused Commit changed the database (-before +after):\n%s", diff)
				}
			})
		}
	}
}

func TestCommitCancelledWritesNothing(t *testing.T) {
	db := openTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := db.Commit(ctx, firstBatch(fpNamed, 10, 1, zoned("example.com.", srvA, "bind", "lame_referral", 1, at(1, 0), at(1, 0))))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Commit error = %v, want context.Canceled", err)
	}
	if s := takeSnapshot(t, db); len(s.Findings) != 0 || len(s.Checkpoints) != 0 {
		t.Errorf("cancelled Commit wrote %d findings, %d checkpoints", len(s.Findings), len(s.Checkpoints))
	}
}

func TestCommitZeroCountsAreSkipped(t *testing.T) {
	db := openTest(t)
	c := zoned("example.com.", srvA, "bind", "lame_referral", 0, at(1, 0), at(1, 0))
	r := mustCommit(t, db, firstBatch(fpNamed, 10, 1, c))
	if r.NewFindings != 0 || r.Checkpoint.Lines != 1 {
		t.Errorf("result %+v, want the checkpoint written and no finding", r)
	}
	wantFindings(t, db, nil)
}

// A count without an event adds its kind to its finding, in the same batch
// or a later one (Unbound's log-servfail line after the verdict of the same
// reply), and creates none alone: that finding's kinds, count and daily
// rows are the first line's, with the second line's kind.
func TestCommitZeroCountsAddKinds(t *testing.T) {
	db := openTest(t)
	throwaway := zoned("refused.lab.", srvA, "unbound", "throwaway", 1, at(1, 0), at(1, 0))
	refused := zoned("refused.lab.", srvA, "unbound", "refused", 0, at(1, 0), at(1, 0))
	// the second line of an event whose first line is in the next batch's
	// finding only: nothing to add to yet
	lone := zoneless("other.lab.", "www.other.lab.", srvA, "formerr", 0, at(1, 0), at(1, 0))
	r := mustCommit(t, db, firstBatch(fpNamed, 10, 1, throwaway, refused, lone))
	if r.NewFindings != 1 || len(r.Findings) != 1 {
		t.Errorf("first batch: %+v, want one new finding", r)
	}
	later := zoned("refused.lab.", srvA, "unbound", "servfail", 0, at(2, 0), at(2, 0))
	r = mustCommit(t, db, next(r.Checkpoint, 20, 2, later))
	if r.NewFindings != 0 || r.UpdatedFindings != 1 {
		t.Errorf("second batch: %+v, want the finding updated", r)
	}
	got := wantFindings(t, db, []Finding{{Zone: "refused.lab.", Server: srvA, Port: 53, Sources: []string{"unbound"},
		Observed: []string{"refused", "servfail", "throwaway"}, Count: 1, FirstSeen: at(1, 0), LastSeen: at(2, 0), Status: StatusNew}})
	if s := takeSnapshot(t, db); len(got) == 1 && len(s.Daily[got[0].ID]) != 1 {
		t.Errorf("daily rows %v, want the throwaway row only", s.Daily[got[0].ID])
	}
}
