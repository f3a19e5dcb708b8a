package resolver

import (
	"context"
	"errors"
	"net/netip"

	"github.com/miekg/dns"
)

// The flags Check sets besides a round's own (docs/verification.md,
// section 3). Zonemaster tests the same things (DELEGATION05 for an NS
// name that is an alias, DELEGATION07 and CONSISTENCY05 for NS sets, its
// CONNECTIVITY tests for TCP, CONSISTENCY01 and 02 for SOA serials and
// RNAMEs), and so does DNSViz; the flags never change a verdict.

// tcpFails sends "SOA <zone> IN, RD=0" once over TCP to the server of the
// round udp (RFC 7766 §5: authoritative servers must serve TCP) and reports
// whether TCP failed where UDP did not: no reply (refused, reset, silent,
// closed without an answer) or one that does not parse; after an
// authoritative round, a reply that is not authoritative. A round that
// already failed TCP after truncation is flagged without another query; a
// server that never replied over UDP is not asked (its verdict says it
// all, and its silence would cost another timeout).
func (r *Resolver) tcpFails(ctx context.Context, zone string, udp Probe) bool {
	switch {
	case udp.Reason == ReasonTCPFailedAfterTruncation:
		return true
	case udp.Rcode == "" || ctx.Err() != nil:
		return false
	}
	m := new(dns.Msg)
	m.SetQuestion(zone, dns.TypeSOA)
	m.RecursionDesired = false
	reply, _, err := r.send(ctx, m, udp.Server, true, r.cfg.TCPTimeout, gate{})
	switch {
	case ctx.Err() != nil || errors.Is(err, errVantage):
		return false
	case err != nil:
		return true
	case udp.Verdict == VerdictAuthoritative:
		return classify(zone, reply).reason != ReasonAuthoritative
	}
	return false
}

// flagSOAMismatch flags the authoritative rows whose SOA serial or RNAME
// differs from the one that most of the zone's server addresses give; when
// no SOA has more addresses than every other one, each row differs.
func flagSOAMismatch(rows []ServerResult) {
	type soaKey struct {
		serial uint32
		rname  string
	}
	keyOf := func(s ServerResult) (soaKey, bool) {
		return soaKey{s.Probe.SOA.Serial, canonical(s.Probe.SOA.RName)}, s.Verdict == VerdictAuthoritative
	}
	count := map[soaKey]int{}
	seen := map[netip.Addr]bool{}
	for _, s := range rows {
		if k, ok := keyOf(s); ok && !seen[s.addr.WithZone("")] {
			seen[s.addr.WithZone("")] = true
			count[k]++
		}
	}
	if len(count) < 2 {
		return
	}
	var common soaKey
	most, tie := 0, false
	for k, n := range count {
		switch {
		case n > most:
			common, most, tie = k, n, false
		case n == most:
			tie = true
		}
	}
	for i, s := range rows {
		if k, ok := keyOf(s); ok && (tie || k != common) {
			rows[i].Flags = append(rows[i].Flags, FlagSOAMismatch)
		}
	}
}
