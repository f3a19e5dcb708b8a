package store

import (
	"context"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A link-local server keeps its IPv6 scope through the store: BIND 9
// writes the address it queried as isc_sockaddr_format does
// (fe80::1%2#53), and without the scope the address names no host to
// probe. The scope is part of the finding's identity, as written: the
// same address on another interface is another host, and lamers does not
// map interface names to indexes (the log may come from another host).
func TestScopedServer(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	scoped := netip.MustParseAddr("fe80::1%2")
	named := netip.MustParseAddr("fe80::1%eth0")
	bare := netip.MustParseAddr("fe80::1") // Unbound prints no scope (inet_ntop)
	mustCommit(t, db, firstBatch(fpNamed, 100, 4,
		zoned("scope.example.", scoped, "bind", "lame_referral", 2, at(1, 0), at(1, 5)),
		zoned("scope.example.", named, "bind", "lame_referral", 1, at(2, 0), at(2, 0)),
		zoned("scope.example.", bare, "unbound", "lame_referral", 1, at(3, 0), at(3, 0)),
		zoneless("refused.scope.example.", "www.refused.scope.example.", scoped, "refused", 1, at(4, 0), at(4, 0)),
		zoned("scope.example.", scoped, "bind", "lame_referral", 1, at(5, 0), at(5, 0)),
	))
	fs, err := db.Findings(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fs {
		got = append(got, f.Zone+" "+f.Bucket+" "+f.Server.String()+" "+f.Sources[0]+" "+f.FirstSeen.Format("15:04"))
	}
	want := []string{
		" refused.scope.example. fe80::1%2 bind 04:00",
		"scope.example.  fe80::1 unbound 03:00",
		"scope.example.  fe80::1%2 bind 01:00",
		"scope.example.  fe80::1%eth0 bind 02:00",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("findings (-want +got):\n%s", diff)
	}
	if fs[2].Count != 3 {
		t.Errorf("fe80::1%%2: count %d, want 3", fs[2].Count)
	}

	// A filter on a scoped address selects that scope only.
	for _, tt := range []struct {
		f    Filter
		want int
	}{
		{Filter{Server: scoped}, 2},
		{Filter{Server: bare}, 1},
		{Filter{NotServers: []netip.Addr{scoped, bare}}, 1},
	} {
		if n, err := db.CountFindings(ctx, tt.f); err != nil || n != tt.want {
			t.Errorf("CountFindings(%+v) = %d, %v; want %d", tt.f, n, err, tt.want)
		}
	}

	// Rounds and SOAs keep the scope of the finding's server.
	r, err := db.RecordRound(ctx, Round{FindingID: fs[2].ID, At: testNow, Verdict: VerdictAuthoritative,
		Reason: "authoritative", Class: ClassAuthoritative, SOA: SOA{MName: "ns.scope.example.", RName: "h.scope.example.", Serial: 1}},
		FindingUpdate{Status: StatusOK, Reason: "authoritative"})
	if err != nil || r.Server != scoped {
		t.Fatalf("RecordRound: server %v, %v; want %v", r.Server, err, scoped)
	}
	rs, err := db.Rounds(ctx, fs[2].ID, 0)
	if err != nil || len(rs) != 1 || rs[0].Server != scoped {
		t.Errorf("Rounds: %+v, %v; want one round of %v", rs, err, scoped)
	}
	soas, err := db.ZoneSOAs(ctx, "scope.example.")
	if err != nil || len(soas) != 1 || soas[0].Server != scoped || soas[0].ServerStatus != StatusOK {
		t.Errorf("ZoneSOAs: %+v, %v; want the SOA of %v, whose finding is ok", soas, err, scoped)
	}
}
