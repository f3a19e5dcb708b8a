package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// findingID returns the ID of the one finding of zone (or zone-less bucket).
func findingID(t *testing.T, db *DB, zone, bucket string) int64 {
	t.Helper()
	fs, err := db.Findings(context.Background(), Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.Zone == zone && f.Bucket == bucket {
			return f.ID
		}
	}
	t.Fatalf("no finding with zone %q bucket %q", zone, bucket)
	return 0
}

// lameRound is a round as the resolver reports `dig +norec @192.0.2.53
// example.com SOA` answered by a referral to the root.
func lameRound(id int64, at time.Time) Round {
	return Round{FindingID: id, At: at, Verdict: "lame", Reason: "upward_referral", Class: "hard",
		Rcode: "NOERROR", RTT: 12 * time.Millisecond, Packets: 1}
}

func TestRecordRound(t *testing.T) {
	ctx := context.Background()
	probe := testNow.Add(-time.Hour)
	tests := []struct {
		name string
		// rounds are recorded in order, each with its update; the last one
		// is the one under test.
		rounds    []Round
		updates   []FindingUpdate
		wantErr   string // substring; the finding must then be unchanged
		wantRound Round  // the last round as returned and as read back (ID ignored)
		want      Finding
	}{
		{
			name: "first lame round makes a suspect",
			rounds: []Round{{At: probe.In(time.FixedZone("CET", 3600)), Verdict: "lame", Reason: "refused", Class: "hard",
				Rcode: "REFUSED", Flags: []string{"open_recursor", "edns_noncompliant", "open_recursor"},
				RTT: 1234567 * time.Nanosecond, Packets: 2}},
			updates: []FindingUpdate{{Status: "suspect", Reason: "refused", ServerNames: []string{"ns2.example.com.", "ns1.example.com."}}},
			wantRound: Round{At: probe, Zone: "example.com.", Server: srvA, Port: 53, Verdict: "lame", Reason: "refused",
				Class: "hard", Rcode: "REFUSED", Flags: []string{"edns_noncompliant", "open_recursor"}, RTT: 1234567 * time.Nanosecond, Packets: 2},
			want: Finding{ServerNames: []string{"ns1.example.com.", "ns2.example.com."}, Status: "suspect", Reason: "refused",
				Rounds: 1, LastProbed: probe},
		},
		{
			name: "second lame round 30 minutes later confirms",
			rounds: []Round{
				{At: probe, Verdict: "lame", Reason: "upward_referral", Class: "hard"},
				{At: probe.Add(30 * time.Minute), Verdict: "lame", Reason: "upward_referral", Class: "hard", Zone: "example.com.",
					Server: srvA, Port: 53, Packets: 1, RTT: time.Millisecond},
			},
			updates: []FindingUpdate{{Status: "suspect", Reason: "upward_referral"}, {Status: "lame", Reason: "upward_referral",
				ServerNames: []string{"ns1.example.com."}}},
			wantRound: Round{At: probe.Add(30 * time.Minute), Zone: "example.com.", Server: srvA, Port: 53, Verdict: "lame",
				Reason: "upward_referral", Class: "hard", Packets: 1, RTT: time.Millisecond},
			want: Finding{ServerNames: []string{"ns1.example.com."}, Status: "lame", Reason: "upward_referral",
				Rounds: 2, LastProbed: probe.Add(30 * time.Minute)},
		},
		{
			name: "a round recorded late does not move last_probed back",
			rounds: []Round{
				{At: probe, Verdict: "authoritative", Reason: "authoritative", Class: "authoritative"},
				{At: probe.Add(-time.Hour), Verdict: "inconclusive", Reason: "vantage_error", Class: "not_counted"},
			},
			updates: []FindingUpdate{{Status: "ok", Reason: "authoritative"}, {Status: "ok", Reason: "authoritative"}},
			wantRound: Round{At: probe.Add(-time.Hour), Zone: "example.com.", Server: srvA, Port: 53, Verdict: "inconclusive",
				Reason: "vantage_error", Class: "none"},
			want: Finding{Status: "ok", Reason: "authoritative", Rounds: 2, LastProbed: probe},
		},
		{
			name:    "unknown verdict",
			rounds:  []Round{{At: probe, Verdict: "LAME", Reason: "refused", Class: "hard"}},
			updates: []FindingUpdate{{Status: "suspect"}},
			wantErr: `unknown verdict "LAME"`,
		},
		{
			name:    "unknown class",
			rounds:  []Round{{At: probe, Verdict: "lame", Reason: "refused", Class: "Hard"}},
			updates: []FindingUpdate{{Status: "suspect"}},
			wantErr: `unknown round class "Hard"`,
		},
		{
			name:    "unknown status",
			rounds:  []Round{{At: probe, Verdict: "lame", Reason: "refused", Class: "hard"}},
			updates: []FindingUpdate{{Status: "confirmed"}},
			wantErr: `unknown status "confirmed"`,
		},
		{
			name:    "no time",
			rounds:  []Round{{Verdict: "lame", Reason: "refused", Class: "hard"}},
			updates: []FindingUpdate{{Status: "suspect"}},
			wantErr: "without a time",
		},
		{
			name:    "unknown finding",
			rounds:  []Round{{FindingID: 99, At: probe, Verdict: "lame", Reason: "refused", Class: "hard"}},
			updates: []FindingUpdate{{Status: "suspect"}},
			wantErr: "not found",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openTest(t)
			// 21-Nov-2026 01:00:00 lame-servers: info: lame server resolving 'www.example.com' (in 'example.com'?): 192.0.2.53#53
			mustCommit(t, db, firstBatch(fpNamed, 100, 1, zoned("example.com.", srvA, "bind", "lame_referral", 1, at(1, 0), at(1, 0))))
			id := findingID(t, db, "example.com.", "")
			var got Round
			var err error
			for i, r := range tt.rounds {
				if r.FindingID == 0 {
					r.FindingID = id
				}
				if i == len(tt.rounds)-1 {
					before := takeSnapshot(t, db)
					got, err = db.RecordRound(ctx, r, tt.updates[i])
					if tt.wantErr != "" {
						if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
							t.Fatalf("RecordRound error = %v, want %q", err, tt.wantErr)
						}
						if r.FindingID == 99 && !errors.Is(err, ErrNotFound) {
							t.Errorf("RecordRound error = %v, want ErrNotFound", err)
						}
						if diff := cmp.Diff(before, takeSnapshot(t, db), cmpOpts...); diff != "" {
							t.Errorf("failed RecordRound changed the database (-before +after):\n%s", diff)
						}
						if rs, _ := db.Rounds(ctx, id, 0); len(rs) != len(tt.rounds)-1 {
							t.Errorf("%d rounds stored, want %d", len(rs), len(tt.rounds)-1)
						}
						return
					}
				} else if _, err := db.RecordRound(ctx, r, tt.updates[i]); err != nil {
					t.Fatal(err)
				}
			}
			if err != nil {
				t.Fatalf("RecordRound: %v", err)
			}
			tt.wantRound.FindingID = id
			ignoreID := append(cmpOpts, cmpopts.IgnoreFields(Round{}, "ID"))
			if diff := cmp.Diff(tt.wantRound, got, ignoreID...); diff != "" {
				t.Errorf("RecordRound result (-want +got):\n%s", diff)
			}
			rs, err := db.Rounds(ctx, id, 0)
			if err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(rs, func(r Round) bool { return r.ID == got.ID })
			if len(rs) != len(tt.rounds) || i < 0 || got.ID <= 0 {
				t.Fatalf("Rounds = %+v, want %d rounds with round %d", rs, len(tt.rounds), got.ID)
			}
			if rs[i].At.Location() != time.UTC {
				t.Errorf("round At %v: want UTC", rs[i].At)
			}
			if diff := cmp.Diff(got, rs[i], cmpOpts...); diff != "" {
				t.Errorf("round read back (-recorded +read):\n%s", diff)
			}
			fd, err := db.Finding(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			// Ingest's fields are untouched.
			want := tt.want
			want.ID, want.Zone, want.Server, want.Port, want.Sources, want.Observed = id, "example.com.", srvA, 53, []string{"bind"}, []string{"lame_referral"}
			want.Count, want.FirstSeen, want.LastSeen = 1, at(1, 0), at(1, 0)
			if diff := cmp.Diff(want, fd, cmpOpts...); diff != "" {
				t.Errorf("finding after RecordRound (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRoundsOrderAndLimit(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	mustCommit(t, db, firstBatch(fpNamed, 100, 1,
		zoned("example.com.", srvA, "bind", "lame_referral", 1, at(1, 0), at(1, 0)),
		zoned("example.net.", srvA, "bind", "lame_referral", 1, at(1, 0), at(1, 0))))
	id, other := findingID(t, db, "example.com.", ""), findingID(t, db, "example.net.", "")
	// Recorded out of order (two verify processes); two at the same instant.
	for _, m := range []int{60, 0, 30, 30} {
		if _, err := db.RecordRound(ctx, lameRound(id, at(2, m%60).Add(time.Duration(m/60)*time.Hour)), FindingUpdate{Status: "suspect"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.RecordRound(ctx, lameRound(other, at(5, 0)), FindingUpdate{Status: "suspect"}); err != nil {
		t.Fatal(err)
	}
	describe := func(rs []Round) []string {
		var s []string
		for _, r := range rs {
			s = append(s, fmt.Sprintf("%d %s", r.ID, r.At.Format("15:04")))
		}
		return s
	}
	for _, tt := range []struct {
		limit int
		want  []string
	}{
		{0, []string{"2 02:00", "3 02:30", "4 02:30", "1 03:00"}},
		{2, []string{"4 02:30", "1 03:00"}},
		{10, []string{"2 02:00", "3 02:30", "4 02:30", "1 03:00"}},
	} {
		rs, err := db.Rounds(ctx, id, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, describe(rs)); diff != "" {
			t.Errorf("Rounds(limit %d) (-want +got):\n%s", tt.limit, diff)
		}
	}
	if rs, err := db.Rounds(ctx, 99, 0); err != nil || len(rs) != 0 {
		t.Errorf("Rounds of an unknown finding = %v, %v; want none", rs, err)
	}
}

func TestSetStatus(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	mustCommit(t, db, firstBatch(fpNamed, 100, 1, zoned("example.com.", srvA, "bind", "lame_referral", 1, at(1, 0), at(1, 0))))
	id := findingID(t, db, "example.com.", "")
	if _, err := db.RecordRound(ctx, lameRound(id, at(2, 0)), FindingUpdate{Status: "suspect", Reason: "upward_referral",
		ServerNames: []string{"ns1.example.com."}}); err != nil {
		t.Fatal(err)
	}
	// The zone's delegation no longer lists 192.0.2.53.
	if err := db.SetStatus(ctx, id, at(3, 0), FindingUpdate{Status: "stale", Reason: "not_in_delegation"}); err != nil {
		t.Fatal(err)
	}
	fd, err := db.Finding(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if fd.Status != "stale" || fd.Reason != "not_in_delegation" || len(fd.ServerNames) != 0 || fd.Rounds != 1 || !fd.LastProbed.Equal(at(3, 0)) {
		t.Errorf("after SetStatus: status %q reason %q names %v rounds %d last probed %v; want stale, not_in_delegation, none, 1, 03:00",
			fd.Status, fd.Reason, fd.ServerNames, fd.Rounds, fd.LastProbed)
	}
	if rs, _ := db.Rounds(ctx, id, 0); len(rs) != 1 {
		t.Errorf("SetStatus changed the rounds: %d", len(rs))
	}
	for _, tt := range []struct {
		name string
		id   int64
		at   time.Time
		u    FindingUpdate
		want string
	}{
		{"unknown finding", 99, at(4, 0), FindingUpdate{Status: "stale"}, "not found"},
		{"unknown status", id, at(4, 0), FindingUpdate{Status: "gone"}, `unknown status "gone"`},
		{"no time", id, time.Time{}, FindingUpdate{Status: "stale"}, "no time"},
	} {
		err := db.SetStatus(ctx, tt.id, tt.at, tt.u)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: SetStatus error = %v, want %q", tt.name, err, tt.want)
		}
		if tt.id == 99 && !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: SetStatus error = %v, want ErrNotFound", tt.name, err)
		}
	}
	if after, _ := db.Finding(ctx, id); !cmp.Equal(fd, after, cmpOpts...) {
		t.Errorf("failed SetStatus calls changed the finding: %+v", after)
	}
}

func TestDueFindings(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	mustCommit(t, db, firstBatch(fpNamed, 100, 5,
		zoned("a.example.", srvA, "bind", "lame_referral", 1, at(1, 0), at(1, 0)),
		zoned("b.example.", srvA, "bind", "lame_referral", 1, at(1, 0), at(1, 0)),
		zoned("c.example.", srvA, "bind", "lame_referral", 1, at(1, 0), at(1, 0)),
		zoned("c.example.", srvB, "bind", "lame_referral", 1, at(1, 0), at(1, 0)),
		zoneless("refused.lab.", "x.refused.lab.", srvA, "refused", 1, at(1, 0), at(1, 0)),
		zoneless("other.lab.", "y.other.lab.", srvB, "refused", 1, at(1, 0), at(1, 0)),
	))
	names := make(map[int64]string)
	fs, err := db.Findings(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		names[f.ID] = f.Zone + f.Bucket + " " + f.Server.String()
	}
	id := func(name string) int64 {
		for i, n := range names {
			if n == name {
				return i
			}
		}
		t.Fatalf("no finding %q", name)
		return 0
	}
	// a.example. probed at 03:00 (suspect), b.example. at 02:00 (ok),
	// other.lab. found unattributable at 04:00 (stale).
	if _, err := db.RecordRound(ctx, lameRound(id("a.example. 192.0.2.53"), at(3, 0)), FindingUpdate{Status: "suspect"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RecordRound(ctx, Round{FindingID: id("b.example. 192.0.2.53"), At: at(2, 0), Verdict: "authoritative",
		Reason: "authoritative", Class: "authoritative"}, FindingUpdate{Status: "ok", Reason: "authoritative"}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetStatus(ctx, id("other.lab. 2001:db8::53"), at(4, 0), FindingUpdate{Status: "stale", Reason: "unattributable"}); err != nil {
		t.Fatal(err)
	}
	yes, no := true, false
	tests := []struct {
		name string
		f    DueFilter
		want []string
	}{
		{"all: never probed by ID, then oldest probe first", DueFilter{}, []string{
			"c.example. 192.0.2.53", "c.example. 2001:db8::53", "refused.lab. 192.0.2.53",
			"b.example. 192.0.2.53", "a.example. 192.0.2.53", "other.lab. 2001:db8::53"}},
		{"zone", DueFilter{Zone: "c.example."}, []string{"c.example. 192.0.2.53", "c.example. 2001:db8::53"}},
		{"statuses", DueFilter{Statuses: []string{"suspect", "new"}}, []string{
			"c.example. 192.0.2.53", "c.example. 2001:db8::53", "refused.lab. 192.0.2.53", "a.example. 192.0.2.53"}},
		{"probed before", DueFilter{ProbedBefore: at(3, 0)}, []string{
			"c.example. 192.0.2.53", "c.example. 2001:db8::53", "refused.lab. 192.0.2.53", "b.example. 192.0.2.53"}},
		{"zone-less", DueFilter{ZoneLess: &yes}, []string{"refused.lab. 192.0.2.53", "other.lab. 2001:db8::53"}},
		{"zoned", DueFilter{ZoneLess: &no}, []string{
			"c.example. 192.0.2.53", "c.example. 2001:db8::53", "b.example. 192.0.2.53", "a.example. 192.0.2.53"}},
		{"limit", DueFilter{Limit: 2}, []string{"c.example. 192.0.2.53", "c.example. 2001:db8::53"}},
		{"unattributable ones to retry", DueFilter{ZoneLess: &yes, Statuses: []string{"stale"}, ProbedBefore: at(5, 0)},
			[]string{"other.lab. 2001:db8::53"}},
		{"all together", DueFilter{ZoneLess: &no, Statuses: []string{"new", "ok"}, ProbedBefore: at(4, 0), Limit: 2},
			[]string{"c.example. 192.0.2.53", "c.example. 2001:db8::53"}},
		{"nothing", DueFilter{Zone: "c.example.", ZoneLess: &yes}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, err := db.DueFindings(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range fs {
				got = append(got, names[f.ID])
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("DueFindings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPruneRounds(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	mustCommit(t, db, firstBatch(fpNamed, 100, 2,
		zoned("a.example.", srvA, "bind", "lame_referral", 1, at(1, 0), at(1, 0)),
		zoned("b.example.", srvA, "bind", "lame_referral", 1, at(1, 0), at(1, 0))))
	a, b := findingID(t, db, "a.example.", ""), findingID(t, db, "b.example.", "")
	old := at(0, 0).AddDate(0, 0, -30)
	record := func(id int64, t0 time.Time) {
		if _, err := db.RecordRound(ctx, lameRound(id, t0), FindingUpdate{Status: "lame"}); err != nil {
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
	n, err := db.Prune(ctx, "2026-11-01")
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
	if n, err := db.Prune(ctx, "2026-10-01"); err != nil || n != 0 {
		t.Errorf("Prune at an earlier day = %d, %v; want 0", n, err)
	}
}
