package verify

import (
	"context"
	"fmt"
	"net"
	"testing"

	"github.com/lamers-dev/lamers/store"
	"github.com/lamers-dev/lamers/store/storetest"
)

// loopbackIndex is the interface index of the host's loopback interface,
// the scope BIND would print for an IPv6 server reached over it.
func loopbackIndex(t *testing.T) int {
	t.Helper()
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback != 0 {
			return i.Index
		}
	}
	t.Fatal("no loopback interface")
	return 0
}

// A server logged with its IPv6 scope (BIND's isc_sockaddr_format:
// "::1%1#53") keeps it through scan, store and verify: the delegation,
// which lists the address without scope, is matched without it, and the
// probe goes to the scoped address, whose round keeps the scope too.
func TestVerifyScopedServer(t *testing.T) {
	cfg := newVerifyLab(t)
	ctx := context.Background()
	db := storetest.Open(t)
	scoped := fmt.Sprintf("::1%%%d", loopbackIndex(t))
	// The lab's bind9.log line for v6.lab., with the scope BIND writes
	// for a server it reached through an interface index.
	scanLines(t, db, `22-Nov-2026 02:01:51.260 lame-servers: info: lame server resolving 'www.v6.lab' (in 'v6.lab'?): `+scoped+"#53")
	cfg.SkipEDNSCheck = true
	v := &Verifier{Resolver: newResolver(t, cfg), Store: db, Concurrency: 1, MaxRounds: 10, Policy: DefaultPolicy()}
	if vs, err := v.Run(ctx, Options{}); err != nil || vs.Probed != 1 {
		t.Fatalf("verify: %+v, %v; want one probe", vs, err)
	}
	fs, err := db.Findings(ctx, store.Filter{})
	if err != nil || len(fs) != 1 {
		t.Fatalf("findings %+v, %v; want one", fs, err)
	}
	f := fs[0]
	if f.Zone != "v6.lab." || f.Server.String() != scoped || f.Status != store.StatusSuspect || f.Reason != "upward_referral" {
		t.Errorf("finding %s %s: %s %s; want v6.lab. %s suspect upward_referral", f.Zone, f.Server, f.Status, f.Reason, scoped)
	}
	rs, err := db.Rounds(ctx, f.ID, 0)
	if err != nil || len(rs) != 1 || rs[0].Server.String() != scoped {
		t.Errorf("rounds %+v, %v; want one, of %s", rs, err, scoped)
	}
}
