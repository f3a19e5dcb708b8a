package parser

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testReference is the "now" of the table tests.
var testReference = time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

// bindObs and unboundObs build expected observations.
func bindObs(t time.Time, ev Evidence, zone, qname, qtype, addr string, port uint16) Observation {
	return Observation{Time: t, Source: SourceBIND, Evidence: ev, Zone: zone, QName: qname, QType: qtype, Server: ip(addr), Port: port}
}

func unboundObs(t time.Time, ev Evidence, zone, qname, qtype, addr string, port uint16) Observation {
	o := bindObs(t, ev, zone, qname, qtype, addr, port)
	o.Source = SourceUnbound
	return o
}

// cmpAddr compares netip.Addr values (zone included) for cmp.Diff.
var cmpAddr = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

type lineCase struct {
	name string
	line string
	want []Observation
	res  Result
}

func runLineCases(t *testing.T, opts Options, cases []lineCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := New(opts)
			got, res := p.Parse([]byte(tc.line), nil)
			if res != tc.res {
				t.Errorf("Parse(%q) result = %v, want %v", tc.line, res, tc.res)
			}
			if diff := cmp.Diff(tc.want, got, cmpAddr); diff != "" {
				t.Errorf("Parse(%q) observations (-want +got):\n%s", tc.line, diff)
			}
		})
	}
}

var (
	tLab    = at("2026-11-22T02:01:50.284Z")
	tLabSys = at("2026-11-22T02:01:50Z")
	tLabUs  = at("2026-11-22T02:01:50.287636Z")
)

// upref is the lab's lame_referral observation of www.upref.lab at t.
func upref(t time.Time) []Observation {
	return []Observation{bindObs(t, LameReferral, "upref.lab.", "www.upref.lab.", "", "127.53.4.1", 53)}
}

// TestParseBINDEnvelopes covers every prefix a BIND 9 message can carry,
// each with the same lab event.
func TestParseBINDEnvelopes(t *testing.T) {
	runLineCases(t, Options{Location: time.UTC, Reference: testReference}, []lineCase{
		// BIND 9.18 lab bind9.log (named -L: print-time, category, severity)
		{"file-time-category-severity", `22-Nov-2026 02:01:50.284 lame-servers: info: lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53`, upref(tLab), Recognised},
		// BIND 9.18 lab bind9-notime.log (print-time no)
		{"file-category-severity", `lame-servers: info: lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53`, upref(testReference), Recognised},
		// BIND 9.18 lab bind9-bare.log (no print-*)
		{"bare", `lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53`, upref(testReference), Recognised},
		// BIND 9.18 lab bind9-iso8601.log (print-time iso8601-utc)
		{"iso8601-utc", `2026-11-22T02:01:50.284Z lame-servers: info: lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53`, upref(tLab), Recognised},
		// BIND 9.18 lib/isc/log.c: print-time iso8601 (local, no zone)
		{"iso8601-local", `2026-11-22T02:01:50.284 lame-servers: info: lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53`, upref(tLab), Recognised},
		// lib/isc/log.c: named -g / named.run, print-time only
		{"time-only", `22-Nov-2026 02:01:50.284 lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53`, upref(tLab), Recognised},
		// lib/isc/log.c: print-category only
		{"category-only", `lame-servers: lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53`, upref(testReference), Recognised},
		// lib/isc/log.c: print-severity only
		{"severity-only", `info: lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53`, upref(testReference), Recognised},
		// lib/isc/log.c: debug severity "debug 3: "
		{"severity-debug", `22-Nov-2026 02:01:50.284 lame-servers: debug 3: lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53`, upref(tLab), Recognised},
		// BIND 9.18 lab syslog-rfc3164.log (rsyslog traditional format)
		{"rfc3164", `Nov 22 02:01:50 dnslab named[19030]: lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53`, upref(tLabSys), Recognised},
		// RFC 3164 with a space-padded day (rsyslog, journalctl -o short)
		{"rfc3164-padded-day", `Nov  2 02:01:50 dnslab named[19030]: lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53`, upref(at("2026-11-02T02:01:50Z")), Recognised},
		// RFC 3164: a month after the reference's month is last year's
		{"rfc3164-last-year", `Dec 31 23:59:59 dnslab named[19030]: lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53`, upref(at("2025-12-31T23:59:59Z")), Recognised},
		// syslog with print-category/print-severity on the syslog channel
		{"rfc3164-category", `Nov 22 02:01:50 dnslab named[19030]: lame-servers: info: lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53`, upref(tLabSys), Recognised},
		// rsyslog RSYSLOG_FileFormat (RFC 3339, Debian 12's default), the lab's event
		{"rfc3339", `2026-11-22T02:01:50.287636+00:00 dnslab named[19030]: lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53`, upref(tLabUs), Recognised},
		// RFC 3339 with a non-zero offset
		{"rfc3339-offset", `2026-11-22T03:01:50.287636+01:00 dnslab named[19030]: lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53`, upref(tLabUs), Recognised},
		// BIND 9.18 lab syslog-rfc5424.log (two spaces before the message)
		{"rfc5424", `<30>1 2026-11-22T02:01:50.287636+00:00 dnslab named 19030 - -  lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53`, upref(tLabUs), Recognised},
		// RFC 5424 §6.3 structured data and a NILVALUE timestamp
		{"rfc5424-sd-nil-time", `<30>1 - dnslab named 19030 - [meta x="a]b"] lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53`, upref(testReference), Recognised},
		// journalctl -o short (systemd 252)
		{"journal-short", `Nov 22 02:01:50 dnslab named[19030]: lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53`, upref(tLabSys), Recognised},
		// journalctl -o short-precise
		{"journal-short-precise", `Nov 22 02:01:50.287636 dnslab named[19030]: lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53`, upref(tLabUs), Recognised},
		// journalctl -o short-iso (offset without colon)
		{"journal-short-iso", `2026-11-22T02:01:50+0000 dnslab named[19030]: lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53`, upref(tLabSys), Recognised},
		// journalctl -o short-iso-precise
		{"journal-short-iso-precise", `2026-11-22T02:01:50.287636+0000 dnslab named[19030]: lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53`, upref(tLabUs), Recognised},
		// journalctl -o cat: the message only
		{"journal-cat", `lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53`, upref(testReference), Recognised},
		// a trailing '\r' (CRLF file)
		{"crlf", "lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53\r", upref(testReference), Recognised},
	})
}

