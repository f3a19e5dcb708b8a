package resolver_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lamers-dev/lamers/resolver"
	"github.com/lamers-dev/lamers/resolver/resolvertest"
)

// contactTree is a tree for what notify asks: four zones, each on two of
// four servers. z000 and z002 are served by ns0 (REFUSED) and ns2
// (authoritative); every server of z001 and z003 is lame: ns1 gives an
// upward referral, ns3 answers from its data like a recursive resolver
// (RA=1, AA=0). The records are the mail set-ups of RFC 5321 §5.1 and RFC
// 7505.
var contactTree = resolvertest.Config{
	Net:       61,
	Zones:     4,
	Servers:   []resolvertest.Behavior{resolvertest.Refused, resolvertest.UpwardReferral, resolvertest.Authoritative, resolvertest.Recursive},
	NSPerZone: 2,
	Records: []string{
		// An MX with its address in the zone.
		"z000.test. 300 IN MX 10 mail.z000.test.",
		"mail.z000.test. 300 IN A 192.0.2.25",
		"mail.z000.test. 300 IN AAAA 2001:db8::25",
		// MX records pointing into another zone, one of them into a zone
		// whose every server is lame; a name given twice counts once.
		"z002.test. 300 IN MX 10 mx.z000.test.",
		"z002.test. 300 IN MX 20 mx.z001.test.",
		"z002.test. 300 IN MX 30 mx.z000.test.",
		"mx.z000.test. 300 IN A 192.0.2.26",
		"mx.z001.test. 300 IN A 192.0.2.29",
		// No MX, an address: the implicit MX; and a CNAME to it.
		"www.z000.test. 300 IN A 192.0.2.27",
		"alias.z000.test. 300 IN CNAME www.z000.test.",
		// The null MX of RFC 7505.
		"null.z000.test. 300 IN MX 0 .",
		// Exchanges with addresses no mail can reach.
		"loop.z000.test. 300 IN MX 10 mx-loop.z000.test.",
		"mx-loop.z000.test. 300 IN A 127.0.0.1",
		"mx-loop.z000.test. 300 IN AAAA ::1",
		"odd.z000.test. 300 IN MX 10 mx-odd.z000.test.",
		"mx-odd.z000.test. 300 IN A 0.0.0.0",
		"mx-odd.z000.test. 300 IN A 224.0.0.251",
		"mx-odd.z000.test. 300 IN A 192.0.2.28",
		"mx-odd.z000.test. 300 IN AAAA fe80::1",
		"mx-odd.z000.test. 300 IN AAAA ff02::1",
		// An exchange that does not exist.
		"gone.z000.test. 300 IN MX 10 nx.z000.test.",
		// Data a lame server would give if it were believed.
		"z001.test. 300 IN MX 10 mail.z001.test.",
		"mail.z003.test. 300 IN A 192.0.2.31",
		"z003.test. 300 IN MX 10 mail.z003.test.",
	},
}

// startTree starts cfg and returns it with a Resolver for it: short
// timeouts, no rate limit.
func startTree(t testing.TB, cfg resolvertest.Config) (*resolvertest.Tree, *resolver.Resolver) {
	t.Helper()
	tree, err := resolvertest.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := tree.Close(); err != nil {
			t.Error(err)
		}
	})
	r, err := resolver.New(resolver.Config{
		RootHints: []netip.Addr{tree.Root}, Port: tree.Port, QPS: -1,
		Timeouts: []time.Duration{time.Second, time.Second}, TCPTimeout: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(context.Background()) })
	return tree, r
}

// describe writes an exchange as "name pref addrs unusable error".
func describe(x resolver.MailExchange) string {
	s := fmt.Sprintf("%s %d %v %v", x.Name, x.Preference, x.Addrs, x.Unusable)
	switch {
	case errors.Is(x.Err, resolver.ErrNXDomain):
		s += " nxdomain"
	case errors.Is(x.Err, resolver.ErrNoAuthoritative):
		s += " no-authoritative"
	case x.Err != nil:
		s += " " + x.Err.Error()
	}
	return s
}

