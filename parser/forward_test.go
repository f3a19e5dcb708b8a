package parser

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestParseForwarders checks that lines which say they are about a
// forwarder or a stub server make no observation: forwarders are not
// delegations.
func TestParseForwarders(t *testing.T) {
	R := Recognised
	for _, tc := range []struct {
		name  string
		lines []string
		res   []Result
	}{
		{
			// BIND 9.20.26+/9.21.24+ lib/dns/resolver.c rctx_referral(): a
			// referral from the global forwarder (forward zone "."), then
			// add_bad() for the same reply
			"bind-global-forwarder",
			[]string{
				`22-Nov-2026 02:15:02.113 resolver: notice: DNS format error from 192.0.2.53#53 resolving www.example.com/A for 10.0.0.7#41234: referral from global forwarder`,
				`22-Nov-2026 02:15:02.113 lame-servers: info: FORMERR resolving 'www.example.com/A/IN': 192.0.2.53#53`,
			},
			[]Result{R, R},
		},
		{
			// Unbound 1.17.1 iterator/iterator.c processLastResort(): every
			// server of a forward-zone (or stub-zone) failed
			"unbound-forward-failed",
			[]string{
				`[1795312911] unbound[19034:0] error: SERVFAIL <www.example.com. A IN>: all the configured stub or forward servers failed, at zone . from 192.0.2.53 got SERVFAIL`,
				`[1795312911] unbound[19034:0] error: SERVFAIL <www.example.com. A IN>: all the configured stub or forward servers failed, at zone corp.example. from 10.1.1.1 got REFUSED`,
			},
			[]Result{R, R},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := New(Options{Location: time.UTC, Reference: testReference})
			got, res := parseAll(p, tc.lines)
			if len(got) != 0 {
				t.Errorf("observations %+v, want none", got)
			}
			if diff := cmp.Diff(tc.res, res); diff != "" {
				t.Errorf("results (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseIgnoreServers checks that evidence against the servers of
// Options.IgnoreServers (the resolver's own forwarders, which BIND's and
// Unbound's other lines do not label) is dropped and counted.
func TestParseIgnoreServers(t *testing.T) {
	opts := Options{Location: time.UTC, Reference: testReference, IgnoreServers: []netip.Prefix{
		netip.MustParsePrefix("192.0.2.53/32"),
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("2001:db8:53::/48"),
	}}
	for _, tc := range []struct {
		name string
		line string
		keep bool
	}{
		// BIND 9.18 resolver.c add_bad() under "forward first": a forwarder
		// that timed out, not labelled as one
		{"bind-timeout", `timed out resolving 'www.example.com/A/IN': 192.0.2.53#53`, false},
		// Unbound 1.17.1 iterator.c: log-servfail naming a forwarder of zone "."
		{"unbound-servfail", `[1795312911] unbound[19034:0] error: SERVFAIL <www.example.com. A IN>: all servers for this domain failed, at zone . from 10.20.30.40 got SERVFAIL`, false},
		// IPv6 with a zone: the prefix still covers it
		{"bind-v6-scoped", `REFUSED unexpected RCODE resolving 'www.example.com/A/IN': 2001:db8:53::1%2#53`, false},
		// an IPv4-mapped address is its IPv4 address
		{"bind-mapped", `REFUSED unexpected RCODE resolving 'www.example.com/A/IN': ::ffff:10.1.2.3#53`, false},
		// a server outside the prefixes is evidence
		{"bind-other", `lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53`, true},
		{"bind-near", `REFUSED unexpected RCODE resolving 'www.example.com/A/IN': 192.0.2.54#53`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := New(opts)
			out, res := p.Parse([]byte(tc.line), nil)
			if res != Recognised || (len(out) == 1) != tc.keep || len(out) > 1 {
				t.Errorf("Parse = %+v, %v; want kept %v", out, res, tc.keep)
			}
			want := int64(1)
			if tc.keep {
				want = 0
			}
			if got := p.Counts().IgnoredServer; got != want {
				t.Errorf("Counts().IgnoredServer = %d, want %d", got, want)
			}
		})
	}
	// An Unbound group against an ignored server: the verdict and its
	// log-servfail line, both dropped (Unbound 1.17.1 lab unbound.log form).
	p := New(opts)
	out, _ := parseAll(p, []string{
		`[1795312911] unbound[19034:0] info: response for www.example.com. A IN`,
		`[1795312911] unbound[19034:0] info: reply from <.> 192.0.2.53#53`,
		`[1795312911] unbound[19034:0] info: query response was THROWAWAY`,
		`[1795312911] unbound[19034:0] error: SERVFAIL <www.example.com. A IN>: all servers for this domain failed, at zone . from 192.0.2.53 got SERVFAIL`,
	})
	if len(out) != 0 || p.Counts().IgnoredServer != 2 {
		t.Errorf("group: %+v, %d ignored; want none, 2", out, p.Counts().IgnoredServer)
	}
	// dump_infra read as such (daemon/remote.c): a forwarder's entry
	opts.Format = UnboundInfra
	p = New(opts)
	out, _ = p.Parse([]byte(`192.0.2.53 . ttl 600 ping 1 var 1 rtt 50 rto 50 tA 2 tAAAA 0 tother 0 ednsknown 1 edns 0 delay 0 lame dnssec 0 rec 0 A 0 other 0`), nil)
	if len(out) != 0 || p.Counts().IgnoredServer != 1 {
		t.Errorf("dump_infra: %+v, %d ignored; want none, 1", out, p.Counts().IgnoredServer)
	}
}
