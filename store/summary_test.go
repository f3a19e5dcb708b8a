package store

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The summary counts findings by status (every status present), those
// needing a human, the outbox by state, and the rounds and bounces after
// given IDs, by reason and class.
func TestSummary(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	read := func(since Since) Summary {
		t.Helper()
		s, err := db.Summary(ctx, since)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	zeros := func() (map[Status]int64, map[OutboxState]int64) {
		fs, ob := map[Status]int64{}, map[OutboxState]int64{}
		for _, s := range Statuses() {
			fs[s] = 0
		}
		for _, s := range OutboxStates() {
			ob[s] = 0
		}
		return fs, ob
	}
	fs, ob := zeros()
	none := Since{-1, -1}
	if d := cmp.Diff(Summary{Findings: fs, RoundReasons: map[string]int64{}, Bounces: map[BounceClass]int64{}, Outbox: ob}, read(none)); d != "" {
		t.Fatalf("empty database (-want +got):\n%s", d)
	}

	a, b := twoLameFindings(t, db) // two lame findings, one upward_referral round each
	// 21-Nov-2026 01:00:00 lame-servers: info: REFUSED unexpected RCODE resolving 'www.example.net/A/IN': 192.0.2.53#53
	mustCommit(t, db, firstBatch(fpOther, 100, 1,
		zoneless("example.net.", "www.example.net.", srvA, "refused", 1, at(1, 0), at(1, 0))))
	first := read(none)
	if first.Next.Round == 0 || len(first.RoundReasons) != 0 {
		t.Fatalf("Summary(-1, -1) = %+v, want the highest round ID and no reasons", first)
	}
	r := lameRound(a, at(3, 0))
	r.Reason = "refused"
	if _, err := db.RecordRound(ctx, r, FindingUpdate{Status: StatusLame, Reason: "refused"}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetContacts(ctx, []ContactDecision{{FindingID: b, NeedsHuman: true}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddOutbox(ctx, OutboxEntry{Token: tokenA, Recipient: "hostmaster@example.com", Source: SourceHostmaster,
		Subject: "Lame delegation of example.com.", MessageID: "<lamers." + tokenA + "@resolver.example.net>",
		State: OutboxPending, Transport: "smtp", CreatedAt: at(3, 0), FindingIDs: []int64{a}}); err != nil {
		t.Fatal(err)
	}
	// Two bounces of the message: a hard one, and a delay notice.
	for _, c := range []BounceClass{BounceHard, BounceDelay} {
		if _, added, err := db.AddBounce(ctx, returned("a bounce of class "+c.String(), tokenA, c, at(4, 0))); err != nil || !added {
			t.Fatalf("AddBounce %v = %v, %v", c, added, err)
		}
	}
	fs, ob = zeros()
	fs[StatusLame], fs[StatusNew], ob[OutboxPending] = 2, 1, 1
	want := Summary{Findings: fs, NeedsHuman: 1, RoundReasons: map[string]int64{"refused": 1},
		Bounces: map[BounceClass]int64{BounceHard: 1, BounceDelay: 1}, Next: Since{first.Next.Round + 1, 2}, Outbox: ob}
	if d := cmp.Diff(want, read(first.Next)); d != "" {
		t.Errorf("after a round, a decision and a message (-want +got):\n%s", d)
	}
	want.RoundReasons = map[string]int64{"refused": 1, "upward_referral": 2}
	if d := cmp.Diff(want, read(Since{})); d != "" {
		t.Errorf("every round and bounce (-want +got):\n%s", d)
	}
	want.RoundReasons, want.Bounces = map[string]int64{}, map[BounceClass]int64{}
	if d := cmp.Diff(want, read(want.Next)); d != "" {
		t.Errorf("nothing new (-want +got):\n%s", d)
	}
}
