package parser

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// BenchmarkParse measures Parse per prefix family on lab lines, and on
// unrelated lines (which the prefilter must reject in well under 60 ns).
// Names repeat, as in real logs, so the caches are warm.
func BenchmarkParse(b *testing.B) {
	group := func(prefix string) []string {
		return []string{
			prefix + `info: response for www.upref.lab. A IN`,
			prefix + `info: reply from <upref.lab.> 127.53.4.1#53`,
			prefix + `info: query response was LAME`,
		}
	}
	for _, bc := range []struct {
		name  string
		lines []string
	}{
		// BIND 9.18 lab bind9.log
		{"bind-file", []string{
			`22-Nov-2026 02:01:50.284 lame-servers: info: lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53`,
			`22-Nov-2026 02:01:50.268 lame-servers: info: REFUSED unexpected RCODE resolving 'www.refused.lab/A/IN': 127.53.3.1#53`,
		}},
		// BIND 9.18 lab bind9-bare.log
		{"bind-bare", []string{`lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53`}},
		// BIND 9.18 lab bind9-iso8601.log
		{"bind-iso8601", []string{`2026-11-22T02:01:50.284Z lame-servers: info: lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53`}},
		// BIND 9.18 lab syslog-rfc3164.log
		{"rfc3164", []string{`Nov 22 02:01:50 dnslab named[19030]: lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53`}},
		// rsyslog RSYSLOG_FileFormat (RFC 3339)
		{"rfc3339", []string{`2026-11-22T02:01:50.287636+00:00 dnslab named[19030]: lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53`}},
		// BIND 9.18 lab syslog-rfc5424.log
		{"rfc5424", []string{`<30>1 2026-11-22T02:01:50.287636+00:00 dnslab named 19030 - -  lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53`}},
		// journalctl -o short-iso-precise
		{"journal-short-iso", []string{`2026-11-22T02:01:50.287636+0000 dnslab named[19030]: lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53`}},
		// Unbound 1.17.1 lab unbound.log
		{"unbound-logfile", group(`[1795312911] unbound[19034:0] `)},
		// Unbound 1.17.1 lab syslog-rfc3164.log
		{"unbound-rfc3164", group(`Nov 22 02:01:53 dnslab unbound: [19033:0] `)},
		// Unbound 1.17.1 lab unbound.log
		{"unbound-servfail", []string{`[1795312911] unbound[19034:0] error: SERVFAIL <www.refused.lab. A IN>: all servers for this domain failed, at zone refused.lab. from 127.53.3.1 got REFUSED`}},
		// Unbound 1.17.1 lab unbound-dump_infra.txt
		{"dump_infra", []string{`127.53.4.1 upref.lab. ttl 847 ping 3 var 61 rtt 247 rto 247 tA 0 tAAAA 0 tother 0 ednsknown 1 edns 0 delay 0 lame dnssec 0 rec 0 A 1 other 1`}},
		// unrelated: BIND query log, general and syslog lines
		{"unrelated", []string{
			`22-Nov-2026 02:01:50.264 queries: info: client @0x7f3a2c0b3168 127.0.0.1#40000 (www.example.com): query: www.example.com IN A +E(0)K (127.53.100.1)`,
			`22-Nov-2026 02:01:46.976 general: notice: running`,
			`Nov 22 02:01:46 dnslab named[19030]: managed-keys-zone: loaded serial 0`,
			`Nov 22 02:01:50 dnslab kernel: [12345.678901] audit: type=1400 audit(1795312910.123:42): apparmor="STATUSISH" operation="open" pid=19030 comm="isc-net-0000"`,
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			lines := make([][]byte, len(bc.lines))
			for i, l := range bc.lines {
				lines[i] = []byte(l)
			}
			p := New(Options{Location: time.UTC, Reference: testReference})
			out := make([]Observation, 0, 4)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for _, l := range lines {
					out, _ = p.Parse(l, out[:0])
				}
			}
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N*len(lines))
			b.ReportMetric(ns, "ns/line")
			b.ReportMetric(1e9/ns, "lines/s")
		})
	}
}

// BenchmarkParseNewNames measures lame lines whose query names never
// repeat (random names under one zone), the worst case for the caches.
func BenchmarkParseNewNames(b *testing.B) {
	p := New(Options{Location: time.UTC, Reference: testReference})
	lines := make([][]byte, 1<<14)
	for i := range lines {
		lines[i] = []byte(fmt.Sprintf(`22-Nov-2026 02:01:50.268 lame-servers: info: REFUSED unexpected RCODE resolving 'r%d.refused.lab/A/IN': 127.53.3.1#53`, i))
	}
	var out []Observation
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, _ = p.Parse(lines[i%len(lines)], out[:0])
	}
}

// BenchmarkParseLameMix measures a lame-heavy log shaped like the one
// bench/genlog writes (bench/out/lame-2m.log): 25,000 zones with two of
// 10,000 servers each (one in five IPv6), query names that are the zone or
// one of ten hosts in it, 65% "lame server resolving" and 35% reason lines.
// Far more distinct names and addresses than fit in warm caches.
func BenchmarkParseLameMix(b *testing.B) {
	const nzones, nservers = 25_000, 10_000
	rng := rand.New(rand.NewPCG(1, 2))
	hosts := []string{"www", "mail", "ns1", "ns2", "api", "cdn", "smtp", "vpn", "m", "_dmarc"}
	tlds := []string{"example", "example.com", "example.net", "example.org", "test", "co.example", "invalid.example"}
	reasons := []string{"REFUSED unexpected RCODE", "SERVFAIL unexpected RCODE", "connection refused", "timed out", "NOTIMP unexpected RCODE"}
	qtypes := []string{"A", "AAAA", "MX", "NS", "SOA", "TXT", "DNSKEY"}
	server := func(i int) string {
		if i%5 == 4 {
			return fmt.Sprintf("2001:db8:%x::%x#53", 0x100+i>>12, i&0xfff+1)
		}
		return fmt.Sprintf("100.%d.%d.%d#53", 64+i/(250*256)%64, i/250%256, i%250+1)
	}
	lines := make([][]byte, 1<<18)
	for i := range lines {
		z := rng.IntN(nzones)
		zone := fmt.Sprintf("z%d.%s", z, tlds[z%len(tlds)])
		srv := server((z*7919 + rng.IntN(2)*(1+z%(nservers-1))) % nservers)
		q := zone
		if h := rng.IntN(100); h >= 30 {
			q = hosts[h%len(hosts)] + "." + zone
		}
		if rng.IntN(100) < 65 {
			lines[i] = fmt.Appendf(nil, `22-Nov-2026 00:00:00.144 lame-servers: info: lame server resolving '%s' (in '%s'?): %s`, q, zone, srv)
		} else {
			lines[i] = fmt.Appendf(nil, `22-Nov-2026 00:00:00.144 lame-servers: info: %s resolving '%s/%s/IN': %s`,
				reasons[rng.IntN(len(reasons))], q, qtypes[rng.IntN(len(qtypes))], srv)
		}
	}
	p := New(Options{Location: time.UTC, Reference: testReference})
	var out []Observation
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, _ = p.Parse(lines[i%len(lines)], out[:0])
	}
}
