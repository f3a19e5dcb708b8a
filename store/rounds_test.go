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
	return Round{FindingID: id, At: at, Verdict: VerdictLame, Reason: "upward_referral", Class: ClassHard,
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
			rounds: []Round{{At: probe.In(time.FixedZone("CET", 3600)), Verdict: VerdictLame, Reason: "refused", Class: ClassHard,
				Rcode: "REFUSED", Flags: []string{"open_recursor", "edns_noncompliant", "open_recursor"},
				RTT: 1234567 * time.Nanosecond, Packets: 2}},
			updates: []FindingUpdate{{Status: StatusSuspect, Reason: "refused", ServerNames: []string{"ns2.example.com.", "ns1.example.com."}}},
			wantRound: Round{At: probe, Zone: "example.com.", Server: srvA, Port: 53, Verdict: VerdictLame, Reason: "refused",
				Class: ClassHard, Rcode: "REFUSED", Flags: []string{"edns_noncompliant", "open_recursor"}, RTT: 1234567 * time.Nanosecond, Packets: 2},
			want: Finding{ServerNames: []string{"ns1.example.com.", "ns2.example.com."}, Status: StatusSuspect, Reason: "refused",
				Rounds: 1, LastProbed: probe},
		},
		{
			name: "second lame round 30 minutes later confirms",
			rounds: []Round{
				{At: probe, Verdict: VerdictLame, Reason: "upward_referral", Class: ClassHard},
				{At: probe.Add(30 * time.Minute), Verdict: VerdictLame, Reason: "upward_referral", Class: ClassHard, Zone: "example.com.",
					Server: srvA, Port: 53, Packets: 1, RTT: time.Millisecond},
			},
			updates: []FindingUpdate{{Status: StatusSuspect, Reason: "upward_referral"}, {Status: StatusLame, Reason: "upward_referral",
				ServerNames: []string{"ns1.example.com."}}},
			wantRound: Round{At: probe.Add(30 * time.Minute), Zone: "example.com.", Server: srvA, Port: 53, Verdict: VerdictLame,
				Reason: "upward_referral", Class: ClassHard, Packets: 1, RTT: time.Millisecond},
			want: Finding{ServerNames: []string{"ns1.example.com."}, Status: StatusLame, Reason: "upward_referral",
				Rounds: 2, LastProbed: probe.Add(30 * time.Minute), ConfirmedAt: probe.Add(30 * time.Minute)},
		},
		{
			name: "a round recorded late does not move last_probed back",
			rounds: []Round{
				{At: probe, Verdict: VerdictAuthoritative, Reason: "authoritative", Class: ClassAuthoritative},
				{At: probe.Add(-time.Hour), Verdict: VerdictInconclusive, Reason: "vantage_error", Class: ClassNone},
			},
			updates: []FindingUpdate{{Status: StatusOK, Reason: "authoritative"}, {Status: StatusOK, Reason: "authoritative"}},
			wantRound: Round{At: probe.Add(-time.Hour), Zone: "example.com.", Server: srvA, Port: 53, Verdict: VerdictInconclusive,
				Reason: "vantage_error", Class: ClassNone},
			want: Finding{Status: StatusOK, Reason: "authoritative", Rounds: 2, LastProbed: probe},
		},
		{
			name:    "unknown verdict",
			rounds:  []Round{{At: probe, Verdict: Verdict(9), Reason: "refused", Class: ClassHard}},
			updates: []FindingUpdate{{Status: StatusSuspect}},
			wantErr: `unknown verdict Verdict(9)`,
		},
		{
			name:    "unknown class",
			rounds:  []Round{{At: probe, Verdict: VerdictLame, Reason: "refused"}},
			updates: []FindingUpdate{{Status: StatusSuspect}},
			wantErr: `unknown round class RoundClass(0)`,
		},
		{
			name:    "unknown status",
			rounds:  []Round{{At: probe, Verdict: VerdictLame, Reason: "refused", Class: ClassHard}},
			updates: []FindingUpdate{{Status: Status(42)}},
			wantErr: `unknown status Status(42)`,
		},
		{
			name:    "no time",
			rounds:  []Round{{Verdict: VerdictLame, Reason: "refused", Class: ClassHard}},
			updates: []FindingUpdate{{Status: StatusSuspect}},
			wantErr: "without a time",
		},
		{
			name:    "unknown finding",
			rounds:  []Round{{FindingID: 99, At: probe, Verdict: VerdictLame, Reason: "refused", Class: ClassHard}},
			updates: []FindingUpdate{{Status: StatusSuspect}},
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
		if _, err := db.RecordRound(ctx, lameRound(id, at(2, m%60).Add(time.Duration(m/60)*time.Hour)), FindingUpdate{Status: StatusSuspect}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.RecordRound(ctx, lameRound(other, at(5, 0)), FindingUpdate{Status: StatusSuspect}); err != nil {
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
