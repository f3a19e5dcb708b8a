package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSetStatus(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	mustCommit(t, db, firstBatch(fpNamed, 100, 1, zoned("example.com.", srvA, "bind", "lame_referral", 1, at(1, 0), at(1, 0))))
	id := findingID(t, db, "example.com.", "")
	if _, err := db.RecordRound(ctx, lameRound(id, at(2, 0)), FindingUpdate{Status: StatusSuspect, Reason: "upward_referral",
		ServerNames: []string{"ns1.example.com."}}); err != nil {
		t.Fatal(err)
	}
	// The zone's delegation no longer lists 192.0.2.53.
	if err := db.SetStatus(ctx, id, at(3, 0), FindingUpdate{Status: StatusStale, Reason: "not_in_delegation"}); err != nil {
		t.Fatal(err)
	}
	fd, err := db.Finding(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if fd.Status != StatusStale || fd.Reason != "not_in_delegation" || len(fd.ServerNames) != 0 || fd.Rounds != 1 || !fd.LastProbed.Equal(at(3, 0)) {
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
		{"unknown finding", 99, at(4, 0), FindingUpdate{Status: StatusStale}, "not found"},
		{"unknown status", id, at(4, 0), FindingUpdate{}, `unknown status Status(0)`},
		{"no time", id, time.Time{}, FindingUpdate{Status: StatusStale}, "no time"},
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
	if _, err := db.RecordRound(ctx, lameRound(id("a.example. 192.0.2.53"), at(3, 0)), FindingUpdate{Status: StatusSuspect}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RecordRound(ctx, Round{FindingID: id("b.example. 192.0.2.53"), At: at(2, 0), Verdict: VerdictAuthoritative,
		Reason: "authoritative", Class: ClassAuthoritative}, FindingUpdate{Status: StatusOK, Reason: "authoritative"}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetStatus(ctx, id("other.lab. 2001:db8::53"), at(4, 0), FindingUpdate{Status: StatusStale, Reason: "unattributable"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		f    Filter
		want []string
	}{
		{"all: never probed by ID, then oldest probe first", Filter{}, []string{
			"c.example. 192.0.2.53", "c.example. 2001:db8::53", "refused.lab. 192.0.2.53",
			"b.example. 192.0.2.53", "a.example. 192.0.2.53", "other.lab. 2001:db8::53"}},
		{"zone", Filter{Zone: "c.example."}, []string{"c.example. 192.0.2.53", "c.example. 2001:db8::53"}},
		{"statuses", Filter{Statuses: []Status{StatusSuspect, StatusNew}}, []string{
			"c.example. 192.0.2.53", "c.example. 2001:db8::53", "refused.lab. 192.0.2.53", "a.example. 192.0.2.53"}},
		{"probed before", Filter{ProbedBefore: at(3, 0)}, []string{
			"c.example. 192.0.2.53", "c.example. 2001:db8::53", "refused.lab. 192.0.2.53", "b.example. 192.0.2.53"}},
		{"zone-less", Filter{Zoning: ZoneLess}, []string{"refused.lab. 192.0.2.53", "other.lab. 2001:db8::53"}},
		{"zoned", Filter{Zoning: Zoned}, []string{
			"c.example. 192.0.2.53", "c.example. 2001:db8::53", "b.example. 192.0.2.53", "a.example. 192.0.2.53"}},
		{"limit", Filter{Limit: 2}, []string{"c.example. 192.0.2.53", "c.example. 2001:db8::53"}},
		{"unattributable ones to retry", Filter{Zoning: ZoneLess, Statuses: []Status{StatusStale}, ProbedBefore: at(5, 0)},
			[]string{"other.lab. 2001:db8::53"}},
		{"all together", Filter{Zoning: Zoned, Statuses: []Status{StatusNew, StatusOK}, ProbedBefore: at(4, 0), Limit: 2},
			[]string{"c.example. 192.0.2.53", "c.example. 2001:db8::53"}},
		{"nothing", Filter{Zone: "c.example.", Zoning: ZoneLess}, nil},
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

func TestFindingsFilter(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	mustCommit(t, db, firstBatch(fpNamed, 100, 4,
		zoned("b.example.", srvB, "bind", "lame_referral", 1, at(1, 0), at(1, 0)),
		zoned("b.example.", srvA, "bind", "lame_referral", 1, at(5, 0), at(5, 0)),
		zoned("a.example.", srvA, "unbound", "lame_referral", 1, at(3, 0), at(3, 0)),
		zoneless("x.lab.", "", srvA, "refused", 1, at(2, 0), at(2, 0)),
	))
	if _, err := db.db.ExecContext(ctx, "UPDATE findings SET status = 'lame' WHERE zone = 'a.example.'"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		f    Filter
		want []string
	}{
		{"all, ordered by zone, server, port, bucket", Filter{},
			[]string{" 192.0.2.53 x.lab.", "a.example. 192.0.2.53 ", "b.example. 192.0.2.53 ", "b.example. 2001:db8::53 "}},
		{"zone", Filter{Zone: "b.example."}, []string{"b.example. 192.0.2.53 ", "b.example. 2001:db8::53 "}},
		{"status", Filter{Statuses: []Status{StatusLame}}, []string{"a.example. 192.0.2.53 "}},
		{"statuses", Filter{Statuses: []Status{StatusLame, StatusOK}}, []string{"a.example. 192.0.2.53 "}},
		{"no finding with the status", Filter{Statuses: []Status{StatusOK}}, nil},
		{"zoned", Filter{Zoning: Zoned, Server: srvA}, []string{"a.example. 192.0.2.53 ", "b.example. 192.0.2.53 "}},
		{"zone-less", Filter{Zoning: ZoneLess}, []string{" 192.0.2.53 x.lab."}},
		{"limit after the order", Filter{Limit: 2}, []string{" 192.0.2.53 x.lab.", "a.example. 192.0.2.53 "}},
		{"since compares last seen", Filter{Since: at(3, 0)}, []string{"a.example. 192.0.2.53 ", "b.example. 192.0.2.53 "}},
		{"server", Filter{Server: srvB}, []string{"b.example. 2001:db8::53 "}},
		{"all together", Filter{Zone: "b.example.", Server: srvA, Since: at(4, 0), Statuses: []Status{StatusNew}}, []string{"b.example. 192.0.2.53 "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, err := db.Findings(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range fs {
				got = append(got, f.Zone+" "+f.Server.String()+" "+f.Bucket)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Findings (-want +got):\n%s", diff)
			}
		})
	}
}

// EachFinding walks the findings Findings would return, and stops at the
// first error of its function.
func TestEachFinding(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	twoLameFindings(t, db)
	mustCommit(t, db, firstBatch(fpOther, 100, 1, zoned("example.net.", srvB, "unbound", "rec_lame", 1, at(1, 0), at(1, 0))))
	f := Filter{Zoning: Zoned, Statuses: []Status{StatusLame}}
	want, err := db.Findings(ctx, f)
	if err != nil || len(want) != 2 {
		t.Fatalf("Findings = %d, %v", len(want), err)
	}
	var got []Finding
	if err := db.EachFinding(ctx, f, func(fd *Finding) error { got = append(got, *fd); return nil }); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, func(x, y Finding) int { return strings.Compare(x.Zone, y.Zone) })
	if diff := cmp.Diff(want, got, cmpOpts...); diff != "" {
		t.Errorf("EachFinding (-Findings +EachFinding):\n%s", diff)
	}
	stop := errors.New("enough")
	n := 0
	if err := db.EachFinding(ctx, Filter{}, func(fd *Finding) error { n++; return stop }); err != stop || n != 1 {
		t.Errorf("EachFinding with a failing function = %v after %d calls, want the error after 1", err, n)
	}
}
