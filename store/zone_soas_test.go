package store

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// An authoritative round records its SOA in the same transaction; a lame
// round's SOA never is; the latest per (zone, server) wins and the status
// of the server's finding comes with it.
func TestZoneSOAs(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	// 21-Nov-2026 01:00:00 lame-servers: info: lame server resolving 'www.rname.lab' (in 'rname.lab'?): 192.0.2.53#53
	mustCommit(t, db, firstBatch(fpNamed, 100, 1, zoned("rname.lab.", srvA, "bind", "lame_referral", 1, at(1, 0), at(1, 0))))
	id := findingID(t, db, "rname.lab.", "")
	// rname.lab. 300 IN SOA ns-good1.nic.lab. first\.last.rname.lab. 2025112201 1800 900 604800 300
	soa := SOA{MName: "ns-good1.nic.lab.", RName: `first\.last.rname.lab.`, Serial: 2025112201}
	auth := Round{FindingID: id, At: at(2, 0), Verdict: VerdictAuthoritative, Reason: "authoritative", Class: ClassAuthoritative, SOA: soa}
	if _, err := db.RecordRound(ctx, auth, FindingUpdate{Status: StatusOK, Reason: "authoritative"}); err != nil {
		t.Fatal(err)
	}
	lame := lameRound(id, at(3, 0))
	lame.SOA = SOA{MName: "a.root-servers.lab.", RName: "hostmaster.nic.lab.", Serial: 1} // a referral's authority: never recorded
	if _, err := db.RecordRound(ctx, lame, FindingUpdate{Status: StatusSuspect, Reason: "upward_referral"}); err != nil {
		t.Fatal(err)
	}
	other := ZoneSOA{SOA: SOA{MName: "ns-good1.nic.lab.", RName: "hostmaster.rname.lab.", Serial: 7}, Zone: "rname.lab.",
		Server: netip.MustParseAddr("192.0.2.54"), At: at(4, 0)}
	if err := db.RecordZoneSOA(ctx, other); err != nil {
		t.Fatal(err)
	}
	older := other
	older.RName, older.At = "old.rname.lab.", at(0, 0)
	if err := db.RecordZoneSOA(ctx, older); err != nil {
		t.Fatal(err)
	}
	got, err := db.ZoneSOAs(ctx, "rname.lab.")
	if err != nil {
		t.Fatal(err)
	}
	want := []ZoneSOA{
		other,
		{SOA: soa, Zone: "rname.lab.", Server: srvA, At: at(2, 0), ServerStatus: StatusSuspect},
	}
	if diff := cmp.Diff(want, got, cmpOpts...); diff != "" {
		t.Errorf("ZoneSOAs (-want +got):\n%s", diff)
	}
	if all, err := db.ZoneSOAs(ctx, ""); err != nil || len(all) != 2 {
		t.Errorf("ZoneSOAs of every zone = %v, %v", all, err)
	}
	for _, bad := range []ZoneSOA{{Zone: "rname.lab", Server: srvA, At: at(1, 0), SOA: soa}, {Zone: "rname.lab.", At: at(1, 0), SOA: soa},
		{Zone: "rname.lab.", Server: srvA, SOA: soa}, {Zone: "rname.lab.", Server: srvA, At: at(1, 0)}} {
		if err := db.RecordZoneSOA(ctx, bad); err == nil || !strings.HasPrefix(err.Error(), "store: record soa") {
			t.Errorf("RecordZoneSOA(%+v) = %v, want an error", bad, err)
		}
	}
}
