package resolvertest

import (
	"errors"
	"fmt"

	"github.com/miekg/dns"
)

// zone is one zone's records, indexed for answering: by owner, with the
// delegation points (NS sets below the apex) and the names that exist only
// as ancestors of owners (empty non-terminals).
type zone struct {
	apex   string
	soa    dns.RR
	owners map[string][]dns.RR
	cuts   map[string]bool
	ents   map[string]bool
}

// newZone parses zone-file text, one RR a line; the first RR must be the SOA.
func newZone(text string) (*zone, error) {
	rrs, err := parseRRs(text)
	if err != nil {
		return nil, err
	}
	if len(rrs) == 0 || rrs[0].Header().Rrtype != dns.TypeSOA {
		return nil, errors.New("resolvertest: zone text does not start with an SOA record")
	}
	z := &zone{
		apex:   canonicalName(rrs[0].Header().Name),
		soa:    rrs[0],
		owners: map[string][]dns.RR{},
		cuts:   map[string]bool{},
		ents:   map[string]bool{},
	}
	for _, rr := range rrs {
		owner := canonicalName(rr.Header().Name)
		z.owners[owner] = append(z.owners[owner], rr)
		if rr.Header().Rrtype == dns.TypeNS && owner != z.apex {
			z.cuts[owner] = true
		}
		for i, off := range dns.Split(owner) {
			if a := owner[off:]; i > 0 && a != z.apex && dns.IsSubDomain(z.apex, a) {
				z.ents[a] = true
			}
		}
	}
	return z, nil
}

// answer fills m (already SetReply'd) the way an authoritative server of z
// answers q: a referral with glue below a cut, else an authoritative answer,
// NODATA or NXDOMAIN with the SOA.
func (z *zone) answer(m *dns.Msg, q dns.Question) {
	name := canonicalName(q.Name)
	// The highest cut at or above name, below the apex.
	labels := dns.Split(name)
	for i := len(labels) - 1; i >= 0; i-- {
		cut := name[labels[i]:]
		if !z.cuts[cut] || cut == z.apex {
			continue
		}
		for _, rr := range z.owners[cut] {
			ns, ok := rr.(*dns.NS)
			if !ok {
				continue
			}
			m.Ns = append(m.Ns, ns)
			for _, g := range z.owners[canonicalName(ns.Ns)] {
				if t := g.Header().Rrtype; t == dns.TypeA || t == dns.TypeAAAA {
					m.Extra = append(m.Extra, g)
				}
			}
		}
		return
	}
	m.Authoritative = true
	rrs, exists := z.owners[name]
	for _, rr := range rrs {
		if t := rr.Header().Rrtype; t == q.Qtype || t == dns.TypeCNAME {
			m.Answer = append(m.Answer, rr)
		}
	}
	if len(m.Answer) > 0 {
		return
	}
	if !exists && !z.ents[name] {
		m.Rcode = dns.RcodeNameError
	}
	m.Ns = []dns.RR{z.soa}
}

// zoneSet is what one authoritative server serves.
type zoneSet map[string]*zone

// find returns the deepest zone of s at or above name, or nil.
func (s zoneSet) find(name string) *zone {
	for _, off := range dns.Split(name) {
		if z, ok := s[name[off:]]; ok {
			return z
		}
	}
	return s["."]
}

// AuthHandler returns a handler that serves zones, each given as
// zone-file text whose first record is the zone's SOA, the way an
// authoritative server does: referrals with glue below the zones' cuts,
// answers with AA, NODATA and NXDOMAIN with the SOA, REFUSED for names
// outside them.
func AuthHandler(zones ...string) (dns.Handler, error) {
	zs := zoneSet{}
	for _, text := range zones {
		z, err := newZone(text)
		if err != nil {
			return nil, err
		}
		if _, dup := zs[z.apex]; dup {
			return nil, fmt.Errorf("resolvertest: zone %s given twice", z.apex)
		}
		zs[z.apex] = z
	}
	return authoritative(zs), nil
}

// canonicalName gives every spelling of a name one form, so that zone text
// and queries meet whatever escapes they use (`big\032shop.test.`,
// `Big\ Shop.test.`): the name packed to wire octets and unpacked again, as
// miekg/dns writes a name it receives, with ASCII letters in lower case
// (RFC 4343). A name that does not pack is only folded.
func canonicalName(name string) string {
	buf := make([]byte, 256)
	n, err := dns.PackDomainName(dns.Fqdn(name), buf, 0, nil, false)
	if err != nil {
		return dns.CanonicalName(name)
	}
	s, _, err := dns.UnpackDomainName(buf[:n], 0)
	if err != nil {
		return dns.CanonicalName(name)
	}
	return dns.CanonicalName(s)
}
