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

// twoLameFindings stores two confirmed findings of one server and returns
// their IDs.
func twoLameFindings(t *testing.T, db *DB) (int64, int64) {
	t.Helper()
	ctx := context.Background()
	// 21-Nov-2026 01:00:00 lame-servers: info: lame server resolving 'www.example.com' (in 'example.com'?): 192.0.2.53#53
	mustCommit(t, db, firstBatch(fpNamed, 100, 2,
		zoned("example.com.", srvA, "bind", "lame_referral", 1, at(1, 0), at(1, 0)),
		zoned("example.org.", srvA, "bind", "lame_referral", 1, at(1, 0), at(1, 0))))
	a, b := findingID(t, db, "example.com.", ""), findingID(t, db, "example.org.", "")
	for _, id := range []int64{a, b} {
		if _, err := db.RecordRound(ctx, lameRound(id, at(2, 0)), FindingUpdate{Status: StatusLame, Reason: "upward_referral"}); err != nil {
			t.Fatal(err)
		}
	}
	return a, b
}

const (
	tokenA = "abcdefghijklmnopqrst"
	tokenB = "bcdefghijklmnopqrst2"
)

// The outbox state machine: pending, then one outcome; sent stamps
// last_notified, rejected marks the recipient dead for every finding of
// the message; a finished message cannot be finished again; pending ones
// left over become unknown; unknown ones can be retried.
func TestOutbox(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	a, b := twoLameFindings(t, db)
	pending := OutboxEntry{Token: tokenA, Recipient: "hostmaster@example.com", Source: SourceHostmaster,
		Subject: "Lame delegation of example.com.", MessageID: "<lamers." + tokenA + "@resolver.example.net>",
		State: OutboxPending, Transport: "smtp", CreatedAt: at(3, 0), FindingIDs: []int64{b, a, a}}
	got, err := db.AddOutbox(ctx, pending)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID == 0 || !got.UpdatedAt.Equal(at(3, 0)) || !cmp.Equal(got.FindingIDs, []int64{a, b}) {
		t.Errorf("AddOutbox = %+v", got)
	}
	if err := db.FinishOutbox(ctx, tokenA, OutboxOutcome{State: OutboxSent, Code: 250, Enhanced: "2.0.0", Detail: "queued as 4QxYz"}, at(3, 1)); err != nil {
		t.Fatal(err)
	}
	if err := db.FinishOutbox(ctx, tokenA, OutboxOutcome{State: OutboxRejected}, at(3, 2)); err == nil || !strings.Contains(err.Error(), "is sent, not pending") {
		t.Errorf("FinishOutbox of a sent message = %v", err)
	}
	for _, id := range []int64{a, b} {
		if f, err := db.Finding(ctx, id); err != nil || !f.LastNotified.Equal(at(3, 1)) {
			t.Errorf("finding %d last notified %v (%v), want %v", id, f.LastNotified, err, at(3, 1))
		}
	}

	// Rejected: the address is dead for both findings.
	rej := pending
	rej.Token, rej.Recipient, rej.Source, rej.FindingIDs, rej.CreatedAt = tokenB, "j.doe@example.com", SourceRNAME, []int64{a, b}, at(4, 0)
	if _, err := db.AddOutbox(ctx, rej); err != nil {
		t.Fatal(err)
	}
	if err := db.FinishOutbox(ctx, tokenB, OutboxOutcome{State: OutboxRejected, Code: 550, Enhanced: "5.1.1", Detail: "user unknown"}, at(4, 1)); err != nil {
		t.Fatal(err)
	}
	marks, err := db.ContactMarks(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantMarks := []ContactMark{
		{FindingID: a, Address: "j.doe@example.com", Source: SourceRNAME, Mark: MarkRejected, Reason: "550 5.1.1 user unknown", At: at(4, 1)},
		{FindingID: b, Address: "j.doe@example.com", Source: SourceRNAME, Mark: MarkRejected, Reason: "550 5.1.1 user unknown", At: at(4, 1)},
	}
	if diff := cmp.Diff(wantMarks, marks, cmpopts.IgnoreFields(ContactMark{}, "ID")); diff != "" {
		t.Errorf("marks (-want +got):\n%s", diff)
	}
	// A hard bounce of the same message adds its own mark once.
	if n, err := db.MarkMessage(ctx, tokenB, MarkBounced, "5.1.1", at(5, 0)); err != nil || n != 2 {
		t.Errorf("MarkMessage = %d, %v; want 2", n, err)
	}
	if n, err := db.MarkMessage(ctx, tokenB, MarkBounced, "5.1.1", at(5, 1)); err != nil || n != 0 {
		t.Errorf("MarkMessage again = %d, %v; want 0", n, err)
	}
	if _, err := db.MarkMessage(ctx, "zzzzzzzzzzzzzzzzzzzz", MarkSoft, "", at(5, 0)); !errors.Is(err, ErrNotFound) {
		t.Errorf("MarkMessage of an unknown token = %v, want ErrNotFound", err)
	}
	if _, err := db.MarkMessage(ctx, tokenB, MarkUndeliverable, "", at(5, 0)); err == nil {
		t.Error("MarkMessage accepted a per-run mark")
	}
}

// A pending message found by a later run becomes unknown; a person may
// retry it, which makes it pending again with the letter's new findings.
func TestOutboxRecoverAndRetry(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	a, b := twoLameFindings(t, db)
	e := OutboxEntry{Token: tokenA, Recipient: "hostmaster@example.com", Source: SourceHostmaster, Subject: "s", MessageID: "<m>",
		State: OutboxPending, Transport: "sendmail", CreatedAt: at(3, 0), FindingIDs: []int64{a, b}}
	if _, err := db.AddOutbox(ctx, e); err != nil {
		t.Fatal(err)
	}
	if err := db.RetryOutbox(ctx, OutboxEntry{Token: tokenA, UpdatedAt: at(4, 0), FindingIDs: []int64{a}}); err == nil {
		t.Error("RetryOutbox of a pending message succeeded")
	}
	if n, err := db.RecoverPending(ctx, at(4, 0)); err != nil || n != 1 {
		t.Fatalf("RecoverPending = %d, %v", n, err)
	}
	if n, err := db.RecoverPending(ctx, at(4, 1)); err != nil || n != 0 {
		t.Errorf("RecoverPending again = %d, %v", n, err)
	}
	es, err := db.Outbox(ctx, OutboxFilter{States: []OutboxState{OutboxUnknown}})
	if err != nil || len(es) != 1 || !es[0].UpdatedAt.Equal(at(4, 0)) {
		t.Fatalf("unknown messages = %+v, %v", es, err)
	}
	if err := db.FinishOutbox(ctx, tokenA, OutboxOutcome{State: OutboxSent}, at(4, 2)); err == nil {
		t.Error("FinishOutbox of an unknown message succeeded")
	}
	retry := OutboxEntry{Token: tokenA, Subject: "s2", MessageID: "<m2>", UpdatedAt: at(5, 0), FindingIDs: []int64{b}}
	if err := db.RetryOutbox(ctx, retry); err != nil {
		t.Fatal(err)
	}
	es, err = db.Outbox(ctx, OutboxFilter{Token: tokenA})
	want := OutboxEntry{ID: es[0].ID, Token: tokenA, Recipient: "hostmaster@example.com", Source: SourceHostmaster, Subject: "s2",
		MessageID: "<m2>", State: OutboxPending, Transport: "sendmail", CreatedAt: at(5, 0), UpdatedAt: at(5, 0), FindingIDs: []int64{b}}
	if err != nil || len(es) != 1 {
		t.Fatalf("Outbox = %+v, %v", es, err)
	}
	if diff := cmp.Diff(want, es[0]); diff != "" {
		t.Errorf("retried message (-want +got):\n%s", diff)
	}
	// The retry is its handover now: the limits count from it.
	if es, err := db.Outbox(ctx, OutboxFilter{Since: at(5, 0)}); err != nil || len(es) != 1 {
		t.Errorf("Outbox since the retry = %+v, %v; want the retried message", es, err)
	}
	if es, err := db.Outbox(ctx, OutboxFilter{Since: at(5, 1)}); err != nil || len(es) != 0 {
		t.Errorf("Outbox since after the retry = %+v, %v", es, err)
	}
}

func TestAddOutboxRefuses(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	a, _ := twoLameFindings(t, db)
	good := OutboxEntry{Token: tokenA, Recipient: "r@example.com", Source: SourceRNAME, State: OutboxPending, Transport: "smtp",
		CreatedAt: at(3, 0), FindingIDs: []int64{a}}
	for name, mod := range map[string]func(*OutboxEntry){
		"upper-case token": func(e *OutboxEntry) { e.Token = strings.ToUpper(tokenA) },
		"short token":      func(e *OutboxEntry) { e.Token = "abc" },
		"no recipient":     func(e *OutboxEntry) { e.Recipient = "" },
		"no source":        func(e *OutboxEntry) { e.Source = 0 },
		"sent at once":     func(e *OutboxEntry) { e.State = OutboxSent },
		"no transport":     func(e *OutboxEntry) { e.Transport = "" },
		"no time":          func(e *OutboxEntry) { e.CreatedAt = time.Time{} },
		"no findings":      func(e *OutboxEntry) { e.FindingIDs = nil },
		"unknown finding":  func(e *OutboxEntry) { e.FindingIDs = []int64{a, 999} },
		"a bad reply code": func(e *OutboxEntry) { e.Code = 1000 },
	} {
		e := good
		mod(&e)
		if _, err := db.AddOutbox(ctx, e); err == nil {
			t.Errorf("%s: AddOutbox accepted %+v", name, e)
		} else if name == "unknown finding" && !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: error %v, want ErrNotFound", name, err)
		}
	}
	if es, err := db.Outbox(ctx, OutboxFilter{}); err != nil || len(es) != 0 {
		t.Errorf("the outbox after refused messages: %+v, %v", es, err)
	}
	if _, err := db.AddOutbox(ctx, good); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddOutbox(ctx, good); err == nil {
		t.Error("AddOutbox accepted a token twice")
	}
}
