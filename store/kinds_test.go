package store

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

// rcodeKinds returns n evidence kinds as a forged log gives them: one
// rcode_<n> per unassigned rcode number (BIND's "NN unexpected RCODE"
// lines), from rcode_<from> on.
func rcodeKinds(from, n int) []string {
	var out []string
	for i := from; i < from+n; i++ {
		out = append(out, fmt.Sprintf("rcode_%d", i))
	}
	return out
}

// A forged finding gains new evidence kinds batch after batch: the stored
// set stops at MaxObservedKinds, the events of the kinds left out are
// still counted in the finding's count and reported in CappedEvents, and
// they make no daily rows.
func TestCommitCapsObservedKinds(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	var all []string
	var capped int64
	batches := [][]string{rcodeKinds(0, 16), rcodeKinds(16, 16), rcodeKinds(32, 16), rcodeKinds(48, 40)}
	for i, kinds := range batches {
		var counts []Count
		// The victim's real kind comes first in every batch.
		counts = append(counts, zoned("victim.example.", srvA, "bind", "refused", 1, at(1, i), at(1, i)))
		for _, k := range kinds {
			counts = append(counts, zoned("victim.example.", srvA, "bind", k, 2, at(2, i), at(2, i)))
		}
		var base Checkpoint
		if i == 0 {
			base = Checkpoint{Fingerprint: []byte("fp")}
		} else {
			cps, err := db.CheckpointsByFingerprint(ctx, []byte("fp"))
			if err != nil {
				t.Fatal(err)
			}
			base = cps[0]
		}
		res := mustCommit(t, db, Batch{Base: base, Next: Checkpoint{Offset: int64(100 * (i + 1)), Lines: int64(i + 1)}, Counts: counts})
		capped += res.CappedEvents
		all = append(all, kinds...)
	}
	fs, err := db.Findings(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 {
		t.Fatalf("%d findings, want 1", len(fs))
	}
	f := fs[0]
	if len(f.Observed) != MaxObservedKinds {
		t.Errorf("%d kinds stored, want %d: %q", len(f.Observed), MaxObservedKinds, f.Observed)
	}
	if !slices.Contains(f.Observed, "refused") {
		t.Errorf("the finding's first kind is gone: %q", f.Observed)
	}
	// The kinds kept: refused, then the first ones to arrive.
	want := append([]string{"refused"}, all[:MaxObservedKinds-1]...)
	slices.Sort(want)
	if !slices.Equal(f.Observed, want) {
		t.Errorf("kinds stored %q, want %q", f.Observed, want)
	}
	events := int64(len(batches)) + 2*int64(len(all))
	if f.Count != events {
		t.Errorf("count %d, want %d: every event counts", f.Count, events)
	}
	leftOut := 2 * int64(len(all)-(MaxObservedKinds-1))
	if capped != leftOut {
		t.Errorf("CappedEvents %d in all, want %d", capped, leftOut)
	}
	var rows, kinds int64
	if err := db.db.QueryRowContext(ctx, "SELECT count(*), count(DISTINCT evidence) FROM daily_counts").Scan(&rows, &kinds); err != nil {
		t.Fatal(err)
	}
	if kinds != MaxObservedKinds {
		t.Errorf("daily rows of %d kinds, want %d", kinds, MaxObservedKinds)
	}
	daily, err := db.DailyCounts(ctx, f.ID, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if got := daily[utcDay("2026-11-21")]; got != events-leftOut {
		t.Errorf("daily count %d, want %d", got, events-leftOut)
	}
}

// A new finding with more kinds than the cap in its first batch (a sink
// other than ingest, which passes at most 16) keeps MaxObservedKinds.
func TestCommitCapsObservedKindsOfNewFinding(t *testing.T) {
	db := openTest(t)
	var counts []Count
	for _, k := range rcodeKinds(0, 40) {
		counts = append(counts, zoned("victim.example.", srvA, "bind", k, 1, at(2, 0), at(2, 0)))
	}
	res := mustCommit(t, db, Batch{Base: Checkpoint{Fingerprint: []byte("fp")}, Next: Checkpoint{Offset: 10, Lines: 1}, Counts: counts})
	if res.CappedEvents != 40-MaxObservedKinds {
		t.Errorf("CappedEvents %d, want %d", res.CappedEvents, 40-MaxObservedKinds)
	}
	fs, err := db.Findings(context.Background(), Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || len(fs[0].Observed) != MaxObservedKinds || fs[0].Count != 40 {
		t.Fatalf("findings %+v, want one of 40 events with %d kinds", fs, MaxObservedKinds)
	}
}

// Attribute unites the kinds of zone-less findings into one zoned finding:
// the union stops at MaxObservedKinds too, the target's own kinds first.
func TestAttributeCapsObservedKinds(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	var counts []Count
	for _, k := range rcodeKinds(0, 16) {
		counts = append(counts, zoneless("a.victim.example.", "x.a.victim.example.", srvA, k, 1, at(2, 0), at(2, 0)))
	}
	for _, k := range rcodeKinds(16, 16) {
		counts = append(counts, zoneless("b.victim.example.", "x.b.victim.example.", srvA, k, 1, at(2, 0), at(2, 0)))
	}
	for _, k := range rcodeKinds(32, 16) {
		counts = append(counts, zoneless("c.victim.example.", "x.c.victim.example.", srvA, k, 1, at(2, 0), at(2, 0)))
	}
	mustCommit(t, db, Batch{Base: Checkpoint{Fingerprint: []byte("fp")}, Next: Checkpoint{Offset: 10, Lines: 1}, Counts: counts})
	fs, err := db.Findings(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var target Finding
	for _, f := range fs {
		if target, err = db.Attribute(ctx, f.ID, "victim.example."); err != nil {
			t.Fatal(err)
		}
	}
	if len(target.Observed) != MaxObservedKinds || target.Count != 48 {
		t.Errorf("target has %d kinds and %d events, want %d and 48", len(target.Observed), target.Count, MaxObservedKinds)
	}
}
