// Package parser turns resolver log lines into lame-server observations.
//
// It is pure code: bytes in, Observations out, no I/O. One Parser reads one
// input stream (it keeps the state of Unbound's multi-line groups, the
// first lines of events logged in two, and bounded caches); Parse never
// panics, whatever the bytes.
//
// # What it accepts
//
// docs/log-formats.md is the catalogue: every message with the BIND or
// Unbound source file that writes it, the versions, and the evidence it
// gives. In short:
//
//   - BIND 9.2 → 9.21 "lame server resolving 'Q' (in 'Z'?): ADDR#PORT"
//     (9.1: "lame server on"), evidence lame_referral.
//   - BIND 9 reason lines in their three generations: 9.10+ "[RCODE ]REASON
//     resolving 'Q/T/C': ADDR#PORT", 9.7–9.9 "error (REASON[ RCODE])
//     resolving …", 9.3–9.6 "REASON[ (RCODE)] resolving …" and the 9.3
//     development form without type and class. Reasons map to evidence:
//     unexpected RCODE REFUSED → refused, SERVFAIL → servfail, FORMERR and
//     NOERROR (a reply that did not parse) → formerr, other rcodes →
//     rcode_<lower-case mnemonic> (BADVERS too), rcode_<n> for unassigned
//     ones (rcode.go: only the IANA registry's mnemonics and 0–4095 are
//     rcodes); connection refused → connection_refused; timed out →
//     timeout; FORMERR, received FORMERR, truncated TCP response,
//     unexpected end of input and unexpected OPCODE → formerr; socket
//     errors (host/network unreachable, host/network down, connection
//     reset, …) → unreachable; DNSSEC validation failures (broken trust
//     chain, no valid …, insecurity proof failed, no matching key found,
//     bad algorithm, …) → dnssec_failure. The resolver's own cancellations,
//     shutdown, quotas and DS chases (operation canceled, shutting down,
//     quota reached, chase DS servers) are Ignored. An unknown reason makes
//     the line Unrecognised.
//   - BIND 9 "DNS format error from ADDR#PORT resolving Q/T for CLIENT:
//     DETAIL": non-improving referral → non_improving_referral, any other
//     detail → formerr, except "referral from global forwarder" (a
//     forwarder, not a delegation): Recognised without observation. The
//     formerr reason line BIND writes after it for the same reply is a
//     Repeat (pair.go), or nothing after a forwarder's.
//   - BIND 9 "skipping nameserver 'N' because it is a CNAME, while resolving
//     'Q/T'" (cname_ns): the line names no server address, so it is
//     Recognised but yields no observation; a finding needs an address, and
//     the verifier detects CNAME'd NS names itself when it probes the zone.
//     Likewise "enforced delegation-only" and "could not mark server as
//     lame" are Recognised without observation, and "success resolving …
//     after disabling qname minimization" is Ignored.
//   - BIND 8 "Lame server on 'Q' (in 'Z'?): [ADDR].PORT 'NS'[: learnt (…)]"
//     and BIND 4.9 "Lame delegation to 'X' from [ADDR] (server for 'Z'?) on
//     query on name 'Q'", evidence lame_referral.
//   - Unbound (verbosity ≥ 2) groups of "response for Q T C", "reply from
//     <Z> ADDR#PORT" and "query response was LAME | DNSSEC LAME |
//     THROWAWAY" (≥ 1.25: "was categorized as …") or "query response
//     REC_LAME: …": lame_referral, dnssec_lame, throwaway, rec_lame. The
//     observation is made by the verdict line, at its time. Groups are keyed
//     by syslog host, tag and Unbound's [pid:tid] (or log-identity[pid:tid]),
//     so interleaved instances and threads do not mix; at most 4096 groups
//     wait for their verdict, the least recently touched one is dropped
//     beyond that. "response for"/"reply from" lines are Recognised; other
//     verdicts (ANSWER, REFERRAL, …) end the group and are Ignored; "mark as
//     REC_LAME" is Recognised without a second observation.
//   - Unbound log-servfail "SERVFAIL <Q T C>: … at zone Z from ADDR got
//     RCODE": refused, servfail or rcode_<x> for ADDR port 53 (the line has
//     no port), a Repeat with the verdict's port when it fails the query
//     of an evidence verdict of the same thread, zone and server (pair.go).
//     Forms without "from ADDR" or "got RCODE" (timeouts, "nodata answer")
//     and "all the configured stub or forward servers failed" (not a
//     delegation) are Recognised without observation.
//   - `unbound-control dump_infra` lines: A/other > 0 → lame_referral, rec
//     → rec_lame, dnssec → dnssec_lame, tA+tAAAA+tother > 0 → timeout, all
//     at Options.Reference; "expired" and flag-less entries are Ignored.
//
// Envelopes, in any combination the resolvers write them: BIND file
// channels with print-time (legacy, iso8601, iso8601-utc), print-category
// and print-severity ("debug 3: " too); syslog RFC 3164 (year inferred from
// Options.Reference), RFC 3339 and RFC 5424; journalctl -o short,
// short-precise, short-iso, short-iso-precise and cat; Unbound's logfile
// "[epoch] ident[pid:tid] level: " (hex or decimal tid), log-time-ascii and
// log-time-iso, and Unbound through syslog or journald ("unbound: [pid:tid]
// level: ", "unbound[pid]: [pid:tid] level: ") and Unbound's stderr
// captured by them ("unbound[pid]: [epoch] unbound[pid:tid] level: ", also
// with log-time-ascii or log-time-iso). NUL bytes before a line (a crash's
// padding) are skipped. Observation.Time is in UTC; a time outside the
// window around Options.Reference (SetReference) is replaced by it and
// counted (Counts).
//
// Evidence against Options.IgnoreServers (the resolver's forwarders) is
// dropped and counted.
//
// # Names and addresses
//
// Names are made canonical by CanonicalName (absolute, lower case, BIND's
// escapes); Unbound's lossy '?' stays a literal, so Unbound's "we?ird.lab."
// and BIND's "we\.ird.lab." remain different names. Addresses are BIND's
// "addr#port", BIND 8's "[addr].port", Unbound's "addr", "addr#port" and
// "addr@port", port 53 when absent. An IPv6 scope ("fe80::1%2", RFC 4007
// §11) is kept in the netip.Addr's zone when it looks like an interface
// index or name (up to 15 letters, digits, '.', '_', '-'); Unbound prints
// none (inet_ntop in util/net_help.c). IPv4-mapped IPv6 addresses are
// unmapped. An address that does not parse, a scope of any other form, or
// port 0, makes the line Unrecognised: every Observation has a valid
// Server and a non-zero Port.
//
// # Results
//
// Recognised: understood as evidence (or as part of an Unbound group).
// Unrecognised: looks lame-related but was not understood — a known message
// whose fields do not parse (bad name, bad address, unknown reason), or any
// other line with the word "lame" in any case (not inside a longer word such
// as the zone name "halflame") or BIND's "resolving '…': " shape. Ignored:
// everything else, including very long lines, NUL bytes and invalid UTF-8.
//
// # Speed
//
// A cheap scan rejects unrelated lines before any prefix is parsed (about
// 35 ns a line; see candidate: a few SIMD byte searches, one 8-bytes-at-a-
// time pass for "lame"/"format err" and a look at the line's end — which
// means only class IN "response for" lines are read, a lame reply to
// another class gives an observation without qname); there are no regular
// expressions, timestamps and IPv4 addresses are parsed by hand, and
// canonical names, other addresses, types and rcodes are interned in
// bounded per-Parser caches so that lame lines with repeated names do not
// allocate. The caches of names and addresses are 2-way set-associative
// arrays, not maps: they start small, grow fourfold at most four times, up
// to 131,072 names and 32,768 addresses, and a miss overwrites the least
// recently used of two slots, so a log with more distinct names than that
// costs some misses, never a cleared and regrown map. With
// Options.TransientQName (ingest sets it) query names are not cached at all:
// they are canonicalised into a buffer the next Parse reuses, so that a day
// of distinct query names neither allocates nor pushes the zones out of the
// cache.
package parser
