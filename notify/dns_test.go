package notify

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"

	"github.com/lamers-dev/lamers/resolver"
	"github.com/lamers-dev/lamers/resolver/resolvertest"
)

// A private tree on 127.66.0.0/16 for the chain with lamers' own resolver:
// one authoritative server (ns-good), one that refuses everything
// (ns-refuser, the lame server of every finding).
const (
	dnsRoot = `
.                   3600 IN SOA a.root.test. hostmaster.nic.test. 1 1800 900 604800 300
.                   3600 IN NS  a.root.test.
test.               3600 IN NS  ns.nic.test.
a.root.test.        3600 IN A   127.66.0.1
ns.nic.test.        3600 IN A   127.66.1.1
`
	dnsTest = `
test.                 3600 IN SOA ns.nic.test. hostmaster.nic.test. 1 1800 900 604800 300
test.                 3600 IN NS  ns.nic.test.
ns.nic.test.          3600 IN A   127.66.1.1
a.root.test.          3600 IN A   127.66.0.1
ns-good.nic.test.     3600 IN A   127.66.2.1
ns-refuser.nic.test.  3600 IN A   127.66.3.1
nic.test.             3600 IN MX  10 mx.nic.test.
mx.nic.test.          3600 IN A   192.0.2.53
rname.test.           3600 IN NS  ns-good.nic.test.
rname.test.           3600 IN NS  ns-refuser.nic.test.
nullmx.test.          3600 IN NS  ns-good.nic.test.
nullmx.test.          3600 IN NS  ns-refuser.nic.test.
alllame.test.         3600 IN NS  ns-refuser.nic.test.
`
	// The RNAME of RFC 1035 §8's example form, with an escaped dot.
	dnsRname = `
rname.test.       300 IN SOA ns-good.nic.test. j\.doe.rname.test. 2026112201 1800 900 604800 300
rname.test.       300 IN NS  ns-good.nic.test.
rname.test.       300 IN NS  ns-refuser.nic.test.
rname.test.       300 IN MX  10 mail.rname.test.
mail.rname.test.  300 IN A   192.0.2.25
`
	// RFC 7505's null MX: the zone accepts no mail.
	dnsNullMX = `
nullmx.test.  300 IN SOA ns-good.nic.test. hostmaster.nullmx.test. 2026112201 1800 900 604800 300
nullmx.test.  300 IN NS  ns-good.nic.test.
nullmx.test.  300 IN NS  ns-refuser.nic.test.
nullmx.test.  300 IN MX  0 .
`
)

func TestChainThroughResolver(t *testing.T) {
	handlers := map[netip.Addr]dns.Handler{
		netip.MustParseAddr("127.66.0.1"): mustAuth(t, dnsRoot),
		netip.MustParseAddr("127.66.1.1"): mustAuth(t, dnsTest),
		netip.MustParseAddr("127.66.2.1"): mustAuth(t, dnsRname, dnsNullMX),
		netip.MustParseAddr("127.66.3.1"): resolvertest.Reply{Rcode: dns.RcodeRefused},
	}
	n, err := resolvertest.Listen(handlers)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	r, err := resolver.New(resolver.Config{RootHints: []netip.Addr{netip.MustParseAddr("127.66.0.1")}, Port: n.Port, QPS: -1,
		Timeouts: []time.Duration{time.Second, time.Second}, TCPTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(context.Background()) })

	tn := newTestNotifier(t, nil)
	tn.Lookup = r
	names := []string{"ns-refuser.nic.test."}
	seed(t, tn.db,
		spec{zone: "rname.test.", server: "127.66.3.1", names: names, confirmed: 3 * day},
		spec{zone: "alllame.test.", server: "127.66.3.1", names: names, confirmed: 2 * day},
		spec{zone: "nullmx.test.", server: "127.66.3.1", names: names, confirmed: 1 * day})
	rep := tn.run(t, Options{Send: true})
	want := []string{
		"j.doe@rname.test (rname) [rname.test.] sent",
		"postmaster@nic.test (postmaster) [alllame.test. nullmx.test.] sent",
	}
	if diff := cmp.Diff(want, summary(rep)); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
	marks, err := tn.db.ContactMarks(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range marks {
		got = append(got, m.Mark.String()+" "+m.Address)
	}
	wantMarks := []string{"undeliverable hostmaster@alllame.test", "undeliverable hostmaster@nullmx.test"}
	if diff := cmp.Diff(wantMarks, got); diff != "" {
		t.Errorf("marks (-want +got):\n%s", diff)
	}
	// The SOA the zone's good server gave is kept for the next runs.
	soas, err := tn.db.ZoneSOAs(context.Background(), "rname.test.")
	if err != nil || len(soas) != 1 || soas[0].RName != `j\.doe.rname.test.` || soas[0].Server != netip.MustParseAddr("127.66.2.1") {
		t.Errorf("recorded SOAs %+v, %v", soas, err)
	}
}

func mustAuth(t *testing.T, zones ...string) dns.Handler {
	t.Helper()
	h, err := resolvertest.AuthHandler(zones...)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
