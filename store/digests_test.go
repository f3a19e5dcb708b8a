package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// A digest is recorded pending, then marked; the last one sent gives the
// start of the next period; one a crash left pending becomes unknown when
// the next is recorded, and its late mark is still taken.
func TestDigests(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	if _, ok, err := db.LastDigest(ctx); ok || err != nil {
		t.Fatalf("LastDigest of a new database: ok %v, %v", ok, err)
	}
	entry := func(token string, until time.Time) DigestEntry {
		return DigestEntry{Token: token, Recipient: "noc@resolver.example.net", Since: until.Add(-336 * time.Hour), Until: until,
			Subject: "Lame delegations", MessageID: "<lamers." + token + "@resolver.example.net>", Transport: "smtp", CreatedAt: until}
	}
	first := entry("aaaaaaaaaaaaaaaaaaaa", at3("2026-11-08"))
	if _, err := db.AddDigest(ctx, first); err != nil {
		t.Fatal(err)
	}
	if err := db.FinishDigest(ctx, first.Token, OutboxOutcome{State: OutboxSent, Code: 250, Detail: "2.0.0 Ok: queued"}, at3("2026-11-08")); err != nil {
		t.Fatal(err)
	}
	if err := db.FinishDigest(ctx, first.Token, OutboxOutcome{State: OutboxSent}, at3("2026-11-08")); !errors.Is(err, ErrNotFound) {
		t.Errorf("finishing a digest twice: %v, want ErrNotFound", err)
	}
	// A later digest the relay deferred is not the last one sent.
	deferred := entry("bbbbbbbbbbbbbbbbbbbb", at3("2026-11-15"))
	if _, err := db.AddDigest(ctx, deferred); err != nil {
		t.Fatal(err)
	}
	if err := db.FinishDigest(ctx, deferred.Token, OutboxOutcome{State: OutboxDeferred, Code: 451}, at3("2026-11-15")); err != nil {
		t.Fatal(err)
	}
	last, ok, err := db.LastDigest(ctx)
	if err != nil || !ok || last.Token != first.Token || !last.Until.Equal(first.Until) || last.Code != 250 || last.State != OutboxSent {
		t.Errorf("LastDigest = %+v, %v, %v; want the first, sent", last, ok, err)
	}
	// A crash between the handover and the mark leaves the digest
	// pending; the next one makes it unknown, and a mark arriving late is
	// still recorded.
	crashed := entry("cccccccccccccccccccc", at3("2026-11-20"))
	if _, err := db.AddDigest(ctx, crashed); err != nil {
		t.Fatal(err)
	}
	next := entry("dddddddddddddddddddd", at3("2026-11-22"))
	if _, err := db.AddDigest(ctx, next); err != nil {
		t.Fatal(err)
	}
	ds, err := db.Digests(ctx)
	if err != nil || len(ds) != 4 || ds[1].Token != crashed.Token || ds[1].State != OutboxUnknown || ds[0].State != OutboxPending {
		t.Fatalf("Digests = %+v, %v; want the crashed one unknown, the next pending", ds, err)
	}
	if err := db.FinishDigest(ctx, crashed.Token, OutboxOutcome{State: OutboxSent, Code: 250}, at3("2026-11-22")); err != nil {
		t.Errorf("a late mark of an unknown digest: %v", err)
	}
	if last, _, _ := db.LastDigest(ctx); last.Token != crashed.Token {
		t.Errorf("LastDigest = %s, want %s (sent, ends last)", last.Token, crashed.Token)
	}

	for _, bad := range []struct {
		edit func(*DigestEntry)
		want string
	}{
		{func(e *DigestEntry) { e.Token = "short" }, "token"},
		{func(e *DigestEntry) { e.Recipient = "" }, "no recipient"},
		{func(e *DigestEntry) { e.Since = e.Until.Add(time.Second) }, "ends before it starts"},
		{func(e *DigestEntry) { e.Token = first.Token }, "UNIQUE"},
	} {
		e := entry("eeeeeeeeeeeeeeeeeeee", at3("2026-11-22"))
		bad.edit(&e)
		if _, err := db.AddDigest(ctx, e); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("AddDigest(%+v) = %v, want an error with %q", e, err, bad.want)
		}
	}
}
