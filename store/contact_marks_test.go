package store

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// SetContacts stores each finding's contact and replaces the marks a run
// finds anew, keeping the dead ones; a failure writes nothing.
func TestSetContacts(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	a, b := twoLameFindings(t, db)
	dead := OutboxEntry{Token: tokenA, Recipient: "j.doe@example.com", Source: SourceRNAME, State: OutboxPending, Transport: "smtp",
		CreatedAt: at(3, 0), FindingIDs: []int64{a}}
	if _, err := db.AddOutbox(ctx, dead); err != nil {
		t.Fatal(err)
	}
	if err := db.FinishOutbox(ctx, tokenA, OutboxOutcome{State: OutboxRejected, Code: 550}, at(3, 1)); err != nil {
		t.Fatal(err)
	}
	first := []ContactDecision{
		{FindingID: a, Contact: "hostmaster@example.com", Source: SourceHostmaster, Marks: []ContactMark{
			{Address: "postmaster@example.net", Source: SourcePostmaster, Mark: MarkUndeliverable, Reason: "null MX", At: at(4, 0)}}},
		{FindingID: b, NeedsHuman: true, Marks: []ContactMark{
			{Address: `bad\@rname.example.org.`, Source: SourceRNAME, Mark: MarkInvalid, Reason: "local part has \"@\"", At: at(4, 0)},
			{Address: "hostmaster@example.org", Source: SourceHostmaster, Mark: MarkSuppressed, Reason: "@example.org", At: at(4, 0)}}},
	}
	if err := db.SetContacts(ctx, first); err != nil {
		t.Fatal(err)
	}
	second := []ContactDecision{{FindingID: a, Contact: "hostmaster@example.com", Source: SourceHostmaster}}
	if err := db.SetContacts(ctx, second); err != nil {
		t.Fatal(err)
	}
	fa, _ := db.Finding(ctx, a)
	fb, _ := db.Finding(ctx, b)
	if fa.Contact != "hostmaster@example.com" || fa.ContactSource != SourceHostmaster || fa.NeedsHuman ||
		fb.Contact != "" || fb.ContactSource != 0 || !fb.NeedsHuman {
		t.Errorf("contacts: %q %v %v; %q %v %v", fa.Contact, fa.ContactSource, fa.NeedsHuman, fb.Contact, fb.ContactSource, fb.NeedsHuman)
	}
	marks, err := db.ContactMarks(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []ContactMark{
		{FindingID: a, Address: "j.doe@example.com", Source: SourceRNAME, Mark: MarkRejected, Reason: "550", At: at(3, 1)},
		first[1].Marks[0], first[1].Marks[1],
	}
	want[1].FindingID, want[2].FindingID = b, b
	if diff := cmp.Diff(want, marks, cmpopts.IgnoreFields(ContactMark{}, "ID")); diff != "" {
		t.Errorf("marks (-want +got):\n%s", diff)
	}
	// A later status that is not confirmed clears needs_human.
	if err := db.SetStatus(ctx, b, at(5, 0), FindingUpdate{Status: StatusStale, Reason: "not_delegated"}); err != nil {
		t.Fatal(err)
	}
	if fb, _ := db.Finding(ctx, b); fb.NeedsHuman || !fb.ConfirmedAt.IsZero() {
		t.Errorf("stale finding: needs human %v, confirmed %v", fb.NeedsHuman, fb.ConfirmedAt)
	}

	bad := []ContactDecision{
		{FindingID: a, Contact: "x@example.com", Source: SourceOverride},
		{FindingID: 999, Contact: "y@example.com", Source: SourceOverride},
	}
	if err := db.SetContacts(ctx, bad); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetContacts with an unknown finding = %v, want ErrNotFound", err)
	}
	if fa, _ := db.Finding(ctx, a); fa.Contact != "hostmaster@example.com" {
		t.Errorf("a failed SetContacts changed finding %d: %q", a, fa.Contact)
	}
	for _, d := range []ContactDecision{
		{FindingID: a, Contact: "x@example.com"},
		{FindingID: a, Source: SourceRNAME},
		{FindingID: a, Contact: "x@example.com", Source: SourceRNAME, NeedsHuman: true},
		{FindingID: a, Marks: []ContactMark{{Address: "x@example.com", Source: SourceRNAME, Mark: MarkRejected, At: at(1, 0)}}},
		{FindingID: a, Marks: []ContactMark{{Address: "x@example.com", Source: SourceRNAME, Mark: MarkInvalid}}},
	} {
		if err := db.SetContacts(ctx, []ContactDecision{d}); err == nil {
			t.Errorf("SetContacts(%+v) accepted it", d)
		}
	}
}
