package resolver

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestProbe runs one probe round against one server per row of the
// classification table (docs/verification.md, section 3) in the private tree.
func TestProbe(t *testing.T) {
	l := newLab(t)
	// Rows that wait for silence use short timeouts; rows that expect
	// replies long ones, so that a loaded machine does not turn a slow
	// reply into a retransmission.
	quick := newTestResolver(t, l.config())
	cfg := l.config()
	cfg.Timeouts = []time.Duration{5 * time.Second, 5 * time.Second}
	cfg.TCPTimeout = 5 * time.Second
	patient := newTestResolver(t, cfg)
	tests := []struct {
		name    string // the behaviour, and where it comes from
		zone    string
		server  netip.Addr
		verdict Verdict
		reason  string
		flags   []string
		packets int
	}{
		// NSD serving the zone (the e2e lab's good.lab.); P1 plus the EDNS check.
		{"authoritative", "good.test.", addrGood1, VerdictAuthoritative, ReasonAuthoritative, nil, 2},
		// djbdns tinydns 1.05 (the e2e lab's legacy.lab.): answers EDNS
		// queries without OPT.
		{"authoritative, no OPT", "noopt.test.", addrNoOPT, VerdictAuthoritative, ReasonAuthoritative, []string{FlagEDNSNoncompliant}, 2},
		// A server without EDNS that does not serve the zone: P2's REFUSED
		// has no OPT. Every reply is judged, not only authoritative ones.
		{"refused, no OPT", "refused.test.", addrRefNoOPT, VerdictLame, ReasonRefused, []string{FlagEDNSNoncompliant}, 2},
		// An upward referral to plain queries, FORMERR to EDNS ones (RFC
		// 6891 §7: what a server without EDNS answers).
		{"upward referral, FORMERR to EDNS", "upref.test.", addrUprefNoEDN, VerdictLame, ReasonUpwardReferral, []string{FlagEDNSNoncompliant}, 2},
		// NSD that does not serve the zone (refused.lab.): REFUSED on P1 and P2.
		{"refused", "refused.test.", addrRefused, VerdictLame, ReasonRefused, nil, 2},
		// Zone configured but not loaded (servfail.lab.): SERVFAIL on P1, P2 and TCP.
		{"servfail always", "servfail.test.", addrServfail, VerdictLame, ReasonServfail, nil, 3},
		// SERVFAIL, then silence.
		{"servfail sometimes", "flaky.test.", addrFlaky, VerdictInconclusive, ReasonIntermittentServfail, nil, 2},
		// BIND recursion yes / allow-recursion none (upref.lab.).
		{"upward referral", "upref.test.", addrUpref, VerdictLame, ReasonUpwardReferral, nil, 2},
		// The parent's own server (selfref.lab.).
		{"self referral", "selfref.test.", addrTest, VerdictLame, ReasonSelfReferral, nil, 2},
		// A referral to a zone that is neither the zone nor an ancestor.
		{"referral to another zone", "otherref.test.", addrOtherRef, VerdictLame, ReasonReferralOtherZone, nil, 2},
		// An answer without AA.
		{"AA=0 answer", "nonauth.test.", addrNonAuth, VerdictLame, ReasonNotAuthoritative, nil, 2},
		// The same from a recursive resolver, Unbound's rec_lame (recursive.lab.).
		{"RA=1 AA=0", "recursive.test.", addrRecursive, VerdictLame, ReasonRecursiveNotAuthoritative, []string{FlagOpenRecursor}, 2},
		// AA=1 and the parent's SOA.
		{"SOA with the wrong owner", "wrongsoa.test.", addrWrongSOA, VerdictLame, ReasonWrongSOAOwner, nil, 2},
		// AA=1, NODATA without an SOA.
		{"no SOA", "nosoa.test.", addrNoSOA, VerdictLame, ReasonNoSOA, nil, 2},
		// A CNAME at the zone name.
		{"CNAME at the apex", "cname.test.", addrCNAME, VerdictLame, ReasonCNAMEAtApex, nil, 2},
		// A stale copy of the parent (parentsoa.lab.).
		{"NXDOMAIN", "parentsoa.test.", addrStale, VerdictLame, ReasonNXDomain, nil, 2},
		// NOERROR, AA=0, nothing in any section.
		{"empty non-authoritative", "empty.test.", addrEmpty, VerdictLame, ReasonEmptyNonAuthoritative, nil, 2},
		// An rcode without a reason of its own.
		{"NOTAUTH", "notauth.test.", addrNotAuth, VerdictLame, "rcode_notauth", nil, 2},
		// FORMERR with and without EDNS.
		{"FORMERR always", "formerr.test.", addrFormerr, VerdictLame, ReasonBrokenServer, []string{FlagEDNSNoncompliant}, 2},
		// EDNS-intolerant, fine without.
		{"EDNS intolerant", "noedns.test.", addrNoEDNS, VerdictAuthoritative, ReasonAuthoritative, []string{FlagEDNSNoncompliant}, 2},
		// FORMERR without EDNS, fine with it: classified by P2.
		{"EDNS required", "ednsonly.test.", addrEDNSOnly, VerdictAuthoritative, ReasonAuthoritative, nil, 2},
		// TC=1, TCP answers; then the EDNS check (TC again: compliant).
		{"TC=1, TCP works", "tc.test.", addrTC, VerdictAuthoritative, ReasonAuthoritative, nil, 3},
		// TC=1, and nothing listens on TCP.
		{"TC=1, TCP fails", "tcfail.test.", addrTCNoTCP, VerdictInconclusive, ReasonTCPFailedAfterTruncation, nil, 2},
		// Silence (blackhole.lab.): P1, P1 again, P2.
		{"silence", "blackhole.test.", addrSilent, VerdictInconclusive, ReasonUnresponsive, nil, 3},
		// Nothing listens (closed.lab.): ICMP port unreachable.
		{"closed port", "closed.test.", addrClosed, VerdictInconclusive, ReasonNoDNSService, nil, 1},
		// Replies with a wrong ID only.
		{"wrong ID", "wrongid.test.", addrWrongID, VerdictInconclusive, ReasonMismatchedReply, nil, 3},
		// Replies from another address only.
		{"reply from another address", "elsewhere.test.", addrElsewhere, VerdictInconclusive, ReasonMismatchedReply, nil, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := patient
			switch tt.reason {
			case ReasonUnresponsive, ReasonNoDNSService, ReasonMismatchedReply, ReasonIntermittentServfail:
				r = quick
			}
			p := r.Probe(context.Background(), tt.zone, netip.AddrPortFrom(tt.server, 0))
			flags := tt.flags
			if flags == nil {
				flags = []string{}
			}
			got := []any{p.Verdict, p.Reason, p.Flags, p.Packets, VerdictOf(p.Reason)}
			want := []any{tt.verdict, tt.reason, flags, tt.packets, tt.verdict}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Probe(%s, %s) (-want +got):\n%s", tt.zone, tt.server, diff)
			}
			// The SOA of an authoritative reply only: not from a recursive
			// answer, a referral or a stale parent's NXDOMAIN.
			if hasSOA := p.SOA != (SOA{}); hasSOA != (tt.verdict == VerdictAuthoritative) {
				t.Errorf("Probe(%s, %s) SOA %+v with verdict %s", tt.zone, tt.server, p.SOA, p.Verdict)
			}
			if p.Zone != tt.zone || p.Server != netip.AddrPortFrom(tt.server, l.port) {
				t.Errorf("Probe identifies %s %s", p.Zone, p.Server)
			}
			if got := l.count(tt.server).Load(); tt.server != addrClosed && got > int64(p.Packets) {
				t.Errorf("server saw %d queries, probe says it sent %d", got, p.Packets)
			}
		})
	}
}

