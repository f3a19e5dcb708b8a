package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// One holder at a time; a live lease is refused with its holder named; an
// expired one is taken over, and its first holder has lost it.
func TestLeases(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	const ttl = 5 * time.Minute
	first, err := db.AcquireLease(ctx, "notify", 4242, "resolver1", at(1, 0), ttl)
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.AcquireLease(ctx, "notify", 5151, "resolver1", at(1, 4), ttl)
	var held *LeaseHeldError
	if !errors.Is(err, ErrLeaseHeld) || !errors.As(err, &held) || held.Holder != first {
		t.Fatalf("second AcquireLease = %v, want ErrLeaseHeld by %+v", err, first)
	}
	if want := "store: lease notify held by process 4242 on resolver1 since 2026-11-21T01:00:00Z, until 2026-11-21T01:05:00Z"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	// Another name is another lease.
	if _, err := db.AcquireLease(ctx, "digest", 5151, "resolver1", at(1, 4), ttl); err != nil {
		t.Errorf("AcquireLease of another name: %v", err)
	}
	// Renewed, it holds past its first expiry.
	first, err = db.RenewLease(ctx, first, at(1, 4), ttl)
	if err != nil || !first.ExpiresAt.Equal(at(1, 9)) {
		t.Fatalf("RenewLease = %+v, %v", first, err)
	}
	if _, err := db.AcquireLease(ctx, "notify", 5151, "resolver1", at(1, 6), ttl); !errors.Is(err, ErrLeaseHeld) {
		t.Errorf("AcquireLease before the renewed expiry = %v, want ErrLeaseHeld", err)
	}
	// Expired: taken over. The first holder then finds it lost.
	second, err := db.AcquireLease(ctx, "notify", 5151, "resolver2", at(1, 9), ttl)
	if err != nil {
		t.Fatalf("AcquireLease of an expired lease: %v", err)
	}
	if _, err := db.RenewLease(ctx, first, at(1, 10), ttl); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("RenewLease of a lost lease = %v, want ErrLeaseLost", err)
	}
	if err := db.ReleaseLease(ctx, first); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("ReleaseLease of a lost lease = %v, want ErrLeaseLost", err)
	}
	if l, err := db.Lease(ctx, "notify"); err != nil || l != second {
		t.Errorf("Lease = %+v, %v; want %+v", l, err, second)
	}
	if err := db.ReleaseLease(ctx, second); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Lease(ctx, "notify"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Lease after release = %v, want ErrNotFound", err)
	}
	if _, err := db.AcquireLease(ctx, "notify", 1, "h", at(1, 11), 0); err == nil || !strings.Contains(err.Error(), "no name, time or duration") {
		t.Errorf("AcquireLease without a duration = %v", err)
	}
}
