// Package resolver is lamers' bundled verifying resolver. It finds a zone's
// current delegation by iterating from the root hints, probes each delegated
// server address directly with "SOA <zone> IN, RD=0" and classifies the
// replies into verdict reasons (docs/verification.md, sections 1 to 3). For
// notify it reads a zone's SOA from a server that answers authoritatively
// (SOA) and finds where mail for a domain goes (MailHosts, RFC 5321 §5.1).
// It imports no other package of lamers and is the only one that imports
// github.com/miekg/dns; its API uses plain Go values. The confirmation policy
// and the verify workflow, which need the database, are in resolver/verify.
//
// Names: every name the package is given is read as RFC 1035 §5.1
// presentation form, and every name it compares (a reply's question, owner
// names, delegations, cache keys) or returns is in one canonical form
// (CanonicalName: ASCII in lower case per RFC 4343, BIND's escapes), never
// in the text miekg/dns writes, which spells some octets otherwise
// (`big\ shop` for BIND's `big\032shop`).
//
// Politeness (RFC 1536, RFC 4697 §2): every packet goes through one layer
// that holds a per-address lock (never two queries in flight to one address,
// across all goroutines), waits for a global rate limiter, and counts packets
// (Resolver.Stats). A probe round sends at most 4 packets. Delegations and
// addresses are cached by TTL (bounded, capped at a day, failures for 5
// minutes, RFC 2308 §7); one resolution follows at most 20 referrals and 8
// CNAMEs. Iteration uses only authoritative answers and downward referrals:
// a lame server's non-authoritative answer or upward referral never steers a
// lookup.
//
// Where it departs from a multi-vantage prober such as Zonemaster or the
// registries' lameness checks:
//   - One vantage only: REFUSED counts as lame at once (an ACL refusing only
//     this host looks the same).
//   - Per round, silence (unresponsive) and ICMP port unreachable
//     (no_dns_service) are inconclusive; the confirmation policy makes
//     "unresponsive" of them over time. ICMP host unreachable counts as
//     silence; local routing and address-family errors are vantage_error.
//   - The EDNS probe after a clean P1 is sent only when the caller asked for
//     it (Config.SkipEDNSCheck: check does, verify does not); every reply
//     to a query with EDNS, lame or not, is judged for edns_noncompliant
//     (RFC 6891 §7: a reply without OPT, FORMERR or NOTIMP).
//   - SERVFAIL on P1 and P2 with TCP failing is still servfail; SERVFAIL on
//     P1 followed by silence is intermittent_servfail. REFUSED or FORMERR on
//     P1 followed by silence keep their reason.
//   - Replies are accepted only from the queried address and port; a reply
//     from elsewhere, or with a wrong ID, QR, opcode or question, is ignored
//     and the wait goes on (RFC 5452 §3); a round that saw only such replies
//     is mismatched_reply. IPv6 zones (fe80::1%eth0) are kept for sending and
//     ignored when comparing addresses; a link-local address without zone is
//     a vantage_error.
//   - ICMP port unreachable is seen on Linux (IP_RECVERR on an unconnected
//     socket, needed to notice replies from other addresses); elsewhere it
//     looks like silence.
package resolver