func TestProbeSOAFields(t *testing.T) {
	l := newLab(t)
	r := newTestResolver(t, l.config())
	p := r.Probe(context.Background(), "Good.Test", netip.AddrPortFrom(addrGood1, l.port))
	want := SOA{MName: "ns1.good.test.", RName: `first\.last.good.test.`, Serial: 2025112201}
	if p.Verdict != VerdictAuthoritative || p.SOA != want || p.Rcode != "NOERROR" {
		t.Errorf("Probe = %+v", p)
	}
	if p.Zone != "good.test." {
		t.Errorf("zone %q, want canonical good.test.", p.Zone)
	}
}

func TestProbeVantageError(t *testing.T) {
	l := newLab(t)
	cfg := l.config()
	cfg.DisableIPv6 = true
	r := newTestResolver(t, cfg)
	for _, s := range []string{"[::1]:53", "[fe80::1]:53", "0.0.0.0:53"} {
		p := r.Probe(context.Background(), "good.test.", netip.MustParseAddrPort(s))
		if p.Reason != ReasonVantageError || p.Verdict != VerdictInconclusive || p.Packets != 0 {
			t.Errorf("Probe(%s) = %s/%s after %d packets, want inconclusive/vantage_error after 0", s, p.Verdict, p.Reason, p.Packets)
		}
	}
	// An IPv4-mapped address is probed as IPv4.
	p := r.Probe(context.Background(), "good.test.", netip.AddrPortFrom(netip.AddrFrom16(addrGood1.As16()), l.port))
	if p.Reason != ReasonAuthoritative || !p.Server.Addr().Is4() {
		t.Errorf("mapped address: %+v", p)
	}
}

func TestProbeAfterClose(t *testing.T) {
	l := newLab(t)
	r, err := New(l.config())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	p := r.Probe(context.Background(), "good.test.", netip.AddrPortFrom(addrGood1, 0))
	if p.Reason != ReasonVantageError || p.Packets != 0 {
		t.Errorf("after Close: %+v", p)
	}
	if _, err := r.Delegation(context.Background(), "good.test."); err == nil {
		t.Error("Delegation after Close: no error")
	}
}

// Without the EDNS check (verify), a clean P1 stays one packet, and the
// replies to the EDNS queries the round sends anyway are still judged.
func TestProbeEDNSWithoutCheck(t *testing.T) {
	l := newLab(t)
	cfg := l.config()
	cfg.SkipEDNSCheck = true
	r := newTestResolver(t, cfg)
	tests := []struct {
		zone    string
		server  netip.Addr
		flags   []string
		packets int
	}{
		{"upref.test.", addrUprefNoEDN, []string{}, 1},
		{"noopt.test.", addrNoOPT, []string{}, 1},
		// P2 follows P1's REFUSED: its reply has no OPT.
		{"refused.test.", addrRefNoOPT, []string{FlagEDNSNoncompliant}, 2},
		{"refused.test.", addrRefused, []string{}, 2},
	}
	for _, tt := range tests {
		p := r.Probe(context.Background(), tt.zone, netip.AddrPortFrom(tt.server, 0))
		if diff := cmp.Diff([]any{tt.flags, tt.packets}, []any{p.Flags, p.Packets}); diff != "" {
			t.Errorf("Probe(%s, %s) flags and packets (-want +got):\n%s", tt.zone, tt.server, diff)
		}
	}
}
