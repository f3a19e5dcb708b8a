package store

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSuppressions(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	add := []Suppression{
		{Value: "j.doe@example.com", Kind: SuppressAddress, Reason: "asked by phone", Source: SuppressedManually, CreatedAt: at(1, 0)},
		{Value: "@example.net", Kind: SuppressDomain, Source: SuppressedComplaint, CreatedAt: at(2, 0)},
		{Value: `we\.ird.lab.`, Kind: SuppressZone, Source: SuppressedUnsubscribe, CreatedAt: at(3, 0)},
	}
	for _, s := range add {
		if added, err := db.AddSuppression(ctx, s); err != nil || !added {
			t.Fatalf("AddSuppression(%+v) = %v, %v", s, added, err)
		}
	}
	// Suppressed again: the first one stays.
	again := add[0]
	again.Reason, again.Source = "complained", SuppressedComplaint
	if added, err := db.AddSuppression(ctx, again); err != nil || added {
		t.Errorf("AddSuppression again = %v, %v; want false, nil", added, err)
	}
	got, err := db.Suppressions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []Suppression{add[1], add[0], add[2]}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Suppressions (-want +got):\n%s", diff)
	}
	if removed, err := db.RemoveSuppression(ctx, "@example.net"); err != nil || !removed {
		t.Errorf("RemoveSuppression = %v, %v", removed, err)
	}
	if removed, err := db.RemoveSuppression(ctx, "@example.net"); err != nil || removed {
		t.Errorf("RemoveSuppression of nothing = %v, %v; want false", removed, err)
	}
	for _, bad := range []Suppression{
		{Value: "example.com", Kind: SuppressAddress, Source: SuppressedManually, CreatedAt: at(1, 0)},
		{Value: "@", Kind: SuppressDomain, Source: SuppressedManually, CreatedAt: at(1, 0)},
		{Value: "a@example.com", Kind: SuppressDomain, Source: SuppressedManually, CreatedAt: at(1, 0)},
		{Value: "example.com", Kind: SuppressZone, Source: SuppressedManually, CreatedAt: at(1, 0)},
		{Value: "x@example.com", Kind: SuppressAddress, CreatedAt: at(1, 0)},
		{Value: "x@example.com", Kind: SuppressAddress, Source: SuppressedManually},
	} {
		if _, err := db.AddSuppression(ctx, bad); err == nil {
			t.Errorf("AddSuppression(%+v) accepted it", bad)
		}
	}
}