// TestParseLocation checks that zone-less times are read in
// Options.Location and zoned ones are not.
func TestParseLocation(t *testing.T) {
	cet := time.FixedZone("CET", 3600)
	runLineCases(t, Options{Location: cet, Reference: testReference}, []lineCase{
		// BIND print-time is local time
		{"bind-print-time", `22-Nov-2026 03:01:50.284 lame-servers: info: lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53`, upref(tLab), Recognised},
		// RFC 3164 is local time
		{"rfc3164", `Nov 22 03:01:50 dnslab named[19030]: lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53`, upref(tLabSys), Recognised},
		// iso8601-utc carries its zone
		{"iso8601-utc", `2026-11-22T02:01:50.284Z lame-servers: info: lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53`, upref(tLab), Recognised},
	})
}

// TestParseBINDMessages covers every BIND 9, BIND 8 and BIND 4.9 message
// of docs/log-formats.md (B1–B7 and their older forms).
func TestParseBINDMessages(t *testing.T) {
	r := testReference
	runLineCases(t, Options{Location: time.UTC, Reference: testReference}, []lineCase{
		// B1, BIND 9.18 lab bind9.log: IPv6 server
		{"B1-v6", `22-Nov-2026 02:01:51.260 lame-servers: info: lame server resolving 'www.v6.lab' (in 'v6.lab'?): ::1#53`,
			[]Observation{bindObs(at("2026-11-22T02:01:51.26Z"), LameReferral, "v6.lab.", "www.v6.lab.", "", "::1", 53)}, Recognised},
		// B1, BIND 9.18 lab bind9.log: escaped dot in a label
		{"B1-escaped-dot", `22-Nov-2026 02:01:50.284 lame-servers: info: lame server resolving 'www.we\.ird.lab' (in 'we\.ird.lab'?): 127.53.4.1#53`,
			[]Observation{bindObs(tLab, LameReferral, `we\.ird.lab.`, `www.we\.ird.lab.`, "", "127.53.4.1", 53)}, Recognised},
		// B1, BIND 9.18 lab bind9.log: QNAME-minimised fetch
		{"B1-otherauth", `22-Nov-2026 02:01:50.780 lame-servers: info: lame server resolving 'otherauth.lab' (in 'otherauth.lab'?): 127.53.0.1#53`,
			[]Observation{bindObs(at("2026-11-22T02:01:50.78Z"), LameReferral, "otherauth.lab.", "otherauth.lab.", "", "127.53.0.1", 53)}, Recognised},
		// B1, names as received: upper case is folded
		{"B1-case", `lame server resolving 'WWW.UpRef.LAB' (in 'UPREF.lab'?): 127.53.4.1#53`, upref(r), Recognised},
		// B1, lib/isc/sockaddr.c: scoped IPv6, zone kept
		{"B1-scoped-v6", `lame server resolving 'www.example.com' (in 'example.com'?): fe80::1%2#53`,
			[]Observation{bindObs(r, LameReferral, "example.com.", "www.example.com.", "", "fe80::1%2", 53)}, Recognised},
		// B1, lib/isc/netaddr.c isc_netaddr_format: the scope is the
		// interface index, and an interface name passes too
		{"B1-scoped-name", `lame server resolving 'www.example.com' (in 'example.com'?): fe80::1%eth0.100#53`,
			[]Observation{bindObs(r, LameReferral, "example.com.", "www.example.com.", "", "fe80::1%eth0.100", 53)}, Recognised},
		// a scope that no interface has: control characters, '%', '#' and
		// anything longer than an interface name make the line unknown
		{"B1-scoped-hostile", "lame server resolving 'www.example.com' (in 'example.com'?): fe80::1%\x1b[2J#53", nil, Unrecognised},
		{"B1-scoped-hash", `lame server resolving 'www.example.com' (in 'example.com'?): fe80::1%a#b#53`, nil, Unrecognised},
		{"B1-scoped-long", `lame server resolving 'www.example.com' (in 'example.com'?): fe80::1%abcdefghijklmnop#53`, nil, Unrecognised},
		// B2 9.10+, BIND 9.18 resolver.c with a scoped server
		{"B2-scoped", `22-Nov-2026 02:01:50.268 lame-servers: info: REFUSED unexpected RCODE resolving 'www.example.com/A/IN': fe80::1%2#53`,
			[]Observation{bindObs(at("2026-11-22T02:01:50.268Z"), Refused, "", "www.example.com.", "A", "fe80::1%2", 53)}, Recognised},
		// B2 9.7–9.9 error (…) form with a scoped server and another port
		{"B2-9.7-scoped", `error (unexpected RCODE REFUSED) resolving 'www.example.com/A/IN': fe80::53%3#5353`,
			[]Observation{bindObs(r, Refused, "", "www.example.com.", "A", "fe80::53%3", 5353)}, Recognised},
		// B1, lib/isc/sockaddr.c: IPv6 with a port
		{"B1-v6-port", `lame server resolving 'www.example.com' (in 'example.com'?): 2001:db8::1#5353`,
			[]Observation{bindObs(r, LameReferral, "example.com.", "www.example.com.", "", "2001:db8::1", 5353)}, Recognised},
		// B1, lame referral at the root zone
		{"B1-root", `lame server resolving 'com' (in '.'?): 192.0.2.1#53`,
			[]Observation{bindObs(r, LameReferral, ".", "com.", "", "192.0.2.1", 53)}, Recognised},
		// B1, BIND 9.1 resolver.c format string "lame server on"
		{"B1-9.1", `lame server on 'www.example.com' (in 'example.com'?): 192.0.2.1#53`,
			[]Observation{bindObs(r, LameReferral, "example.com.", "www.example.com.", "", "192.0.2.1", 53)}, Recognised},
		// B2 9.10+, BIND 9.18 lab bind9.log
		{"B2-refused", `22-Nov-2026 02:01:50.268 lame-servers: info: REFUSED unexpected RCODE resolving 'www.refused.lab/A/IN': 127.53.3.1#53`,
			[]Observation{bindObs(at("2026-11-22T02:01:50.268Z"), Refused, "", "www.refused.lab.", "A", "127.53.3.1", 53)}, Recognised},
		// B2 9.10+, BIND 9.18 lab bind9.log: \032 in a label
		{"B2-space", `22-Nov-2026 02:01:55.228 lame-servers: info: REFUSED unexpected RCODE resolving 'sp\032ace.refused.lab/A/IN': 127.53.3.1#53`,
			[]Observation{bindObs(at("2026-11-22T02:01:55.228Z"), Refused, "", `sp\032ace.refused.lab.`, "A", "127.53.3.1", 53)}, Recognised},
		// B2 9.10+, dns_name_format escapes \( and \" (docs/log-formats.md)
		{"B2-parens-quote", `REFUSED unexpected RCODE resolving 'we\(ird\"q.refused.lab/A/IN': 127.53.3.1#53`,
			[]Observation{bindObs(r, Refused, "", `we\(ird\"q.refused.lab.`, "A", "127.53.3.1", 53)}, Recognised},
		// B2 9.10+, BIND 9.18 lab bind9.log
		{"B2-servfail", `22-Nov-2026 02:01:50.560 lame-servers: info: SERVFAIL unexpected RCODE resolving 'www.servfail.lab/A/IN': 127.53.4.1#53`,
			[]Observation{bindObs(at("2026-11-22T02:01:50.56Z"), ServFail, "", "www.servfail.lab.", "A", "127.53.4.1", 53)}, Recognised},
		// B2 9.10+, BIND 9.18 lab bind9.log
		{"B2-connection-refused", `22-Nov-2026 02:01:50.548 lame-servers: info: connection refused resolving 'www.closed.lab/A/IN': 127.53.6.1#53`,
			[]Observation{bindObs(at("2026-11-22T02:01:50.548Z"), ConnectionRefused, "", "www.closed.lab.", "A", "127.53.6.1", 53)}, Recognised},
		// B2 9.10+, BIND 9.18 lab bind9.log
		{"B2-formerr", `22-Nov-2026 02:01:51.288 lame-servers: info: FORMERR resolving 'recursive.lab/NS/IN': 127.53.5.1#53`,
			[]Observation{bindObs(at("2026-11-22T02:01:51.288Z"), FormErr, "", "recursive.lab.", "NS", "127.53.5.1", 53)}, Recognised},
		// B2 9.10+ resolver.c: another rcode
		{"B2-notimp", `NOTIMP unexpected RCODE resolving 'www.example.com/MX/IN': 192.0.2.1#53`,
			[]Observation{bindObs(r, "rcode_notimp", "", "www.example.com.", "MX", "192.0.2.1", 53)}, Recognised},
		// B2 9.10+ resolver.c: BADCOOKIE rcode, unknown type
		{"B2-badcookie", `BADCOOKIE unexpected RCODE resolving 'www.example.com/TYPE65534/IN': 192.0.2.1#53`,
			[]Observation{bindObs(r, "rcode_badcookie", "", "www.example.com.", "TYPE65534", "192.0.2.1", 53)}, Recognised},
		// B2 9.10+ resolver.c: unexpected OPCODE
		{"B2-opcode", `UPDATE unexpected OPCODE resolving 'www.example.com/A/IN': 192.0.2.1#53`,
			[]Observation{bindObs(r, FormErr, "", "www.example.com.", "A", "192.0.2.1", 53)}, Recognised},
		// B2 9.18 lib/isc/result.c reasons
		{"B2-received-formerr", `received FORMERR resolving 'www.example.com/A/IN': 192.0.2.1#53`,
			[]Observation{bindObs(r, FormErr, "", "www.example.com.", "A", "192.0.2.1", 53)}, Recognised},
		{"B2-timed-out", `timed out resolving 'www.example.com/A/IN': 192.0.2.1#53`,
			[]Observation{bindObs(r, Timeout, "", "www.example.com.", "A", "192.0.2.1", 53)}, Recognised},
		{"B2-host-unreachable", `host unreachable resolving 'www.example.com/A/IN': 192.0.2.1#53`,
			[]Observation{bindObs(r, Unreachable, "", "www.example.com.", "A", "192.0.2.1", 53)}, Recognised},
		{"B2-network-unreachable", `network unreachable resolving 'www.example.com/AAAA/IN': 2001:db8::53#53`,
			[]Observation{bindObs(r, Unreachable, "", "www.example.com.", "AAAA", "2001:db8::53", 53)}, Recognised},
		{"B2-connection-reset", `connection reset resolving 'www.example.com/A/IN': 192.0.2.1#53`,
			[]Observation{bindObs(r, Unreachable, "", "www.example.com.", "A", "192.0.2.1", 53)}, Recognised},
		{"B2-broken-trust-chain", `broken trust chain resolving 'www.example.com/A/IN': 192.0.2.1#53`,
			[]Observation{bindObs(r, DNSSECFailure, "", "www.example.com.", "A", "192.0.2.1", 53)}, Recognised},
		{"B2-no-valid-rrsig", `no valid RRSIG resolving 'www.example.com/A/IN': 192.0.2.1#53`,
			[]Observation{bindObs(r, DNSSECFailure, "", "www.example.com.", "A", "192.0.2.1", 53)}, Recognised},
		{"B2-insecurity-proof", `insecurity proof failed resolving 'www.example.com/A/IN': 192.0.2.1#53`,
			[]Observation{bindObs(r, DNSSECFailure, "", "www.example.com.", "A", "192.0.2.1", 53)}, Recognised},
		{"B2-truncated-tcp", `truncated TCP response resolving 'www.example.com/A/IN': 192.0.2.1#53`,
			[]Observation{bindObs(r, FormErr, "", "www.example.com.", "A", "192.0.2.1", 53)}, Recognised},
		{"B2-badvers", `BADVERS resolving 'www.example.com/A/IN': 192.0.2.1#53`,
			[]Observation{bindObs(r, "rcode_badvers", "", "www.example.com.", "A", "192.0.2.1", 53)}, Recognised},
		// B2 9.18 resolver.c rctx_parse(): a reply cut short
		// (ISC_R_UNEXPECTEDEND, lib/isc/result.c "unexpected end of input")
		{"B2-unexpected-end", `unexpected end of input resolving 'www.example.com/A/IN': 192.0.2.1#53`,
			[]Observation{bindObs(r, FormErr, "", "www.example.com.", "A", "192.0.2.1", 53)}, Recognised},
		{"B2-9.7-unexpected-end", `error (unexpected end of input) resolving 'www.example.com/A/IN': 192.0.2.1#53`,
			[]Observation{bindObs(r, FormErr, "", "www.example.com.", "A", "192.0.2.1", 53)}, Recognised},
		// B2 9.21 resolver.c validated() → add_bad(badns_validation): newer
		// validator results (lib/isc/result.c DNS_R_NOKEYMATCH, DNS_R_BADALG)
		{"B2-no-matching-key", `no matching key found resolving 'www.example.com/A/IN': 192.0.2.1#53`,
			[]Observation{bindObs(r, DNSSECFailure, "", "www.example.com.", "A", "192.0.2.1", 53)}, Recognised},
		{"B2-bad-algorithm", `bad algorithm resolving 'www.example.com/DNSKEY/IN': 192.0.2.1#53`,
			[]Observation{bindObs(r, DNSSECFailure, "", "www.example.com.", "DNSKEY", "192.0.2.1", 53)}, Recognised},
		// B2 9.18 resolver.c: results that say nothing about the server —
		// the resolver's own cancellation and shutdown (rctx_dispfail()),
		// its fetch quotas, and the DS chase of a parent-side query
		// (DNS_R_CHASEDSSERVERS): ordinary lines, not evidence
		{"B2-chase-ds", `chase DS servers resolving 'sub.example.com/DS/IN': 192.0.2.1#53`, nil, Ignored},
		{"B2-quota", `quota reached resolving 'www.example.com/A/IN': 192.0.2.1#53`, nil, Ignored},
		{"B2-canceled", `operation canceled resolving 'www.example.com/A/IN': 192.0.2.1#53`, nil, Ignored},
		{"B2-shutting-down", `22-Nov-2026 02:03:10.004 lame-servers: info: shutting down resolving 'www.example.com/AAAA/IN': 192.0.2.1#53`, nil, Ignored},
		{"B2-9.7-canceled", `error (operation canceled) resolving 'www.example.com/A/IN': 192.0.2.1#53`, nil, Ignored},
		// B2' BIND 9.7–9.9 resolver.c format string
		{"B2-9.7-rcode", `error (unexpected RCODE REFUSED) resolving 'www.example.com/A/IN': 192.0.2.1#53`,
			[]Observation{bindObs(r, Refused, "", "www.example.com.", "A", "192.0.2.1", 53)}, Recognised},
		{"B2-9.7-servfail", `error (unexpected RCODE SERVFAIL) resolving 'www.example.com/A/IN': 192.0.2.1#53`,
			[]Observation{bindObs(r, ServFail, "", "www.example.com.", "A", "192.0.2.1", 53)}, Recognised},
		{"B2-9.7-reason", `error (connection refused) resolving 'www.example.com/A/IN': 192.0.2.1#53`,
			[]Observation{bindObs(r, ConnectionRefused, "", "www.example.com.", "A", "192.0.2.1", 53)}, Recognised},
		{"B2-9.7-formerr", `error (FORMERR) resolving 'www.example.com/NS/IN': 192.0.2.1#53`,
			[]Observation{bindObs(r, FormErr, "", "www.example.com.", "NS", "192.0.2.1", 53)}, Recognised},
		// B2'' BIND 9.3–9.6 resolver.c format string
		{"B2-9.3-rcode", `unexpected RCODE (REFUSED) resolving 'www.example.com/A/IN': 192.0.2.1#53`,
			[]Observation{bindObs(r, Refused, "", "www.example.com.", "A", "192.0.2.1", 53)}, Recognised},
		{"B2-9.3-notimp", `unexpected RCODE (NOTIMP) resolving 'www.example.com/A/IN': 192.0.2.1#53`,
			[]Observation{bindObs(r, "rcode_notimp", "", "www.example.com.", "A", "192.0.2.1", 53)}, Recognised},
		{"B2-9.3-reason", `timed out resolving 'www.example.com/A/CH': 192.0.2.1#53`,
			[]Observation{bindObs(r, Timeout, "", "www.example.com.", "A", "192.0.2.1", 53)}, Recognised},
		// B2'' BIND 9.3 development resolver.c: no type/class
		{"B2-9.3-dev", `unexpected RCODE (REFUSED) resolving 'www.example.com': 192.0.2.1#53`,
			[]Observation{bindObs(r, Refused, "", "www.example.com.", "", "192.0.2.1", 53)}, Recognised},
		// B2, qname containing '/' and "'" (not escaped by BIND)
		{"B2-slash-quote", `REFUSED unexpected RCODE resolving 'a/b'c.example.com/A/IN': 192.0.2.1#53`,
			[]Observation{bindObs(r, Refused, "", "a/b'c.example.com.", "A", "192.0.2.1", 53)}, Recognised},
		// B4, BIND 9.18 lab bind9.log
		{"B4-non-improving", `22-Nov-2026 02:01:51.288 resolver: notice: DNS format error from 127.53.5.1#53 resolving recursive.lab/NS for 127.53.100.1#39873: non-improving referral`,
			[]Observation{bindObs(at("2026-11-22T02:01:51.288Z"), NonImprovingReferral, "", "recursive.lab.", "NS", "127.53.5.1", 53)}, Recognised},
		// B4, resolver.c: other details are formerr, internal fetch client
		{"B4-other", `DNS format error from 192.0.2.1#53 resolving www.example.com/A for <unknown>: NS/SOA mismatch`,
			[]Observation{bindObs(r, FormErr, "", "www.example.com.", "A", "192.0.2.1", 53)}, Recognised},
		// B5, BIND 9.18 lab bind9.log: no server address, no observation
		{"B5-cname", `22-Nov-2026 02:01:51.276 cname: info: skipping nameserver 'alias.nic.lab' because it is a CNAME, while resolving 'www.cnamens.lab/A'`, nil, Recognised},
		// B3, resolver.c 9.14+: not evidence
		{"B3-success", `success resolving 'www.example.com/A' after disabling qname minimization due to 'FORMERR'`, nil, Ignored},
		// B6, resolver.c ≤ 9.18: no evidence kind
		{"B6-delegation-only", `enforced delegation-only for 'com' (www.example.com/A/IN) from 192.0.2.1#53`, nil, Recognised},
		// B7, resolver.c ≤ 9.18
		{"B7-could-not-mark", `could not mark server as lame: out of memory`, nil, Recognised},
		// BIND 8 ns_resp.c with learntFrom()
		{"bind8", `Lame server on 'www.example.com' (in 'example.com'?): [192.0.2.1].53 'ns1.example.net'`,
			[]Observation{bindObs(r, LameReferral, "example.com.", "www.example.com.", "", "192.0.2.1", 53)}, Recognised},
		// BIND 8 ns_resp.c with host-statistics, via syslog
		{"bind8-learnt", `Nov 22 02:01:50 ns named[123]: Lame server on 'www.example.com' (in 'EXAMPLE.com'?): [192.0.2.1].53 'ns1.example.net': learnt (A=192.0.2.9,NS=192.0.2.9)`,
			[]Observation{bindObs(tLabSys, LameReferral, "example.com.", "www.example.com.", "", "192.0.2.1", 53)}, Recognised},
		// BIND 4.9 ns_resp.c
		{"bind4.9-delegation", `Lame delegation to 'ns.example.net' from [192.0.2.1] (server for 'example.com'?) on query on name 'www.example.com'`,
			[]Observation{bindObs(r, LameReferral, "example.com.", "www.example.com.", "", "192.0.2.1", 53)}, Recognised},
	})
}

