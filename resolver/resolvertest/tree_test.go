package resolvertest_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/lamers-dev/lamers/resolver"
	"github.com/lamers-dev/lamers/resolver/resolvertest"
)

// newResolver returns a Resolver for tree with short timeouts and no rate
// limit, reading the tree's root hints file as --root-hints would.
func newResolver(tb testing.TB, tree *resolvertest.Tree) *resolver.Resolver {
	tb.Helper()
	f, err := os.Open(tree.RootHints)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	hints, err := resolver.ParseRootHints(f)
	if err != nil {
		tb.Fatal(err)
	}
	r, err := resolver.New(resolver.Config{
		RootHints: hints, Port: tree.Port, QPS: -1, SkipEDNSCheck: true,
		Timeouts: []time.Duration{50 * time.Millisecond, 50 * time.Millisecond}, TCPTimeout: time.Second,
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { r.Close(context.Background()) })
	return r
}

func start(tb testing.TB, cfg resolvertest.Config) *resolvertest.Tree {
	tb.Helper()
	tree, err := resolvertest.Start(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := tree.Close(); err != nil {
			tb.Error(err)
		}
	})
	return tree
}

// Every behaviour, probed the way lamers verify probes, and the delegation
// found by iterating from the tree's root hints.
func TestTree(t *testing.T) {
	tree := start(t, resolvertest.Config{
		Zones:     6,
		Servers:   []resolvertest.Behavior{resolvertest.Authoritative, resolvertest.Refused, resolvertest.UpwardReferral, resolvertest.Silent, resolvertest.Recursive},
		NSPerZone: 5,
		Net:       56,
	})
	r := newResolver(t, tree)
	ctx := context.Background()

	if len(tree.Zones) != 6 || tree.Zones[5].Name != "z005.test." {
		t.Fatalf("zones: %+v", tree.Zones)
	}
	d, err := r.Delegation(ctx, "z002.test.")
	if err != nil {
		t.Fatal(err)
	}
	var addrs []netip.Addr
	for _, ns := range d.NS {
		addrs = append(addrs, ns.Addrs...)
	}
	if d.Parent != "test." || !slices.Equal(addrs, tree.Zones[2].Servers) || !slices.Equal(d.ChildNS, []string{
		"ns0.nic.test.", "ns1.nic.test.", "ns2.nic.test.", "ns3.nic.test.", "ns4.nic.test.",
	}) {
		t.Errorf("delegation of z002.test.: %+v, want the servers %v", d, tree.Zones[2].Servers)
	}

	want := map[resolvertest.Behavior]string{
		resolvertest.Authoritative:  resolver.ReasonAuthoritative,
		resolvertest.Refused:        resolver.ReasonRefused,
		resolvertest.UpwardReferral: resolver.ReasonUpwardReferral,
		resolvertest.Silent:         resolver.ReasonUnresponsive,
		resolvertest.Recursive:      resolver.ReasonRecursiveNotAuthoritative,
	}
	before := tree.Stats()
	for _, s := range tree.Servers {
		p := r.Probe(ctx, "z002.test.", netip.AddrPortFrom(s.Addr, 0))
		if p.Reason != want[s.Behavior] {
			t.Errorf("probe %s (%v): %s, want %s", s.Addr, s.Behavior, p.Reason, want[s.Behavior])
		}
		got := tree.Stats()[s.Addr].Queries - before[s.Addr].Queries
		if got != int64(p.Packets) {
			t.Errorf("%s (%v) counted %d queries, the probe sent %d", s.Addr, s.Behavior, got, p.Packets)
		}
	}
	for a, st := range tree.Stats() {
		if st.PeakInFlight > 1 {
			t.Errorf("%s held %d queries at once", a, st.PeakInFlight)
		}
	}
	if p := r.Probe(ctx, "nowhere.test.", netip.AddrPortFrom(tree.Servers[0].Addr, 0)); p.Reason != resolver.ReasonRefused {
		t.Errorf("authoritative server asked for a zone it does not serve: %s, want refused", p.Reason)
	}
}

