package store

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The digest's period in these tests: the 14 days before testNow.
var (
	digestSince = testNow.Add(-14 * 24 * time.Hour) // 2026-11-08 03:00 UTC
	digestUntil = testNow                           // 2026-11-22 03:00 UTC
)

// at3 returns 03:00 UTC of a day written 2006-01-02.
func at3(s string) time.Time { return utcDay(s).Add(3 * time.Hour) }

var (
	srvOld = netip.MustParseAddr("192.0.2.1") // a decommissioned server
	srvY   = netip.MustParseAddr("2001:db8::53")
	srvZ   = netip.MustParseAddr("198.51.100.7")
)

// digestFixture is a database whose findings have a story in and around
// the period, as verify, notify and bounce would have left them.
type digestFixture struct {
	db  *DB
	ids map[string]int64 // by "zone server#port"
}

func (f *digestFixture) id(t *testing.T, key string) int64 {
	t.Helper()
	id, ok := f.ids[key]
	if !ok {
		t.Fatalf("no finding %s", key)
	}
	return id
}

// newDigestFixture stores, as a BIND log would give them:
//
//	old.example.   192.0.2.1      seen 10-01 (5) and 11-10 (3); lame since 10-02
//	new1.example.  192.0.2.1      seen 11-09 (2); lame 11-10
//	new1.example.  192.0.2.1#5353 seen 11-09 (1); lame 11-11
//	new2.example.  192.0.2.1      seen 11-09 (4); unresponsive 11-12, needs a human
//	fixed.example. 2001:db8::53   seen 10-01 (1), 11-14 (6); lame 10-05, fixed 11-15
//	oldfix.example. 2001:db8::53  seen 10-01 (1); lame 10-02, fixed 10-20
//	stale.example. 2001:db8::53   seen 11-01 (2); stale 11-16
//	y.example.     2001:db8::53   seen 11-20 (1); lame 11-21
//	inc.example.   198.51.100.7   seen 11-02 (1); inconclusive 11-03
//	(no zone)      198.51.100.7   seen 11-21 (7); never probed
//
// and the messages and bounces of notify and bounce (see digestMail).
func newDigestFixture(t *testing.T) *digestFixture {
	t.Helper()
	ctx := context.Background()
	db := openTest(t)
	type seen struct {
		zone   string
		server netip.Addr
		port   uint16
		days   map[string]int64
	}
	all := []seen{
		{"old.example.", srvOld, 53, map[string]int64{"2026-10-01": 5, "2026-11-10": 3}},
		{"new1.example.", srvOld, 53, map[string]int64{"2026-11-09": 2}},
		{"new1.example.", srvOld, 5353, map[string]int64{"2026-11-09": 1}},
		{"new2.example.", srvOld, 53, map[string]int64{"2026-11-09": 4}},
		{"fixed.example.", srvY, 53, map[string]int64{"2026-10-01": 1, "2026-11-14": 6}},
		{"oldfix.example.", srvY, 53, map[string]int64{"2026-10-01": 1}},
		{"stale.example.", srvY, 53, map[string]int64{"2026-11-01": 2}},
		{"y.example.", srvY, 53, map[string]int64{"2026-11-20": 1}},
		{"inc.example.", srvZ, 53, map[string]int64{"2026-11-02": 1}},
	}
	var counts []Count
	for _, s := range all {
		for d, n := range s.days {
			c := zoned(s.zone, s.server, "bind", "lame_referral", n, at3(d), at3(d))
			c.Port = s.port
			counts = append(counts, c)
		}
	}
	counts = append(counts, zoneless("b.test.", "x.b.test.", srvZ, "refused", 7, at3("2026-11-21"), at3("2026-11-21")))
	mustCommit(t, db, firstBatch(fpNamed, 100, 20, counts...))
	f := &digestFixture{db: db, ids: map[string]int64{}}
	fs, err := db.Findings(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range fs {
		f.ids[x.Zone+" "+netip.AddrPortFrom(x.Server, x.Port).String()] = x.ID
	}
	f.verdicts(t)
	f.mail(t)
	return f
}

// verdicts records the rounds and statuses of the story.
func (f *digestFixture) verdicts(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	lame := func(key, d string, status Status) {
		t.Helper()
		r := lameRound(f.id(t, key), at3(d))
		if status == StatusUnresponsive {
			r.Verdict, r.Reason, r.Class = VerdictLame, "unresponsive", ClassSoft
		}
		if _, err := f.db.RecordRound(ctx, r, FindingUpdate{Status: status, Reason: r.Reason, ServerNames: []string{"ns.old.example."}}); err != nil {
			t.Fatal(err)
		}
	}
	fixed := func(key, d string) {
		t.Helper()
		r := Round{FindingID: f.id(t, key), At: at3(d), Verdict: VerdictAuthoritative, Reason: "authoritative", Class: ClassAuthoritative}
		if _, err := f.db.RecordRound(ctx, r, FindingUpdate{Status: StatusFixed}); err != nil {
			t.Fatal(err)
		}
	}
	lame("old.example. 192.0.2.1:53", "2026-10-02", StatusLame)
	lame("old.example. 192.0.2.1:53", "2026-11-10", StatusLame) // still lame: confirmed_at stays 10-02
	lame("new1.example. 192.0.2.1:53", "2026-11-10", StatusLame)
	lame("new1.example. 192.0.2.1:5353", "2026-11-11", StatusLame)
	lame("new2.example. 192.0.2.1:53", "2026-11-12", StatusUnresponsive)
	lame("fixed.example. [2001:db8::53]:53", "2026-10-05", StatusLame)
	fixed("fixed.example. [2001:db8::53]:53", "2026-11-15")
	lame("oldfix.example. [2001:db8::53]:53", "2026-10-02", StatusLame)
	fixed("oldfix.example. [2001:db8::53]:53", "2026-10-20")
	lame("y.example. [2001:db8::53]:53", "2026-11-21", StatusLame)
	if err := f.db.SetStatus(ctx, f.id(t, "stale.example. [2001:db8::53]:53"), at3("2026-11-16"),
		FindingUpdate{Status: StatusStale, Reason: "not_in_delegation"}); err != nil {
		t.Fatal(err)
	}
	if err := f.db.SetStatus(ctx, f.id(t, "inc.example. 198.51.100.7:53"), at3("2026-11-03"),
		FindingUpdate{Status: StatusInconclusive, Reason: "intermittent_servfail"}); err != nil {
		t.Fatal(err)
	}
	if err := f.db.SetContacts(ctx, []ContactDecision{{FindingID: f.id(t, "new2.example. 192.0.2.1:53"), NeedsHuman: true}}); err != nil {
		t.Fatal(err)
	}
}

// mail records three messages — sent before the period, sent in it,
// rejected in it — and three bounces: a hard one before the period, a hard
// one and a delay notice in it.
func (f *digestFixture) mail(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	for _, m := range []struct {
		token, to, key, at string
		state              OutboxState
	}{
		{"aaaaaaaaaaaaaaaaaaaa", "hostmaster@old.example", "old.example. 192.0.2.1:53", "2026-10-03", OutboxSent},
		{"bbbbbbbbbbbbbbbbbbbb", "hostmaster@new1.example", "new1.example. 192.0.2.1:53", "2026-11-11", OutboxSent},
		{"cccccccccccccccccccc", "hostmaster@new2.example", "new2.example. 192.0.2.1:53", "2026-11-12", OutboxRejected},
	} {
		e := OutboxEntry{Token: m.token, Recipient: m.to, Source: SourceHostmaster, Subject: "Lame delegation",
			MessageID: "<lamers." + m.token + "@resolver.example.net>", State: OutboxPending, Transport: "smtp",
			CreatedAt: at3(m.at), FindingIDs: []int64{f.id(t, m.key)}}
		if _, err := f.db.AddOutbox(ctx, e); err != nil {
			t.Fatal(err)
		}
		if err := f.db.FinishOutbox(ctx, m.token, OutboxOutcome{State: m.state, Code: 250}, at3(m.at)); err != nil {
			t.Fatal(err)
		}
	}
	for i, b := range []struct {
		at    string
		class BounceClass
	}{{"2026-10-04", BounceHard}, {"2026-11-13", BounceHard}, {"2026-11-13", BounceDelay}} {
		if _, _, err := f.db.AddBounce(ctx, Bounce{ReceivedAt: at3(b.at), Source: BouncePipe,
			SHA256: string(rune('a'+i)) + "000000000000000000000000000000000000000000000000000000000000000",
			Size:   1, Raw: []byte("x"), Format: "rfc3464", Class: b.class}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDigestTotals(t *testing.T) {
	f := newDigestFixture(t)
	got, err := f.db.DigestTotals(context.Background(), digestSince, digestUntil)
	if err != nil {
		t.Fatal(err)
	}
	want := DigestTotals{
		Findings: 10,
		// new1 (two ports), new2, y and the zone-less one were first seen in
		// the period.
		New:  5,
		Lame: 4, Unresponsive: 1, Inconclusive: 1,
		// new1 twice, new2 and y confirmed in it; old before it.
		Confirmed: 4, StillLame: 1,
		// fixed.example. (oldfix was fixed before), stale.example.
		Fixed: 1, Stale: 1,
		NeedsHuman: 1,
		// The days 11-08 to 11-22: 3 + 2 + 1 + 4 + 6 + 1 + 7.
		Events: 24,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DigestTotals (-want +got):\n%s", diff)
	}
}

func TestDigestFindings(t *testing.T) {
	f := newDigestFixture(t)
	ctx := context.Background()
	type row struct {
		Key    string
		Status Status
		When   string // confirmed_at or status_at, as the list's order
		Events int64
	}
	tests := []struct {
		list  DigestList
		limit int
		want  []row
	}{
		{ListConfirmed, 10, []row{
			{"new1.example. 192.0.2.1:53", StatusLame, "2026-11-10", 2},
			{"new1.example. 192.0.2.1:5353", StatusLame, "2026-11-11", 1},
			{"new2.example. 192.0.2.1:53", StatusUnresponsive, "2026-11-12", 4},
			{"y.example. [2001:db8::53]:53", StatusLame, "2026-11-21", 1},
		}},
		{ListConfirmed, 2, []row{
			{"new1.example. 192.0.2.1:53", StatusLame, "2026-11-10", 2},
			{"new1.example. 192.0.2.1:5353", StatusLame, "2026-11-11", 1},
		}},
		{ListStillLame, 10, []row{{"old.example. 192.0.2.1:53", StatusLame, "2026-10-02", 3}}},
		{ListFixed, 10, []row{{"fixed.example. [2001:db8::53]:53", StatusFixed, "2026-11-15", 6}}},
		{ListStale, 10, []row{{"stale.example. [2001:db8::53]:53", StatusStale, "2026-11-16", 0}}},
		{ListNeedsHuman, 10, []row{{"new2.example. 192.0.2.1:53", StatusUnresponsive, "2026-11-12", 4}}},
		{ListNeedsHuman, 0, nil},
	}
	for _, tt := range tests {
		fs, err := f.db.DigestFindings(ctx, tt.list, digestSince, digestUntil, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		var got []row
		for _, x := range fs {
			when := x.ConfirmedAt
			if tt.list == ListFixed || tt.list == ListStale {
				when = x.StatusAt
			}
			got = append(got, row{x.Zone + " " + netip.AddrPortFrom(x.Server, x.Port).String(), x.Status,
				when.UTC().Format(time.DateOnly), x.Events})
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("list %d, limit %d (-want +got):\n%s", tt.list, tt.limit, diff)
		}
	}
	if _, err := f.db.DigestFindings(ctx, DigestList(99), digestSince, digestUntil, 1); err == nil {
		t.Error("an unknown list: no error")
	}
}

func TestWorstServers(t *testing.T) {
	f := newDigestFixture(t)
	ctx := context.Background()
	ws, total, err := f.db.WorstServers(ctx, digestSince, digestUntil, 10)
	if err != nil {
		t.Fatal(err)
	}
	// 192.0.2.1 is lame or unresponsive for three zones (new1 on two
	// ports), 2001:db8::53 for one (y; fixed and stale ones do not count).
	want := []WorstServer{
		{Server: srvOld, Zones: 3, Findings: 4, Events: 10, Since: at3("2026-10-02"), Names: []string{"ns.old.example."}},
		{Server: srvY, Zones: 1, Findings: 1, Events: 1, Since: at3("2026-11-21"), Names: []string{"ns.old.example."}},
	}
	if diff := cmp.Diff(want, ws, cmpOpts...); diff != "" || total != 2 {
		t.Errorf("WorstServers: total %d, want 2 (-want +got):\n%s", total, diff)
	}
	ws, total, err = f.db.WorstServers(ctx, digestSince, digestUntil, 1)
	if err != nil || len(ws) != 1 || ws[0].Server != srvOld || total != 2 {
		t.Errorf("WorstServers limit 1: %+v, total %d, %v", ws, total, err)
	}
}

// A server named by more NS names than MaxWorstNames gives the first ones
// and counts the others.
func TestWorstServerNames(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	var counts []Count
	for _, z := range []string{"a.example.", "b.example.", "c.example.", "d.example.", "e.example.", "f.example.", "g.example."} {
		counts = append(counts, zoned(z, srvOld, "bind", "lame_referral", 1, at3("2026-11-20"), at3("2026-11-20")))
	}
	mustCommit(t, db, firstBatch(fpNamed, 100, 7, counts...))
	fs, err := db.Findings(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range fs {
		u := FindingUpdate{Status: StatusLame, Reason: "refused", ServerNames: []string{"ns." + x.Zone, "ns.shared.example."}}
		if _, err := db.RecordRound(ctx, lameRound(x.ID, at3("2026-11-21")), u); err != nil {
			t.Fatal(err)
		}
	}
	ws, _, err := db.WorstServers(ctx, digestSince, digestUntil, 1)
	if err != nil || len(ws) != 1 {
		t.Fatalf("WorstServers: %+v, %v", ws, err)
	}
	want := []string{"ns.a.example.", "ns.b.example.", "ns.c.example.", "ns.d.example.", "ns.e.example."}
	if !cmp.Equal(ws[0].Names, want) || ws[0].MoreNames != 3 || ws[0].Zones != 7 {
		t.Errorf("names %v and %d more, %d zones; want %v and 3 more, 7 zones", ws[0].Names, ws[0].MoreNames, ws[0].Zones, want)
	}
}

func TestDigestMessages(t *testing.T) {
	f := newDigestFixture(t)
	ctx := context.Background()
	m, err := f.db.DigestMessages(ctx, digestSince, digestUntil)
	if err != nil {
		t.Fatal(err)
	}
	want := DigestMessages{States: map[OutboxState]int64{OutboxPending: 0, OutboxSent: 1, OutboxDeferred: 0,
		OutboxRejected: 1, OutboxUnknown: 0}, Recipients: 1, Findings: 1}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("DigestMessages (-want +got):\n%s", diff)
	}
	bs, err := f.db.BounceCounts(ctx, digestSince, digestUntil)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		want := map[BounceClass]int{BounceHard: 1, BounceDelay: 1}[b.Class]
		if b.Total != want {
			t.Errorf("bounces of class %v in the period: %d, want %d", b.Class, b.Total, want)
		}
	}
}

// status_at moves when the status changes and stays when a round confirms
// the same status again; DigestDays covers the days of the period's ends.
func TestStatusAt(t *testing.T) {
	f := newDigestFixture(t)
	ctx := context.Background()
	old := f.id(t, "old.example. 192.0.2.1:53")
	var at int64
	if err := f.db.db.QueryRowContext(ctx, "SELECT status_at FROM findings WHERE id = ?", old).Scan(&at); err != nil {
		t.Fatal(err)
	}
	if got := fromUnixNano(at); !got.Equal(at3("2026-10-02")) {
		t.Errorf("status_at after a second lame round = %v, want the first one's 2026-10-02", got)
	}
	var null bool
	if err := f.db.db.QueryRowContext(ctx, "SELECT status_at IS NULL FROM findings WHERE zone = ''").Scan(&null); err != nil || !null {
		t.Errorf("status_at of a finding never probed: null %v (%v), want null", null, err)
	}
	for _, c := range []struct {
		since, until time.Time
		first, last  string
	}{
		{digestSince, digestUntil, "2026-11-08", "2026-11-22"},
		{utcDay("2026-11-08"), utcDay("2026-11-22"), "2026-11-08", "2026-11-21"}, // until is exclusive
		{at3("2026-11-22"), at3("2026-11-22"), "2026-11-22", "2026-11-22"},       // an empty period
	} {
		first, last := DigestDays(c.since, c.until)
		if first.String() != c.first || last.String() != c.last {
			t.Errorf("DigestDays(%v, %v) = %s, %s; want %s, %s", c.since, c.until, first, last, c.first, c.last)
		}
	}
}

// TestMigrate0009StatusAt upgrades a database of schema 0008: status_at
// is estimated from what is on record.
func TestMigrate0009StatusAt(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/lamers.db"
	raw := openAtSchema(t, path, "0001_init.sql", "0002_verification.sql", "0003_lossy_candidates.sql", "0004_notify.sql",
		"0005_checkpoint_marks.sql", "0006_findings_server_key.sql", "0007_bounces.sql", "0008_run.sql").db
	for _, q := range []string{
		`INSERT INTO findings (id, zone, bucket, server, port, count, first_seen, last_seen, status, rounds, last_probed, confirmed_at)
			VALUES (1, 'a.example.', '', '192.0.2.1', 53, 1, 10, 10, 'lame', 2, 400, 300),
			       (2, 'b.example.', '', '192.0.2.1', 53, 1, 10, 10, 'fixed', 3, 900, NULL),
			       (3, 'c.example.', '', '192.0.2.1', 53, 1, 10, 10, 'stale', 1, 700, NULL),
			       (4, 'd.example.', '', '192.0.2.1', 53, 1, 10, 10, 'new', 0, NULL, NULL)`,
		`INSERT INTO rounds (finding_id, at, zone, server, port, verdict, reason, class)
			VALUES (2, 100, 'b.example.', '192.0.2.1', 53, 'lame', 'refused', 'hard'),
			       (2, 500, 'b.example.', '192.0.2.1', 53, 'authoritative', 'authoritative', 'authoritative'),
			       (2, 900, 'b.example.', '192.0.2.1', 53, 'authoritative', 'authoritative', 'authoritative')`,
	} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}
	db := openPath(t, path)
	got := dumpRows(t, db.db, "SELECT id, coalesce(status_at, 'null') FROM findings ORDER BY id")
	// lame: its confirmation; fixed: the first authoritative round after
	// its last lame one; stale: its last probe; new: none.
	want := [][]string{{"1", "300"}, {"2", "500"}, {"3", "700"}, {"4", "null"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("status_at after 0009 (-want +got):\n%s", diff)
	}
}

// A zone-less finding that verification probed and then attributed to its
// zone keeps its verdict and the time its status changed.
func TestStatusAtFollowsAttribution(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	mustCommit(t, db, firstBatch(fpNamed, 100, 1, zoneless("b.test.", "x.b.test.", srvZ, "refused", 2, at3("2026-11-20"), at3("2026-11-20"))))
	src := findingID(t, db, "", "b.test.")
	if _, err := db.RecordRound(ctx, lameRound(src, at3("2026-11-21")), FindingUpdate{Status: StatusLame, Reason: "upward_referral"}); err != nil {
		t.Fatal(err)
	}
	f, err := db.Attribute(ctx, src, "b.test.")
	if err != nil {
		t.Fatal(err)
	}
	var at int64
	if err := db.db.QueryRowContext(ctx, "SELECT status_at FROM findings WHERE id = ?", f.ID).Scan(&at); err != nil {
		t.Fatal(err)
	}
	if f.Status != StatusLame || !fromUnixNano(at).Equal(at3("2026-11-21")) {
		t.Errorf("attributed finding: status %v, status_at %v; want lame since 2026-11-21 03:00", f.Status, fromUnixNano(at))
	}
}