// TestParseUnboundLines covers Unbound's self-contained lines.
func TestParseUnboundLines(t *testing.T) {
	tEpoch := time.Unix(1795312911, 0).UTC()
	runLineCases(t, Options{Location: time.UTC, Reference: testReference}, []lineCase{
		// U4, Unbound 1.17.1 lab unbound.log
		{"U4-refused", `[1795312911] unbound[19034:0] error: SERVFAIL <www.refused.lab. A IN>: all servers for this domain failed, at zone refused.lab. from 127.53.3.1 got REFUSED`,
			[]Observation{unboundObs(tEpoch, Refused, "refused.lab.", "www.refused.lab.", "A", "127.53.3.1", 53)}, Recognised},
		// U4, Unbound 1.17.1 lab unbound.log: lossy '?' stays
		{"U4-lossy", `[1795312911] unbound[19034:0] error: SERVFAIL <we?ird?q.refused.lab. A IN>: all servers for this domain failed, at zone refused.lab. from 127.53.3.1 got REFUSED`,
			[]Observation{unboundObs(tEpoch, Refused, "refused.lab.", "we?ird?q.refused.lab.", "A", "127.53.3.1", 53)}, Recognised},
		// U4, Unbound 1.17.1 lab unbound.log
		{"U4-servfail", `[1795312911] unbound[19034:0] error: SERVFAIL <servfail.lab. NS IN>: all servers for this domain failed, at zone servfail.lab. from 127.53.4.1 got SERVFAIL`,
			[]Observation{unboundObs(tEpoch, ServFail, "servfail.lab.", "servfail.lab.", "NS", "127.53.4.1", 53)}, Recognised},
		// U4, iterator.c: another rcode
		{"U4-notimp", `[1795312911] unbound[19034:0] error: SERVFAIL <www.example.com. A IN>: all servers for this domain failed, at zone example.com. from 2001:db8::1 got NOTIMP`,
			[]Observation{unboundObs(tEpoch, "rcode_notimp", "example.com.", "www.example.com.", "A", "2001:db8::1", 53)}, Recognised},
		// U4, Unbound 1.17.1 lab unbound.log: no server
		{"U4-timeout", `[1795312929] unbound[19034:0] error: SERVFAIL <www.closed.lab. A IN>: all servers for this domain failed, at zone closed.lab. upstream server timeout`, nil, Recognised},
		{"U4-not-usable", `[1795312912] unbound[19034:0] error: SERVFAIL <upref.lab. SOA IN>: all servers for this domain failed, at zone upref.lab. no server to query nameserver addresses not usable`, nil, Recognised},
		// U4, Unbound 1.17.1 lab unbound.log: a server (the parent's) but no rcode
		{"U4-nodata", `[1795312911] unbound[19034:0] error: SERVFAIL <www.upref.lab. A IN>: all servers for this domain failed, at zone upref.lab. from 127.53.1.1 nodata answer`, nil, Recognised},
		// U4, Unbound 1.17.1 lab syslog-rfc3164.log
		{"U4-rfc3164", `Nov 22 02:01:54 dnslab unbound: [19033:0] error: SERVFAIL <www.refused.lab. A IN>: all servers for this domain failed, at zone refused.lab. from 127.53.3.1 got REFUSED`,
			[]Observation{unboundObs(at("2026-11-22T02:01:54Z"), Refused, "refused.lab.", "www.refused.lab.", "A", "127.53.3.1", 53)}, Recognised},
		// U3' second line, Unbound 1.17.1 lab unbound.log
		{"U3-mark-rec-lame", `[1795312911] unbound[19034:0] info: mark as REC_LAME`, nil, Recognised},
		// U7, verbosity 4
		{"U7-rtt", `[1795312911] unbound[19034:0] info:    rtt=247 LAME`, nil, Recognised},
		// an accepted reply: not evidence
		{"U3-answer", `[1795312911] unbound[19034:0] info: query response was ANSWER`, nil, Ignored},
		// a verdict without its group (group began before this input)
		{"U3-orphan", `[1795312911] unbound[19034:0] info: query response was LAME`, nil, Recognised},
		// Unbound 1.17.1 lab unbound.log: unrelated lines
		{"resolving", `[1795312911] unbound[19034:0] info: resolving www.refused.lab. A IN`, nil, Ignored},
		{"resolving-halflame", `[1795312912] unbound[19034:0] info: resolving www.halflame.lab. A IN`, nil, Ignored},
	})
}