func TestMailHosts(t *testing.T) {
	_, r := startTree(t, contactTree)
	tests := []struct {
		domain      string
		implicit    bool
		nullMX      bool
		nxdomain    bool
		exchanges   []string
		deliverable bool
	}{
		{domain: "z000.test.", exchanges: []string{"mail.z000.test. 10 [192.0.2.25 2001:db8::25] []"}, deliverable: true},
		{domain: "Z002.test", exchanges: []string{
			"mx.z000.test. 10 [192.0.2.26] []",
			"mx.z001.test. 20 [] [] no-authoritative",
		}, deliverable: true},
		{domain: "www.z000.test.", implicit: true, exchanges: []string{"www.z000.test. 0 [192.0.2.27] []"}, deliverable: true},
		{domain: "alias.z000.test.", implicit: true, exchanges: []string{"alias.z000.test. 0 [192.0.2.27] []"}, deliverable: true},
		{domain: "null.z000.test.", nullMX: true},
		{domain: "nothere.z000.test.", nxdomain: true},
		{domain: "loop.z000.test.", exchanges: []string{"mx-loop.z000.test. 10 [] [127.0.0.1 ::1]"}},
		{domain: "odd.z000.test.", exchanges: []string{
			"mx-odd.z000.test. 10 [192.0.2.28] [0.0.0.0 224.0.0.251 fe80::1 ff02::1]",
		}, deliverable: true},
		{domain: "gone.z000.test.", exchanges: []string{"nx.z000.test. 10 [] [] nxdomain"}},
	}
	for _, tt := range tests {
		t.Run(tt.domain, func(t *testing.T) {
			m, err := r.MailHosts(context.Background(), tt.domain)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, x := range m.Exchanges {
				got = append(got, describe(x))
			}
			if diff := cmp.Diff(tt.exchanges, got); diff != "" {
				t.Errorf("exchanges (-want +got):\n%s", diff)
			}
			if m.Domain != strings.ToLower(resolverFQDN(tt.domain)) || m.Implicit != tt.implicit || m.NullMX != tt.nullMX ||
				m.NXDomain != tt.nxdomain || m.Deliverable() != tt.deliverable {
				t.Errorf("MailHosts = %+v, deliverable %v; want implicit %v, null MX %v, NXDOMAIN %v, deliverable %v",
					m, m.Deliverable(), tt.implicit, tt.nullMX, tt.nxdomain, tt.deliverable)
			}
		})
	}
}

// resolverFQDN adds the root's dot.
func resolverFQDN(s string) string {
	if strings.HasSuffix(s, ".") {
		return s
	}
	return s + "."
}

// A domain whose every server is lame has no answer: the upward referral of
// one and the non-authoritative answer of the other (which holds an MX) are
// not used.
func TestMailHostsLameServers(t *testing.T) {
	_, r := startTree(t, contactTree)
	for _, domain := range []string{"z001.test.", "z003.test.", "www.z003.test."} {
		m, err := r.MailHosts(context.Background(), domain)
		if !errors.Is(err, resolver.ErrNoAuthoritative) || !strings.HasPrefix(err.Error(), "resolver: mail hosts "+domain+": ") {
			t.Errorf("MailHosts(%s) = %+v, %v; want ErrNoAuthoritative", domain, m, err)
		}
		if m.Deliverable() {
			t.Errorf("MailHosts(%s) deliverable", domain)
		}
	}
	if _, err := r.MailHosts(context.Background(), "bad..name"); err == nil {
		t.Error("MailHosts of a malformed name: no error")
	}
}

func TestSOA(t *testing.T) {
	tree, r := startTree(t, contactTree)
	ctx := context.Background()
	before := tree.Stats()
	soa, err := r.SOA(ctx, "z000.test")
	if err != nil {
		t.Fatal(err)
	}
	// ns0 refuses; ns2 answers.
	ns2 := tree.Servers[2]
	want := resolver.ZoneSOA{
		SOA:  resolver.SOA{MName: "ns0.nic.test.", RName: "hostmaster.z000.test.", Serial: 2026112200},
		Zone: "z000.test.", ServerName: ns2.Name, Server: netip.AddrPortFrom(ns2.Addr, tree.Port),
	}
	got := soa
	got.At = time.Time{}
	if got != want || soa.At.IsZero() {
		t.Errorf("SOA(z000.test) = %+v, want %+v at a time", soa, want)
	}
	// Politely: each server got the delegation's apex NS query, then the
	// refusing one its probe round (P1 and P2), the answering one a single
	// SOA query: no EDNS check, no second server after the answer.
	after := tree.Stats()
	for _, s := range []struct {
		addr netip.Addr
		want int64
	}{{tree.Servers[0].Addr, 3}, {ns2.Addr, 2}, {tree.Servers[1].Addr, 0}, {tree.Servers[3].Addr, 0}} {
		if n := after[s.addr].Queries - before[s.addr].Queries; n != s.want {
			t.Errorf("%s got %d queries, want %d", s.addr, n, s.want)
		}
	}

	// No server of z001 answers authoritatively: the error says which
	// answered what.
	_, err = r.SOA(ctx, "z001.test.")
	if !errors.Is(err, resolver.ErrNoAuthoritative) || !strings.Contains(err.Error(), "ns1.nic.test. 127.61.1.2 upward_referral") ||
		!strings.Contains(err.Error(), "ns3.nic.test. 127.61.1.4 recursive_not_authoritative") {
		t.Errorf("SOA(z001.test.) error %v, want ErrNoAuthoritative naming both servers", err)
	}
	if _, err := r.SOA(ctx, "nowhere.test."); !errors.Is(err, resolver.ErrNotDelegated) {
		t.Errorf("SOA(nowhere.test.) error %v, want ErrNotDelegated", err)
	}
}
