package digest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lamers-dev/lamers/store"
)

// The period of the tests' digests: 14 days to 2026-11-22 03:00 UTC.
var (
	testSince = time.Date(2026, 11, 8, 3, 0, 0, 0, time.UTC)
	testUntil = time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
)

// fakeStore answers the digest's reads with fixed rows, as the store
// would give them, and records the periods and limits asked for.
type fakeStore struct {
	totals   store.DigestTotals
	lists    map[store.DigestList][]store.DigestFinding
	worst    []store.WorstServer
	servers  int64
	messages store.DigestMessages
	bounces  []store.BounceCount
	err      error // returned by every read

	asked   []string // "list 1 limit 20", "worst limit 10"
	periods map[string]bool
}

// period records the period of a read.
func (f *fakeStore) period(since, until time.Time) {
	if f.periods == nil {
		f.periods = map[string]bool{}
	}
	f.periods[since.Format(time.RFC3339Nano)+" to "+until.Format(time.RFC3339Nano)] = true
}

func (f *fakeStore) DigestTotals(ctx context.Context, since, until time.Time) (store.DigestTotals, error) {
	f.period(since, until)
	return f.totals, f.err
}

func (f *fakeStore) DigestFindings(ctx context.Context, l store.DigestList, since, until time.Time, limit int) ([]store.DigestFinding, error) {
	f.asked = append(f.asked, fmt.Sprintf("list %d limit %d", l, limit))
	f.period(since, until)
	fs := f.lists[l]
	return fs[:min(limit, len(fs))], f.err
}

func (f *fakeStore) WorstServers(ctx context.Context, since, until time.Time, limit int) ([]store.WorstServer, int64, error) {
	f.asked = append(f.asked, fmt.Sprintf("worst limit %d", limit))
	f.period(since, until)
	return f.worst[:min(limit, len(f.worst))], f.servers, f.err
}

func (f *fakeStore) DigestMessages(ctx context.Context, since, until time.Time) (store.DigestMessages, error) {
	f.period(since, until)
	return f.messages, f.err
}

func (f *fakeStore) BounceCounts(ctx context.Context, since, until time.Time) ([]store.BounceCount, error) {
	f.period(since, until)
	return f.bounces, f.err
}

var _ Store = (*fakeStore)(nil)

// day is 03:00 UTC on a day of November 2026 (October for d < 1).
func day(d int) time.Time { return time.Date(2026, 11, d, 3, 0, 0, 0, time.UTC) }

// fullStore is a resolver operator's fortnight: one decommissioned server
// (192.0.2.1, named by five NS names of an old hoster) still listed in 412
// delegations, a few lame servers elsewhere, mail sent and bounced. Names
// hold what the DNS allows and a template must escape: an escaped dot,
// HTML, a \DDD escape, and one raw control byte that a store written by
// an older lamers might hold.
func fullStore() *fakeStore {
	old := netip.MustParseAddr("192.0.2.1")
	v6 := netip.MustParseAddr("2001:db8::53")
	other := netip.MustParseAddr("198.51.100.7")
	oldNames := []string{"ns1.old-hoster.example.", "ns2.old-hoster.example."}
	f := func(zone string, server netip.Addr, port uint16, names []string, status store.Status, reason string, confirmed, at time.Time, events int64) store.DigestFinding {
		return store.DigestFinding{Zone: zone, Server: server, Port: port, ServerNames: names, Status: status, Reason: reason,
			ConfirmedAt: confirmed, StatusAt: at, Events: events}
	}
	return &fakeStore{
		totals: store.DigestTotals{Findings: 48213, New: 1180, Lame: 731, Unresponsive: 42, Inconclusive: 17, Confirmed: 96,
			StillLame: 677, Fixed: 23, Stale: 9, NeedsHuman: 31, Events: 2345678},
		lists: map[store.DigestList][]store.DigestFinding{
			store.ListConfirmed: {
				f("shop.example.", old, 53, oldNames, store.StatusLame, "refused", day(9), day(9), 1520),
				f(`we\.ird<b>.example.`, v6, 53, []string{"ns.hoster.example."}, store.StatusLame, "upward_referral", day(12), day(12), 7),
				f("b\\195\\188cher.example.", other, 5353, nil, store.StatusUnresponsive, "unresponsive", day(20), day(20), 0),
			},
			store.ListStillLame: {
				f("legacy.example.", old, 53, oldNames, store.StatusLame, "refused", day(-20), day(-20), 88),
				f("esc\x1b[31m.example.", old, 53, oldNames, store.StatusLame, "refused", day(-19), day(-19), 3),
			},
			store.ListFixed: {
				f("fixed.example.", v6, 53, []string{"ns.hoster.example."}, store.StatusFixed, "authoritative", time.Time{}, day(15), 12),
			},
			store.ListStale:      {f("moved.example.", other, 53, nil, store.StatusStale, "not_in_delegation", time.Time{}, day(16), 2)},
			store.ListNeedsHuman: {f("nobody.example.", old, 53, oldNames, store.StatusLame, "refused", day(-25), day(-25), 40)},
		},
		worst: []store.WorstServer{
			{Server: old, Zones: 412, Findings: 415, Events: 12345, Since: day(-30), Names: append(oldNames, "ns3.old-hoster.example.",
				"ns4.old-hoster.example.", "ns5.old-hoster.example."), MoreNames: 2},
			{Server: v6, Zones: 3, Findings: 3, Events: 61, Since: day(12), Names: []string{"ns.hoster.example."}},
			{Server: other, Zones: 1, Findings: 2, Events: 0, Since: day(20)},
		},
		servers: 57,
		messages: store.DigestMessages{States: map[store.OutboxState]int64{store.OutboxSent: 64, store.OutboxDeferred: 3,
			store.OutboxRejected: 2, store.OutboxUnknown: 1}, Recipients: 58, Findings: 140},
		bounces: []store.BounceCount{{Class: store.BounceUnknown, Total: 1}, {Class: store.BounceHard, Total: 4},
			{Class: store.BounceSoft, Total: 2}, {Class: store.BouncePolicy}, {Class: store.BounceDelay, Total: 5},
			{Class: store.BounceAutoReply, Total: 3}},
	}
}