// TestParseInfra covers unbound-control dump_infra lines.
func TestParseInfra(t *testing.T) {
	r := testReference
	cases := []lineCase{
		// Unbound 1.17.1 lab unbound-dump_infra.txt
		{"lame", `127.53.4.1 upref.lab. ttl 847 ping 3 var 61 rtt 247 rto 247 tA 0 tAAAA 0 tother 0 ednsknown 1 edns 0 delay 0 lame dnssec 0 rec 0 A 1 other 1`,
			[]Observation{unboundObs(r, LameReferral, "upref.lab.", "", "", "127.53.4.1", 53)}, Recognised},
		{"v6", `::1 v6.lab. ttl 849 ping 1 var 56 rtt 225 rto 225 tA 0 tAAAA 0 tother 0 ednsknown 1 edns 0 delay 0 lame dnssec 0 rec 0 A 1 other 1`,
			[]Observation{unboundObs(r, LameReferral, "v6.lab.", "", "", "::1", 53)}, Recognised},
		{"rec", `127.53.5.1 recursive.lab. ttl 847 ping 14 var 14 rtt 70 rto 70 tA 0 tAAAA 0 tother 0 ednsknown 1 edns 0 delay 0 lame dnssec 0 rec 1 A 0 other 0`,
			[]Observation{unboundObs(r, RecLame, "recursive.lab.", "", "", "127.53.5.1", 53)}, Recognised},
		{"timeout", `127.53.6.1 closed.lab. ttl 848 ping 0 var 94 rtt 376 rto 24064 tA 3 tAAAA 2 tother 3 ednsknown 0 edns 0 delay 13 lame dnssec 0 rec 0 A 0 other 0`,
			[]Observation{unboundObs(r, Timeout, "closed.lab.", "", "", "127.53.6.1", 53)}, Recognised},
		{"healthy", `127.53.2.1 good.lab. ttl 848 ping 4 var 11 rtt 50 rto 50 tA 0 tAAAA 0 tother 0 ednsknown 1 edns 0 delay 0 lame dnssec 0 rec 0 A 0 other 0`, nil, Ignored},
		{"lossy", `127.53.4.1 we?ird.lab. ttl 847 ping 2 var 59 rtt 238 rto 238 tA 0 tAAAA 0 tother 0 ednsknown 1 edns 0 delay 0 lame dnssec 0 rec 0 A 1 other 1`,
			[]Observation{unboundObs(r, LameReferral, "we?ird.lab.", "", "", "127.53.4.1", 53)}, Recognised},
		// daemon/remote.c: dnssec lame, a port, several flags at once
		{"dnssec-port", `192.0.2.1@5353 example.com. ttl 600 ping 1 var 1 rtt 50 rto 50 tA 1 tAAAA 0 tother 0 ednsknown 1 edns 0 delay 0 lame dnssec 1 rec 0 A 0 other 1`,
			[]Observation{
				unboundObs(r, LameReferral, "example.com.", "", "", "192.0.2.1", 5353),
				unboundObs(r, DNSSECLame, "example.com.", "", "", "192.0.2.1", 5353),
				unboundObs(r, Timeout, "example.com.", "", "", "192.0.2.1", 5353),
			}, Recognised},
		// daemon/remote.c: expired entry
		{"expired", `127.53.4.1 upref.lab. expired rto 247`, nil, Ignored},
	}
	t.Run("auto", func(t *testing.T) { runLineCases(t, Options{Reference: r}, cases) })
	t.Run("forced", func(t *testing.T) { runLineCases(t, Options{Format: UnboundInfra, Reference: r}, cases) })
}

