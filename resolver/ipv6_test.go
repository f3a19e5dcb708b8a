package resolver

import (
	"context"
	"net"
	"net/netip"
	"testing"

	"github.com/miekg/dns"

	"github.com/lamers-dev/lamers/resolver/resolvertest"
)

// TestProbeIPv6 probes over ::1: a lame server (the e2e lab's v6.lab., an
// upward referral) and a closed port (ICMPv6 port unreachable).
func TestProbeIPv6(t *testing.T) {
	pc, err := net.ListenPacket("udp6", "[::1]:0")
	if err != nil {
		t.Fatalf("IPv6 loopback unusable here: %v", err)
	}
	activate(t, &dns.Server{PacketConn: pc, Handler: resolvertest.Reply{Ns: `. 3600000 IN NS a.root-servers.test.`}})
	server := netip.MustParseAddrPort(pc.LocalAddr().String())

	closed, err := net.ListenPacket("udp6", "[::1]:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := netip.MustParseAddrPort(closed.LocalAddr().String())
	closed.Close()

	r := newTestResolver(t, Config{RootHints: []netip.Addr{netip.IPv6Loopback()}, QPS: -1})
	for _, tt := range []struct {
		server netip.AddrPort
		reason string
	}{
		{server, ReasonUpwardReferral},
		{closedAddr, ReasonNoDNSService},
	} {
		if p := r.Probe(context.Background(), "v6.test.", tt.server); p.Reason != tt.reason {
			t.Errorf("Probe(%s) = %s, want %s", tt.server, p.Reason, tt.reason)
		}
	}
}
