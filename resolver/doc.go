// Package resolver is lamers' bundled verifying resolver: it finds a zone's
// current delegation by iterating from the root hints (DESIGN §5.1), probes
// each delegated server address directly with "SOA <zone> IN, RD=0" (§5.2),
// classifies the replies (§5.3, docs lame-verification.md §6) and decides a
// finding's status from its rounds over time (Policy, §5.4). It is the only
// package that imports github.com/miekg/dns; its API uses plain Go values.
//
// Politeness (RFC 1536, RFC 4697): every packet goes through one layer that
// holds a per-address lock (never two queries in flight to one address,
// across all goroutines), waits for a global rate limiter, and counts packets
// (Resolver.Stats). A probe round sends at most 4 packets. Delegations and NS
// addresses are cached by TTL (bounded, capped at a day, failures for 5
// minutes); one resolution follows at most 20 referrals and 8 CNAMEs.
//
// Where it departs from lame-verification.md:
//   - One vantage only: REFUSED counts as hard lame at once (the spec wants
//     a second vantage to agree, §6 row 11).
//   - Per round, silence (unresponsive) and ICMP port unreachable
//     (no_dns_service) are inconclusive with RoundClass Soft; Policy makes
//     "unresponsive" of them. ICMP host unreachable counts as silence; local
//     routing and address-family errors are vantage_error.
//   - The EDNS probe after a clean P1 (§6 "once after a clean P1") is sent
//     only when P1 was authoritative: for a lame reply the flag would change
//     nothing and the packet would be spent on a server that does not serve
//     the zone.
//   - SERVFAIL on P1 and P2 with TCP failing is still servfail; SERVFAIL on
//     P1 followed by silence is intermittent_servfail. REFUSED or FORMERR on
//     P1 followed by silence keep their reason.
//   - Replies are accepted only from the queried address and port; a reply
//     from elsewhere, or with a wrong ID, QR, opcode or question, is ignored
//     and the wait goes on; a round that saw only such replies is
//     mismatched_reply. IPv6 zones (fe80::1%eth0) are kept for sending and
//     ignored when comparing addresses; a link-local address without zone is
//     a vantage_error.
//   - ICMP port unreachable is seen on Linux (IP_RECVERR on an unconnected
//     socket, needed to notice replies from other addresses); elsewhere it
//     looks like silence.
package resolver