// TestParseOther covers unrelated, broken and hostile lines.
func TestParseOther(t *testing.T) {
	big := make([]byte, 1<<20)
	for i := range big {
		big[i] = "lame server resolving '"[i%23]
	}
	runLineCases(t, Options{Location: time.UTC, Reference: testReference}, []lineCase{
		// BIND 9.18 lab bind9.log
		{"general", `22-Nov-2026 02:01:46.976 general: notice: running`, nil, Ignored},
		// BIND 9.18 resolver.c, category resolver: a fetch given up, no server.
		{"hung-fetch", `22-Nov-2026 02:01:49.000 resolver: info: shut down hung fetch while resolving 'www.example.com/A'`, nil, Ignored},
		// BIND 9.18 lab syslog-rfc3164.log
		{"startup", `Nov 22 02:01:46 dnslab named[19030]: running as: named -f -c /tmp/dnslab-fresh/bind-resolver/named.conf`, nil, Ignored},
		// BIND 9.18 querylog
		{"querylog", `22-Nov-2026 02:01:50.264 queries: info: client @0x7f3a 127.0.0.1#40000 (www.example.com): query: www.example.com IN A +E(0) (127.53.100.1)`, nil, Ignored},
		{"quote-unrelated", `22-Nov-2026 02:01:46.900 general: info: loading configuration from '/etc/bind/named.conf'`, nil, Ignored},
		{"empty", ``, nil, Ignored},
		{"nul", "lame\x00server\x00resolving", nil, Unrecognised},
		{"invalid-utf8", "\xff\xfe\xfd lame server resolving '\xff' (in '\xfe'?): \xfd", nil, Unrecognised},
		{"nul-unrelated", "\x00\x00\x00", nil, Ignored},
		// a crash leaves the file's tail as NUL bytes and the next lines are
		// appended after them: the first one is glued to the padding
		{"nul-padding", "\x00\x00\x00\x00\x00\x0022-Nov-2026 02:01:50.284 lame-servers: info: lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53", upref(tLab), Recognised},
		{"nul-padding-syslog", "\x00\x00Nov 22 02:01:50 dnslab named[19030]: lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53", upref(tLabSys), Recognised},
		{"1MB", string(big), nil, Unrecognised},
		// lame-looking but not understood
		{"bad-address", `lame server resolving 'www.example.com' (in 'example.com'?): not-an-address#53`, nil, Unrecognised},
		{"port-zero", `lame server resolving 'www.example.com' (in 'example.com'?): 192.0.2.1#0`, nil, Unrecognised},
		{"bad-name", `REFUSED unexpected RCODE resolving 'a..b/A/IN': 192.0.2.1#53`, nil, Unrecognised},
		{"bad-escape", `REFUSED unexpected RCODE resolving 'a\999b/A/IN': 192.0.2.1#53`, nil, Unrecognised},
		{"unknown-reason", `frobnicated resolving 'www.example.com/A/IN': 192.0.2.1#53`, nil, Unrecognised},
		{"lame-word", `something LAME happened`, nil, Unrecognised},
		{"halflame-zone", `zone halflame.lab/IN: loaded serial 1`, nil, Ignored},
		{"U2-bad-address", `[1795312911] unbound[19034:0] info: reply from <upref.lab.> 127.53.4#53`, nil, Unrecognised},
	})
}

