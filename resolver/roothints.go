package resolver

import (
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/miekg/dns"
)

// namedRoot is IANA's named.root (as shipped by Debian's dns-root-data,
// last update April 18, 2024).
//
//go:embed named.root
var namedRoot string

func embeddedRootHints() ([]netip.Addr, error) {
	return ParseRootHints(strings.NewReader(namedRoot))
}

// ParseRootHints reads a root hints file in zone-file format (like IANA's
// named.root) and returns the addresses of the root's NS names, IPv4 first,
// in file order. A and AAAA records of names that are not NS targets of the
// root are ignored.
func ParseRootHints(r io.Reader) ([]netip.Addr, error) {
	zp := dns.NewZoneParser(r, ".", "root hints")
	ns := map[string]bool{}
	type rec struct {
		name string
		addr netip.Addr
	}
	var recs []rec
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		h := rr.Header()
		switch rr := rr.(type) {
		case *dns.NS:
			if h.Name == "." {
				ns[canonical(rr.Ns)] = true
			}
		case *dns.A:
			if a, ok := netip.AddrFromSlice(rr.A.To4()); ok {
				recs = append(recs, rec{canonical(h.Name), a})
			}
		case *dns.AAAA:
			if a, ok := netip.AddrFromSlice(rr.AAAA.To16()); ok {
				recs = append(recs, rec{canonical(h.Name), a})
			}
		}
	}
	if err := zp.Err(); err != nil {
		return nil, fmt.Errorf("resolver: parse root hints: %w", err)
	}
	var v4, v6 []netip.Addr
	for _, r := range recs {
		if !ns[r.name] {
			continue
		}
		if r.addr.Is4() {
			v4 = append(v4, r.addr)
		} else {
			v6 = append(v6, r.addr)
		}
	}
	out := append(v4, v6...)
	if len(out) == 0 {
		return nil, errors.New("resolver: parse root hints: no addresses for the root's NS names")
	}
	return out, nil
}
