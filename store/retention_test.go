package store

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPruneRounds(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	mustCommit(t, db, firstBatch(fpNamed, 100, 2,
		zoned("a.example.", srvA, "bind", "lame_referral", 1, at(1, 0), at(1, 0)),
		zoned("b.example.", srvA, "bind", "lame_referral", 1, at(1, 0), at(1, 0))))
	a, b := findingID(t, db, "a.example.", ""), findingID(t, db, "b.example.", "")
	old := at(0, 0).AddDate(0, 0, -30)
	record := func(id int64, t0 time.Time) {
		if _, err := db.RecordRound(ctx, lameRound(id, t0), FindingUpdate{Status: StatusLame}); err != nil {
			t.Fatal(err)
		}
	}
	// a: 12 rounds a month old, 1 yesterday; b: 3 rounds a month old.
	for i := range 12 {
		record(a, old.Add(time.Duration(i)*time.Hour))
	}
	record(a, at(12, 0))
	for i := range 3 {
		record(b, old.Add(time.Duration(i)*time.Hour))
	}
	n, err := db.Prune(ctx, utcDay("2026-11-01"))
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("Prune deleted %d rows, want 3 (a's 3 oldest rounds)", n)
	}
	ra, _ := db.Rounds(ctx, a, 0)
	if len(ra) != KeepRounds || !ra[0].At.Equal(old.Add(3*time.Hour)) || !ra[len(ra)-1].At.Equal(at(12, 0)) {
		t.Errorf("a keeps %d rounds from %v to %v; want %d from 3 h after the oldest to yesterday", len(ra), ra[0].At, ra[len(ra)-1].At, KeepRounds)
	}
	if rb, _ := db.Rounds(ctx, b, 0); len(rb) != 3 {
		t.Errorf("b keeps %d rounds, want 3", len(rb))
	}
	if fd, _ := db.Finding(ctx, a); fd.Rounds != 13 {
		t.Errorf("a's round count after Prune = %d, want 13", fd.Rounds)
	}
	// Rounds within the retention stay, however many.
	if n, err := db.Prune(ctx, utcDay("2026-10-01")); err != nil || n != 0 {
		t.Errorf("Prune at an earlier day = %d, %v; want 0", n, err)
	}
}

func TestPruneKeepsTotals(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	day := func(d int) Count {
		ts := at(12, 0).AddDate(0, 0, d)
		return zoned("example.com.", srvA, "bind", "lame_referral", int64(d+3), ts, ts)
	}
	mustCommit(t, db, firstBatch(fpNamed, 100, 10, day(-2), day(-1), day(0), day(1)))
	before, err := db.Findings(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	n, err := db.Prune(ctx, utcDay("2026-11-21"))
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("Prune deleted %d rows, want 2", n)
	}
	after := wantFindings(t, db, before)
	if after[0].Count != 1+2+3+4 {
		t.Errorf("Count = %d, want 10", after[0].Count)
	}
	daily, err := db.DailyCounts(ctx, after[0].ID, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(days(map[string]int64{"2026-11-21": 3, "2026-11-22": 4}), daily); diff != "" {
		t.Errorf("DailyCounts after Prune (-want +got):\n%s", diff)
	}
	if _, err := db.Prune(ctx, time.Time{}); err == nil {
		t.Error("Prune accepted no time")
	}
}