// Peak in-flight sees a client that sends two queries to one address at
// once.
func TestTreePeakInFlight(t *testing.T) {
	tree := start(t, resolvertest.Config{Latency: 30 * time.Millisecond, Net: 57})
	a := tree.Servers[0].Addr
	r1, r2 := newResolver(t, tree), newResolver(t, tree) // two resolvers: two locks
	done := make(chan struct{})
	go func() { r1.Probe(context.Background(), "z000.test.", netip.AddrPortFrom(a, 0)); close(done) }()
	r2.Probe(context.Background(), "z000.test.", netip.AddrPortFrom(a, 0))
	<-done
	if st := tree.Stats()[a]; st.Queries != 2 || st.PeakInFlight != 2 {
		t.Errorf("stats %+v, want 2 queries, peak 2", st)
	}
}

func ExampleStart() {
	tree, err := resolvertest.Start(resolvertest.Config{
		Zones:     2,
		Servers:   []resolvertest.Behavior{resolvertest.Authoritative, resolvertest.Refused},
		NSPerZone: 2,
		Net:       58,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer tree.Close()
	hints, _ := os.Open(tree.RootHints)
	roots, _ := resolver.ParseRootHints(hints)
	hints.Close()
	r, _ := resolver.New(resolver.Config{RootHints: roots, Port: tree.Port, QPS: -1})
	defer r.Close(context.Background())
	for _, s := range tree.Servers {
		p := r.Probe(context.Background(), "z001.test.", netip.AddrPortFrom(s.Addr, 0))
		fmt.Println(s.Name, s.Addr, p.Reason, tree.Stats()[s.Addr].Queries)
	}
	// Output:
	// ns0.nic.test. 127.58.1.1 authoritative 2
	// ns1.nic.test. 127.58.1.2 refused 2
}

// Records go into the zone their owner lies in; one outside every zone, or
// a string that is not one record, is refused.
func TestTreeRecords(t *testing.T) {
	for _, bad := range [][]string{
		{"elsewhere.example. 300 IN A 192.0.2.1"},
		{"test. 300 IN TXT \"the TLD is not a delegated zone\""},
		{"z000.test. 300 IN A 192.0.2.1\nz000.test. 300 IN A 192.0.2.2"},
		{"z000.test. 300 IN BOGUS 1"},
	} {
		if tree, err := resolvertest.Start(resolvertest.Config{Net: 56, Records: bad}); err == nil {
			tree.Close()
			t.Errorf("Start with records %q: no error", bad)
		}
	}
	tree := start(t, resolvertest.Config{Net: 56, Records: []string{"www.z000.test. 300 IN A 192.0.2.80"}})
	r := newResolver(t, tree)
	// The NS set of the zone is generated; the record is served next to it.
	d, err := r.Delegation(context.Background(), "z000.test.")
	if err != nil || len(d.ChildNS) != 1 {
		t.Fatalf("Delegation(z000.test.) = %+v, %v", d, err)
	}
	m, err := r.MailHosts(context.Background(), "www.z000.test.")
	if err != nil || !m.Implicit || len(m.Exchanges) != 1 || !slices.Equal(m.Exchanges[0].Addrs, []netip.Addr{netip.MustParseAddr("192.0.2.80")}) {
		t.Errorf("MailHosts(www.z000.test.) = %+v, %v; want the implicit MX at 192.0.2.80", m, err)
	}
}

// A Closed server has no socket: probes get ICMP port unreachable. A tree
// can be told its port.
func TestTreeClosedAndPort(t *testing.T) {
	tree := start(t, resolvertest.Config{
		Servers:   []resolvertest.Behavior{resolvertest.Authoritative, resolvertest.Closed},
		NSPerZone: 2,
		Net:       59,
	})
	r := newResolver(t, tree)
	for _, s := range tree.Servers {
		want := map[resolvertest.Behavior]string{
			resolvertest.Authoritative: resolver.ReasonAuthoritative,
			resolvertest.Closed:        resolver.ReasonNoDNSService,
		}[s.Behavior]
		if p := r.Probe(context.Background(), "z000.test.", netip.AddrPortFrom(s.Addr, 0)); p.Reason != want {
			t.Errorf("probe %s (%v): %s, want %s", s.Addr, s.Behavior, p.Reason, want)
		}
	}
	// The same port on other addresses, then on the same ones.
	other := start(t, resolvertest.Config{Net: 60, Port: tree.Port})
	if other.Port != tree.Port {
		t.Errorf("tree on port %d, asked for %d", other.Port, tree.Port)
	}
	if again, err := resolvertest.Start(resolvertest.Config{Net: 59, Port: tree.Port}); err == nil {
		again.Close()
		t.Errorf("a second tree on 127.59.x.y port %d: no error", tree.Port)
	}
}