// TestParseForcedFormat checks that a forced format accepts only its own
// messages.
func TestParseForcedFormat(t *testing.T) {
	bind := `lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53`
	unb := `[1795312911] unbound[19034:0] error: SERVFAIL <www.refused.lab. A IN>: all servers for this domain failed, at zone refused.lab. from 127.53.3.1 got REFUSED`
	for _, tc := range []struct {
		f    Format
		line string
		n    int
		res  Result
	}{
		{BIND, bind, 1, Recognised},
		{BIND, unb, 0, Ignored},
		{Unbound, unb, 1, Recognised},
		{Unbound, bind, 0, Unrecognised},
		{UnboundInfra, bind, 0, Unrecognised},
	} {
		p := New(Options{Format: tc.f, Reference: testReference})
		got, res := p.Parse([]byte(tc.line), nil)
		if len(got) != tc.n || res != tc.res {
			t.Errorf("%v: Parse(%q) = %d observations, %v; want %d, %v", tc.f, tc.line, len(got), res, tc.n, tc.res)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for _, f := range []Format{Auto, BIND, Unbound, UnboundInfra} {
		got, err := ParseFormat(f.String())
		if err != nil || got != f {
			t.Errorf("ParseFormat(%q) = %v, %v; want %v", f.String(), got, err, f)
		}
	}
	if got, err := ParseFormat("dump_infra"); err != nil || got != UnboundInfra {
		t.Errorf(`ParseFormat("dump_infra") = %v, %v`, got, err)
	}
	_, err := ParseFormat("bind8x")
	if err == nil {
		t.Fatal(`ParseFormat("bind8x") succeeded`)
	}
	want := `parser: unknown log format "bind8x" (valid: auto, bind, unbound, unbound-infra)`
	if err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	if s := Format(42).String(); s != "Format(42)" {
		t.Errorf("Format(42).String() = %q", s)
	}
}

// TestSetReference checks RFC 3164 year inference against a moving
// reference: the same line gives the same time on a rescan with the same
// reference, and the new year once the reference moves past it.
func TestSetReference(t *testing.T) {
	line := []byte(`Dec 31 23:59:59 dnslab named[19030]: lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53`)
	p := New(Options{Location: time.UTC, Reference: time.Date(2027, 1, 1, 0, 0, 5, 0, time.UTC)})
	out, _ := p.Parse(line, nil)
	if len(out) != 1 || !out[0].Time.Equal(at("2026-12-31T23:59:59Z")) {
		t.Fatalf("in January: %v", out)
	}
	p.SetReference(time.Date(2027, 12, 31, 23, 59, 59, 0, time.UTC))
	out, _ = p.Parse(line, nil)
	if len(out) != 1 || !out[0].Time.Equal(at("2027-12-31T23:59:59Z")) {
		t.Fatalf("in December: %v", out)
	}
	// lines without a time take the reference
	out, _ = p.Parse([]byte(`lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53`), nil)
	if len(out) != 1 || !out[0].Time.Equal(at("2027-12-31T23:59:59Z")) {
		t.Fatalf("no time: %v", out)
	}
}

// Candidate is exactly Parse's prefilter: a line it rejects is Ignored and
// leaves the parser's state alone, for every lab log and format.
func TestCandidateMatchesParse(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join("..", "testdata", "lab"))
	if err != nil || len(entries) == 0 {
		t.Fatalf("no lab logs in testdata/lab: %v", err)
	}
	for _, f := range []Format{Auto, BIND, Unbound, UnboundInfra} {
		rejected := 0
		for _, e := range entries {
			data, err := os.ReadFile(filepath.Join("..", "testdata", "lab", e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			p := New(Options{Format: f, Location: time.UTC, Reference: time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)})
			for i, line := range bytes.Split(data, []byte("\n")) {
				if f.Candidate(line) {
					p.Parse(line, nil)
					continue
				}
				rejected++
				before := p.State()
				if obs, res := p.Parse(line, nil); res != Ignored || len(obs) > 0 || !bytes.Equal(before, p.State()) {
					t.Errorf("%v %s:%d: Candidate false but Parse gave %v, %d observations", f, e.Name(), i+1, res, len(obs))
				}
			}
		}
		if rejected == 0 {
			t.Errorf("%v: Candidate rejected no line of the lab logs: nothing was compared", f)
		}
	}
}