// emptyStore is a database with nothing in it yet.
func emptyStore() *fakeStore {
	return &fakeStore{messages: store.DigestMessages{States: map[store.OutboxState]int64{}}}
}

func TestBuild(t *testing.T) {
	s := fullStore()
	r, err := Build(context.Background(), s, Options{Since: testSince.Add(time.Millisecond), Until: testUntil, ListLimit: 2, WorstLimit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Since.Equal(testSince) || r.Since.Location() != time.UTC {
		t.Errorf("Since %v, want %v (UTC, to the second)", r.Since, testSince)
	}
	want := Totals{Findings: 48213, New: 1180, Lame: 731, Unresponsive: 42, Inconclusive: 17, Confirmed: 96, StillLame: 677,
		Fixed: 23, Stale: 9, Notified: 64, Bounced: 6, NeedsHuman: 31, Events: 2345678}
	if diff := cmp.Diff(want, r.Totals); diff != "" {
		t.Errorf("totals (-want +got):\n%s", diff)
	}
	// The lists are cut at the limit and say how many more there are.
	for _, c := range []struct {
		name string
		l    List
		n    int
		more int64
	}{
		{"new", r.NewLame, 2, 94}, {"still", r.StillLame, 2, 675}, {"fixed", r.Fixed, 1, 22}, {"stale", r.Stale, 1, 8},
		{"human", r.NeedsHuman, 1, 30},
	} {
		if len(c.l.Findings) != c.n || c.l.More != c.more {
			t.Errorf("%s: %d findings and %d more, want %d and %d", c.name, len(c.l.Findings), c.l.More, c.n, c.more)
		}
	}
	if len(r.Worst.Servers) != 2 || r.Worst.More != 55 || r.Worst.Servers[0].Server != "192.0.2.1" || r.Worst.Servers[0].Zones != 412 {
		t.Errorf("worst %+v", r.Worst)
	}
	if got := strings.Join(s.asked, ", "); got != "worst limit 2, list 1 limit 2, list 2 limit 2, list 3 limit 2, list 4 limit 2, list 5 limit 2" {
		t.Errorf("reads %s", got)
	}
	// Bounces: the failures, then the rest of what came back; empty
	// classes left out.
	if diff := cmp.Diff([]ClassCount{{"hard", 4}, {"soft", 2}}, r.Bounces); diff != "" {
		t.Errorf("bounces (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]ClassCount{{"unknown", 1}, {"delay", 5}, {"autoreply", 3}}, r.Returned); diff != "" || r.ReturnedTotal() != 9 {
		t.Errorf("returned (-want +got), total %d:\n%s", r.ReturnedTotal(), diff)
	}
	// A raw control byte becomes a \DDD escape; presentation forms stay.
	if z := r.StillLame.Findings[1].Zone; z != `esc\027[31m.example.` {
		t.Errorf("zone with ESC: %q", z)
	}
	if z := r.NewLame.Findings[1].Zone; z != `we\.ird<b>.example.` {
		t.Errorf("escaped zone: %q", z)
	}
}

// The period is read as it is recorded, to the second: a digest built at
// 03:00:00.7 ends at 03:00:00 for its reads too, where the next one
// starts, so that no event of the 0.7 s is counted twice.
func TestBuildReadsThePeriodRecorded(t *testing.T) {
	s := fullStore()
	r, err := Build(context.Background(), s, Options{Since: testSince.Add(1500 * time.Millisecond), Until: testUntil.Add(700 * time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"2026-11-08T03:00:01Z to 2026-11-22T03:00:00Z": true}
	if diff := cmp.Diff(want, s.periods); diff != "" || !r.Until.Equal(testUntil) {
		t.Errorf("periods read (-want +got), until %v:\n%s", r.Until, diff)
	}
}

func TestBuildErrors(t *testing.T) {
	s := fullStore()
	for name, o := range map[string]Options{
		"no start":         {Until: testUntil},
		"end before start": {Since: testUntil, Until: testSince},
	} {
		if _, err := Build(context.Background(), s, o); err == nil || !strings.HasPrefix(err.Error(), "digest: period") {
			t.Errorf("%s: %v", name, err)
		}
	}
	s.err = errors.New("store: digest totals /var/lib/lamers/lamers.db: disk I/O error")
	if _, err := Build(context.Background(), s, Options{Since: testSince, Until: testUntil}); !errors.Is(err, s.err) {
		t.Errorf("a store error: %v", err)
	}
}

func TestSpan(t *testing.T) {
	for d, want := range map[time.Duration]string{
		336 * time.Hour: "14 days", 36 * time.Hour: "36 hours", 48 * time.Hour: "2 days", 90 * time.Minute: "90 minutes",
		20 * time.Second: "20 seconds", time.Second: "1 second", 0: "0 seconds",
	} {
		r := Report{Since: testSince, Until: testSince.Add(d)}
		if got := r.Span(); got != want {
			t.Errorf("Span of %v = %q, want %q", d, got, want)
		}
	}
}
