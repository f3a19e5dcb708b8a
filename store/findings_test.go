package store

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
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

// TestDueFindingsOrder: evidence that is costly to forge (two resolver
// programs, many days, a long span, many events) counts as days of
// waiting, so it goes before findings seen once that arrived earlier; a
// round puts a finding back in the queue at the time of the round.
func TestDueFindingsOrder(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	d := func(days int, hh, mm int) time.Time { return at(hh, mm).AddDate(0, 0, days) }
	srv := func(i byte) netip.Addr { return netip.AddrFrom4([4]byte{192, 0, 2, i}) }
	lame := func(zone string, server netip.Addr, source string, n int64, t time.Time) Count {
		return zoned(zone, server, source, "lame_referral", n, t, t)
	}
	mustCommit(t, db, firstBatch(fpNamed, 100, 20,
		lame("notevil.lab.", srv(1), "bind", 1, d(0, 1, 0)), // once: weight 0
		lame("early.lab.", srv(2), "bind", 1, d(0, 0, 10)),  // once, earlier: weight 0
		lame("both.lab.", srv(3), "bind", 1, d(0, 2, 0)),    // BIND and Unbound: 8
		lame("both.lab.", srv(3), "unbound", 1, d(0, 2, 0)),
		lame("days.lab.", srv(4), "bind", 1, d(-2, 1, 0)), // 3 days (4), a span of 2 days (2): 6
		lame("days.lab.", srv(4), "bind", 1, d(-1, 1, 0)),
		lame("days.lab.", srv(4), "bind", 1, d(0, 1, 0)),
		lame("a.evil.lab.", srv(5), "bind", 1000, d(0, 3, 0)), // 1,000 events: 6
		lame("probed.lab.", srv(6), "bind", 1, d(0, 0, 0)),    // weight 0, probed at 03:00 the next day
		lame("heavy.lab.", srv(7), "bind", 1, d(0, 0, 0)),     // weight 8, probed at 02:00 the next day
		lame("heavy.lab.", srv(7), "unbound", 1, d(0, 0, 0)),
		zoneless("evil.lab.", "x.evil.lab.", srv(8), "refused", 1, d(0, 4, 0), d(0, 4, 0)),
		lame("evil.lab.", srv(9), "bind", 1, d(0, 5, 0)),
		zoneless(OverflowBucket, "y.other.lab.", srv(10), "refused", 1, d(0, 6, 0), d(0, 6, 0)),
	))
	names := map[int64]string{}
	fs, err := db.Findings(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		names[f.ID] = f.Zone + f.Bucket
	}
	if _, err := db.RecordRound(ctx, lameRound(findingID(t, db, "probed.lab.", ""), d(1, 3, 0)), FindingUpdate{Status: StatusSuspect}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RecordRound(ctx, lameRound(findingID(t, db, "heavy.lab.", ""), d(1, 2, 0)), FindingUpdate{Status: StatusSuspect}); err != nil {
		t.Fatal(err)
	}
	show := func(fs []Finding) []string {
		var out []string
		for _, f := range fs {
			out = append(out, fmt.Sprintf("%s %d", names[f.ID], f.Weight))
		}
		return out
	}
	all := []string{
		"days.lab. 6",    // 11-19 01:00 − 6 days
		"both.lab. 8",    // 11-21 02:00 − 8 days
		"heavy.lab. 8",   // probed 11-22 02:00 − 8 days
		"a.evil.lab. 6",  // 11-21 03:00 − 6 days
		"early.lab. 0",   // 11-21 00:10
		"notevil.lab. 0", // 11-21 01:00
		"evil.lab. 0",    // 11-21 04:00 (zone-less)
		"evil.lab. 0",    // 11-21 05:00
		"* 0",            // 11-21 06:00 (zone-less, the overflow bucket)
		"probed.lab. 0",  // probed 11-22 03:00
	}
	got, err := db.DueFindings(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(all, show(got)); diff != "" {
		t.Fatalf("DueFindings order (-want +got):\n%s", diff)
	}
	if n, err := db.CountFindings(ctx, Filter{Limit: 2}); err != nil || n != len(all) {
		t.Errorf("CountFindings = %d, %v; want %d (the limit does not count)", n, err, len(all))
	}
	// Page by page, each page after the last finding of the one before.
	var paged []Finding
	for f := (Filter{Limit: 4}); ; {
		page, err := db.DueFindings(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		paged = append(paged, page...)
		if len(page) < f.Limit {
			break
		}
		f.After = &page[len(page)-1]
	}
	if diff := cmp.Diff(all, show(paged)); diff != "" {
		t.Errorf("DueFindings in pages of 4 (-want +got):\n%s", diff)
	}
	// Leaving out one address and everything at or below evil.lab.
	// (zones, and the query names of zone-less findings), but not
	// notevil.lab.
	f := Filter{NotServers: []netip.Addr{srv(3)}, NotUnder: []string{"evil.lab."}}
	got, err = db.DueFindings(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"days.lab. 6", "heavy.lab. 8", "early.lab. 0", "notevil.lab. 0", "* 0", "probed.lab. 0"}
	if diff := cmp.Diff(want, show(got)); diff != "" {
		t.Errorf("DueFindings %+v (-want +got):\n%s", f, diff)
	}
	if n, err := db.CountFindings(ctx, f); err != nil || n != len(want) {
		t.Errorf("CountFindings(%+v) = %d, %v; want %d", f, n, err, len(want))
	}
	for _, tt := range []struct {
		f    Filter
		want []string
	}{
		{Filter{Under: "evil.lab."}, []string{"a.evil.lab. 6", "evil.lab. 0", "evil.lab. 0"}},
		{Filter{Under: "evil.lab.", Zoning: ZoneLess}, []string{"evil.lab. 0"}},
		{Filter{Zoning: ZoneLess}, []string{"evil.lab. 0", "* 0"}},
		{Filter{Zoning: Bucketed}, []string{"evil.lab. 0"}},
	} {
		got, err := db.DueFindings(ctx, tt.f)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, show(got)); diff != "" {
			t.Errorf("DueFindings %+v (-want +got):\n%s", tt.f, diff)
		}
	}
}
