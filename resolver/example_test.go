package resolver_test

import (
	"context"
	"fmt"
	"os"

	"github.com/lamers-dev/lamers/resolver"
	"github.com/lamers-dev/lamers/resolver/resolvertest"
)

// exampleTree starts a private tree on loopback and a Resolver for it, as
// `lamers --root-hints FILE` would use one, and returns them with the
// function that stops both. The zone z000.test. is delegated to an
// authoritative server and to one that answers REFUSED.
func exampleTree(records ...string) (*resolver.Resolver, func(), error) {
	tree, err := resolvertest.Start(resolvertest.Config{
		Net:       62,
		Servers:   []resolvertest.Behavior{resolvertest.Authoritative, resolvertest.Refused},
		NSPerZone: 2,
		Records:   records,
	})
	if err != nil {
		return nil, nil, err
	}
	r, err := func() (*resolver.Resolver, error) {
		f, err := os.Open(tree.RootHints)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		hints, err := resolver.ParseRootHints(f)
		if err != nil {
			return nil, err
		}
		return resolver.New(resolver.Config{RootHints: hints, Port: tree.Port})
	}()
	if err != nil {
		tree.Close()
		return nil, nil, err
	}
	return r, func() { r.Close(context.Background()); tree.Close() }, nil
}

// What `lamers check ZONE` does: the delegation, then one probe round per
// server address.
func ExampleResolver_Check() {
	r, stop, err := exampleTree()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer stop()

	res, err := r.Check(context.Background(), "z000.test.", nil)
	if err != nil {
		fmt.Println(err) // lamers check exits 2
		return
	}
	fmt.Println(res.Zone, "delegated by", res.Parent, "to", res.Delegation)
	for _, s := range res.Servers {
		fmt.Println(s.Name, s.Address, s.Verdict, s.Reason)
	}
	fmt.Println("zone:", res.Verdict) // lamers check exits 1 unless ok
	// Output:
	// z000.test. delegated by test. to [ns0.nic.test. ns1.nic.test.]
	// ns0.nic.test. 127.62.1.1 authoritative authoritative
	// ns1.nic.test. 127.62.1.2 lame refused
	// zone: lame
}

// The SOA of a zone, from a server that answers authoritatively: where the
// hostmaster's address (RNAME) comes from.
func ExampleResolver_SOA() {
	r, stop, err := exampleTree()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer stop()

	soa, err := r.SOA(context.Background(), "z000.test.")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(soa.Zone, soa.RName, soa.Serial, "from", soa.ServerName, soa.Server.Addr())
	// Output:
	// z000.test. hostmaster.z000.test. 2026112200 from ns0.nic.test. 127.62.1.1
}

// Whether mail for a domain can be delivered at all (RFC 5321 §5.1).
func ExampleResolver_MailHosts() {
	r, stop, err := exampleTree(
		"z000.test. 300 IN MX 10 mail.z000.test.",
		"mail.z000.test. 300 IN A 192.0.2.25",
		"mail.z000.test. 300 IN A 127.0.0.1",
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer stop()

	m, err := r.MailHosts(context.Background(), "z000.test.")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, x := range m.Exchanges {
		fmt.Println(x.Preference, x.Name, "usable", x.Addrs, "unusable", x.Unusable)
	}
	fmt.Println("deliverable:", m.Deliverable())
	// Output:
	// 10 mail.z000.test. usable [192.0.2.25] unusable [127.0.0.1]
	// deliverable: true
}
