package resolver

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/lamers-dev/lamers/resolver/resolvertest"
)

// A private DNS tree on loopback, modelled on the e2e suite's lab (real BIND,
// Unbound and NSD in a network namespace, e2e/expect_test.go): a root,
// the TLDs test. and alt., and one child zone per row of the classification
// table (docs/verification.md, section 3). Every server listens on the same random
// port on its own 127.53.x.y address, UDP and TCP.

// The tree's addresses.
var (
	addrRoot       = netip.MustParseAddr("127.53.0.1")
	addrTest       = netip.MustParseAddr("127.53.1.1") // ns1.nic.test: test. (also the selfref.test NS)
	addrAlt        = netip.MustParseAddr("127.53.1.2") // ns1.nic.alt: alt.
	addrGood1      = netip.MustParseAddr("127.53.2.1") // ns1.good.test (glue)
	addrGood2      = netip.MustParseAddr("127.53.2.3") // ns-good.alt (no glue: iterative lookup)
	addrOld        = netip.MustParseAddr("127.53.2.5") // ns-old.alt: only in good.test's apex NS set
	addrRefused    = netip.MustParseAddr("127.53.3.1")
	addrServfail   = netip.MustParseAddr("127.53.3.2")
	addrFlaky      = netip.MustParseAddr("127.53.3.3")
	addrUpref      = netip.MustParseAddr("127.53.4.1")
	addrOtherRef   = netip.MustParseAddr("127.53.4.2")
	addrNonAuth    = netip.MustParseAddr("127.53.4.3")
	addrWrongSOA   = netip.MustParseAddr("127.53.4.4")
	addrNoSOA      = netip.MustParseAddr("127.53.4.5")
	addrCNAME      = netip.MustParseAddr("127.53.4.6")
	addrEmpty      = netip.MustParseAddr("127.53.4.7")
	addrNotAuth    = netip.MustParseAddr("127.53.4.8")
	addrRecursive  = netip.MustParseAddr("127.53.5.1")
	addrClosed     = netip.MustParseAddr("127.53.6.1") // nothing listens: ICMP port unreachable
	addrSilent     = netip.MustParseAddr("127.53.6.2")
	addrStale      = netip.MustParseAddr("127.53.7.1") // stale copy of test.: AA NXDOMAIN
	addrFormerr    = netip.MustParseAddr("127.53.8.1")
	addrNoEDNS     = netip.MustParseAddr("127.53.8.2")
	addrEDNSOnly   = netip.MustParseAddr("127.53.8.3")
	addrNoOPT      = netip.MustParseAddr("127.53.8.4") // answers, never with OPT (djbdns tinydns 1.05)
	addrRefNoOPT   = netip.MustParseAddr("127.53.8.5") // REFUSED, never with OPT
	addrUprefNoEDN = netip.MustParseAddr("127.53.8.6") // upward referral; FORMERR to EDNS
	addrTC         = netip.MustParseAddr("127.53.9.1")
	addrTCNoTCP    = netip.MustParseAddr("127.53.9.2")
	addrWrongID    = netip.MustParseAddr("127.53.10.1")
	addrElsewhere  = netip.MustParseAddr("127.53.10.2") // replies come from 127.53.10.3
	addrElsewhere2 = netip.MustParseAddr("127.53.10.3")
	addrDeep       = netip.MustParseAddr("127.53.11.1")
	addrLegacy     = netip.MustParseAddr("127.53.12.1") // ns-legacy.nic.test: UDP only, no OPT (tinydns)
	addrUnlisted   = netip.MustParseAddr("127.53.99.1")
)

const rootZone = `
.                    3600 IN SOA a.root-servers.test. hostmaster.nic.test. 1 1800 900 604800 300
.                    3600 IN NS  a.root-servers.test.
test.                3600 IN NS  ns1.nic.test.
alt.                 3600 IN NS  ns1.nic.alt.
a.root-servers.test. 3600 IN A   127.53.0.1
ns1.nic.test.        3600 IN A   127.53.1.1
ns1.nic.alt.         3600 IN A   127.53.1.2
`

const testZone = `
test.                 3600 IN SOA ns1.nic.test. hostmaster.nic.test. 2026112201 1800 900 604800 300
test.                 3600 IN NS  ns1.nic.test.
ns1.nic.test.         3600 IN A   127.53.1.1
good.test.            3600 IN NS  ns1.good.test.
good.test.            3600 IN NS  ns-good.alt.
ns1.good.test.        3600 IN A   127.53.2.1
refused.test.         3600 IN NS  ns1.refused.test.
ns1.refused.test.     3600 IN A   127.53.3.1
servfail.test.        3600 IN NS  ns-servfail.nic.test.
ns-servfail.nic.test. 3600 IN A   127.53.3.2
flaky.test.           3600 IN NS  ns-flaky.nic.test.
ns-flaky.nic.test.    3600 IN A   127.53.3.3
upref.test.           3600 IN NS  ns-upref.nic.test.
ns-upref.nic.test.    3600 IN A   127.53.4.1
selfref.test.         3600 IN NS  ns1.nic.test.
nsnx.test.            3600 IN NS  ns.missing.alt.
nsnx.test.            3600 IN NS  ns1.good.test.
; a lame server of several zones
halflame.test.        3600 IN NS  ns1.good.test.
halflame.test.        3600 IN NS  ns-upref.nic.test.
sub.upref.test.       3600 IN NS  ns-upref.nic.test.
; NS name that is a CNAME (as the e2e lab's cnamens.lab.), and a CNAME chain
; longer than RFC 1536 allows
cnamens.test.         3600 IN NS    alias.nic.test.
alias.nic.test.       3600 IN CNAME ns1.good.test.
cnloop.test.          3600 IN NS    c0.nic.test.
c0.nic.test.          3600 IN CNAME c1.nic.test.
c1.nic.test.          3600 IN CNAME c2.nic.test.
c2.nic.test.          3600 IN CNAME c3.nic.test.
c3.nic.test.          3600 IN CNAME c4.nic.test.
c4.nic.test.          3600 IN CNAME c5.nic.test.
c5.nic.test.          3600 IN CNAME c6.nic.test.
c6.nic.test.          3600 IN CNAME c7.nic.test.
c7.nic.test.          3600 IN CNAME c8.nic.test.
c8.nic.test.          3600 IN CNAME c9.nic.test.
c9.nic.test.          3600 IN A     127.53.2.1
; the zones of lamers check's table (check_test.go)
closed.test.          3600 IN NS    ns-closed.nic.test.
ns-closed.nic.test.   3600 IN A     127.53.6.1
blackhole.test.       3600 IN NS    ns-silent.nic.test.
ns-silent.nic.test.   3600 IN A     127.53.6.2
moved.test.           3600 IN NS    ns1.good.test.
moved.test.           3600 IN NS    ns-good.alt.
legacy.test.          3600 IN NS    ns-legacy.nic.test.
legacy.test.          3600 IN NS    ns-good.alt.
ns-legacy.nic.test.   3600 IN A     127.53.12.1
; every name below deep.test is a referral one label further down
deep.test.            3600 IN NS    ns-deep.nic.test.
ns-deep.nic.test.     3600 IN A     127.53.11.1
`

const altZone = `
alt.           3600 IN SOA ns1.nic.alt. hostmaster.nic.alt. 1 1800 900 604800 300
alt.           3600 IN NS  ns1.nic.alt.
ns1.nic.alt.   3600 IN A   127.53.1.2
ns-good.alt.   3600 IN A   127.53.2.3
ns-old.alt.    3600 IN A   127.53.2.5
`

const goodZone = `
good.test.     300 IN SOA ns1.good.test. first\.last.good.test. 2025112201 1800 900 604800 300
good.test.     300 IN NS  ns1.good.test.
good.test.     300 IN NS  ns-good.alt.
good.test.     300 IN NS  ns-old.alt.
ns1.good.test. 300 IN A   127.53.2.1
www.good.test. 300 IN A   127.200.0.14
`

// cnamensZone lists the alias the parent lists (the e2e lab's cnamens.lab.).
const cnamensZone = `
cnamens.test. 300 IN SOA ns1.good.test. hostmaster.cnamens.test. 1 1800 900 604800 300
cnamens.test. 300 IN NS  alias.nic.test.
`

// movedZone's apex lists ns-old.alt., which the parent does not, and not
// ns-good.alt., which the parent does: a move half done.
const movedZone = `
moved.test. 300 IN SOA ns1.good.test. hostmaster.moved.test. 5 1800 900 604800 300
moved.test. 300 IN NS  ns1.good.test.
moved.test. 300 IN NS  ns-old.alt.
`

// legacyZone is served by a tinydns (serial 9) and by NSD (the copy
// legacyZoneNew, serial 10: the tinydns copy is not updated).
const legacyZone = `
legacy.test. 300 IN SOA ns-legacy.nic.test. hostmaster.legacy.test. 9 1800 900 604800 300
legacy.test. 300 IN NS  ns-legacy.nic.test.
legacy.test. 300 IN NS  ns-good.alt.
`

var legacyZoneNew = strings.Replace(legacyZone, " 9 1800", " 10 1800", 1)

const halflameZone = `
halflame.test. 300 IN SOA ns1.good.test. hostmaster.halflame.test. 7 1800 900 604800 300
halflame.test. 300 IN NS  ns1.good.test.
halflame.test. 300 IN NS  ns-upref.nic.test.
`

// pickPort picks a port free on 127.0.0.1 for UDP and TCP by binding
// 127.0.0.1:0, and holds it until the test ends.
func pickPort(t testing.TB) uint16 {
	t.Helper()
	for range 20 {
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := uint16(pc.LocalAddr().(*net.UDPAddr).Port)
		ln, err := net.Listen("tcp4", netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port).String())
		if err != nil {
			pc.Close()
			continue
		}
		t.Cleanup(func() { pc.Close(); ln.Close() })
		return port
	}
	t.Fatal("no free port on 127.0.0.1")
	return 0
}

// labTest is a running tree.
type labTest struct {
	port uint16
	// queries counts the queries each server address received.
	queries map[netip.Addr]*atomic.Int64
}

// newLab starts the tree on a port from pickPort.
func newLab(t testing.TB) *labTest {
	t.Helper()
	l := &labTest{port: pickPort(t), queries: map[netip.Addr]*atomic.Int64{}}

	auth := func(zones ...string) dns.Handler { return authHandler(t, zones...) }
	l.serve(t, addrRoot, auth(rootZone), true)
	l.serve(t, addrTest, auth(testZone), true)
	l.serve(t, addrAlt, auth(altZone), true)
	l.serve(t, addrGood1, auth(goodZone, halflameZone, cnamensZone, movedZone), true)
	l.serve(t, addrGood2, auth(goodZone, movedZone, legacyZoneNew), true)
	l.serve(t, addrOld, auth(movedZone), true)
	// djbdns tinydns 1.05: UDP only (its TCP server is axfrdns), no OPT.
	l.serve(t, addrLegacy, withoutOPT(auth(legacyZone)), false)

	// A stale copy of test. that no longer has these delegations
	// (the e2e lab's parentsoa.lab.).
	l.serve(t, addrStale, auth(`
test. 300 IN SOA ns1.nic.test. hostmaster.nic.test. 2019010101 1800 900 604800 300
test. 300 IN NS  ns1.nic.test.`), true)

	// The lame servers, each answering what a real broken server answers.
	l.serve(t, addrRefused, resolvertest.Reply{Rcode: dns.RcodeRefused}, true)
	l.serve(t, addrServfail, resolvertest.Reply{Rcode: dns.RcodeServerFailure}, true)
	var flaky atomic.Int64
	l.serve(t, addrFlaky, dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		if flaky.Add(1)%2 == 1 { // SERVFAIL, then silence, and so on
			m := new(dns.Msg)
			m.SetRcode(req, dns.RcodeServerFailure)
			w.WriteMsg(m)
		}
	}), true)
	// BIND with recursion yes; allow-recursion {none;} (the e2e lab's upref.lab.).
	l.serve(t, addrUpref, resolvertest.Reply{Ns: `. 3600000 IN NS a.root-servers.test.`}, true)
	l.serve(t, addrOtherRef, resolvertest.Reply{Ns: `elsewhere.alt. 3600 IN NS ns1.elsewhere.alt.`}, true)
	l.serve(t, addrNonAuth, resolvertest.Reply{Answer: `nonauth.test. 300 IN SOA ns1.nonauth.test. h.nonauth.test. 1 2 3 4 5`}, true)
	l.serve(t, addrRecursive, resolvertest.Reply{RA: true, Answer: `recursive.test. 300 IN SOA ns.recursive.test. h.recursive.test. 1 2 3 4 5`}, true)
	l.serve(t, addrWrongSOA, resolvertest.Reply{AA: true, Answer: `test. 300 IN SOA ns1.nic.test. hostmaster.nic.test. 1 2 3 4 5`}, true)
	l.serve(t, addrNoSOA, resolvertest.Reply{AA: true}, true)
	l.serve(t, addrCNAME, resolvertest.Reply{AA: true, Answer: `cname.test. 300 IN CNAME good.test.`}, true)
	l.serve(t, addrEmpty, resolvertest.Reply{}, true)
	l.serve(t, addrNotAuth, resolvertest.Reply{Rcode: dns.RcodeNotAuth}, true)
	l.serve(t, addrFormerr, resolvertest.Reply{Rcode: dns.RcodeFormatError}, true)
	soaReply := func(zone string) resolvertest.Reply {
		return resolvertest.Reply{AA: true, Answer: zone + ` 300 IN SOA ns.` + zone + ` hostmaster.` + zone + ` 3 1800 900 604800 300`}
	}
	l.serve(t, addrNoEDNS, ednsSplit(soaReply("noedns.test."), resolvertest.Reply{Rcode: dns.RcodeFormatError}), true)
	l.serve(t, addrEDNSOnly, ednsSplit(resolvertest.Reply{Rcode: dns.RcodeFormatError}, soaReply("ednsonly.test.")), true)
	l.serve(t, addrNoOPT, withoutOPT(soaReply("noopt.test.")), true)
	l.serve(t, addrRefNoOPT, withoutOPT(resolvertest.Reply{Rcode: dns.RcodeRefused}), true)
	l.serve(t, addrUprefNoEDN, ednsSplit(resolvertest.Reply{Ns: `. 3600000 IN NS a.root-servers.test.`}, resolvertest.Reply{Rcode: dns.RcodeFormatError}), true)
	l.serve(t, addrTC, transportSplit(resolvertest.Reply{TC: true}, soaReply("tc.test.")), true)
	l.serve(t, addrTCNoTCP, resolvertest.Reply{TC: true}, false)

	// Refers every query one label further down towards the query name.
	deepN := l.counter(addrDeep)
	l.serve(t, addrDeep, dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		labels := dns.SplitDomainName(req.Question[0].Name)
		owner := dns.Fqdn(strings.Join(labels[max(0, len(labels)-int(deepN.Load())-2):], "."))
		m.Ns = resolvertest.MustRRs(owner + " 3600 IN NS ns-deep.nic.test.")
		m.Extra = resolvertest.MustRRs("ns-deep.nic.test. 3600 IN A 127.53.11.1")
		w.WriteMsg(m)
	}), false)

	// Raw sockets for what dns.Server will not do.
	l.rawUDP(t, addrSilent, func(*net.UDPConn, netip.AddrPort, *dns.Msg) {})
	l.rawUDP(t, addrWrongID, func(c *net.UDPConn, from netip.AddrPort, req *dns.Msg) {
		m := soaReply("wrongid.test.").Msg(req)
		m.Id++
		out, _ := m.Pack()
		c.WriteToUDPAddrPort(out, from)
	})
	other, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addrElsewhere2, 0)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	l.rawUDP(t, addrElsewhere, func(_ *net.UDPConn, from netip.AddrPort, req *dns.Msg) {
		out, _ := soaReply("elsewhere.test.").Msg(req).Pack()
		other.WriteToUDPAddrPort(out, from)
	})
	return l
}

// count returns a's query counter. Counters are created while the tree is
// built (serve, rawUDP); afterwards an address without server gets a fresh
// zero counter and the map is only read.
func (l *labTest) count(a netip.Addr) *atomic.Int64 {
	if n, ok := l.queries[a]; ok {
		return n
	}
	return new(atomic.Int64)
}

func (l *labTest) counter(a netip.Addr) *atomic.Int64 {
	n, ok := l.queries[a]
	if !ok {
		n = new(atomic.Int64)
		l.queries[a] = n
	}
	return n
}

// serve runs h on a:port over UDP and, when tcp, TCP.
func (l *labTest) serve(t testing.TB, a netip.Addr, h dns.Handler, tcp bool) {
	t.Helper()
	n := l.counter(a)
	counted := dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) { n.Add(1); h.ServeDNS(w, req) })
	addr := netip.AddrPortFrom(a, l.port).String()
	pc, err := net.ListenPacket("udp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	activate(t, &dns.Server{PacketConn: pc, Handler: counted})
	if tcp {
		ln, err := net.Listen("tcp4", addr)
		if err != nil {
			t.Fatal(err)
		}
		activate(t, &dns.Server{Listener: ln, Handler: counted})
	}
}

// activate starts s and stops it when the test ends.
func activate(t testing.TB, s *dns.Server) {
	t.Helper()
	if err := resolvertest.Activate(s); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown() })
}

// rawUDP runs a bare UDP read loop on a:port calling h for every query.
func (l *labTest) rawUDP(t testing.TB, a netip.Addr, h func(*net.UDPConn, netip.AddrPort, *dns.Msg)) {
	t.Helper()
	n := l.counter(a)
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, l.port)))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { c.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 65535)
		for {
			k, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			req := new(dns.Msg)
			if req.Unpack(buf[:k]) != nil {
				continue
			}
			n.Add(1)
			h(c, from, req)
		}
	}()
}

func ednsSplit(plain, edns resolvertest.Reply) dns.Handler {
	return dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		if req.IsEdns0() != nil {
			w.WriteMsg(edns.Msg(req))
			return
		}
		w.WriteMsg(plain.Msg(req))
	})
}

// withoutOPT answers as h with the OPT record dropped: a server that ignores
// EDNS, as djbdns's tinydns does (RFC 6891 §7 wants the OPT echoed).
func withoutOPT(h dns.Handler) dns.Handler {
	return dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) { h.ServeDNS(noOPTWriter{w}, req) })
}

type noOPTWriter struct{ dns.ResponseWriter }

func (w noOPTWriter) WriteMsg(m *dns.Msg) error {
	m.Extra = slices.DeleteFunc(m.Extra, func(rr dns.RR) bool { return rr.Header().Rrtype == dns.TypeOPT })
	return w.ResponseWriter.WriteMsg(m)
}

func transportSplit(udp, tcp resolvertest.Reply) dns.Handler {
	return dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		if w.RemoteAddr().Network() == "tcp" {
			w.WriteMsg(tcp.Msg(req))
			return
		}
		w.WriteMsg(udp.Msg(req))
	})
}

// authHandler serves zones like an authoritative server: referrals with glue
// below its zones' cuts, answers, NODATA and NXDOMAIN with the SOA, REFUSED
// outside its zones.
func authHandler(t testing.TB, zones ...string) dns.Handler {
	type zone struct {
		apex string
		rrs  []dns.RR
	}
	var zs []zone
	for _, text := range zones {
		all := resolvertest.MustRRs(text)
		zs = append(zs, zone{apex: canonical(all[0].Header().Name), rrs: all})
	}
	return dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		if req.IsEdns0() != nil {
			m.SetEdns0(1232, false)
		}
		q := req.Question[0]
		name := canonical(q.Name)
		var z *zone
		for i := range zs {
			if dns.IsSubDomain(zs[i].apex, name) && (z == nil || dns.CountLabel(zs[i].apex) > dns.CountLabel(z.apex)) {
				z = &zs[i]
			}
		}
		if z == nil {
			m.Rcode = dns.RcodeRefused
			w.WriteMsg(m)
			return
		}
		var soa dns.RR
		cut := ""
		for _, rr := range z.rrs {
			owner := canonical(rr.Header().Name)
			if rr.Header().Rrtype == dns.TypeSOA {
				soa = rr
			}
			if rr.Header().Rrtype == dns.TypeNS && owner != z.apex && dns.IsSubDomain(owner, name) &&
				(cut == "" || dns.CountLabel(owner) > dns.CountLabel(cut)) {
				cut = owner
			}
		}
		if cut != "" {
			for _, rr := range z.rrs {
				if ns, ok := rr.(*dns.NS); ok && canonical(ns.Hdr.Name) == cut {
					m.Ns = append(m.Ns, ns)
					for _, g := range z.rrs {
						if canonical(g.Header().Name) == canonical(ns.Ns) && (g.Header().Rrtype == dns.TypeA || g.Header().Rrtype == dns.TypeAAAA) {
							m.Extra = append(m.Extra, g)
						}
					}
				}
			}
			w.WriteMsg(m)
			return
		}
		m.Authoritative = true
		exists := false
		for _, rr := range z.rrs {
			if canonical(rr.Header().Name) != name {
				continue
			}
			exists = true
			if rr.Header().Rrtype == q.Qtype || rr.Header().Rrtype == dns.TypeCNAME {
				m.Answer = append(m.Answer, rr)
			}
		}
		if !exists {
			m.Rcode = dns.RcodeNameError
		}
		if len(m.Answer) == 0 {
			m.Ns = []dns.RR{soa}
		}
		w.WriteMsg(m)
	})
}

// testConfig is a Config for the tree: short timeouts, no rate limit.
func (l *labTest) config() Config {
	return Config{
		RootHints:  []netip.Addr{addrRoot},
		Port:       l.port,
		QPS:        -1,
		Timeouts:   []time.Duration{400 * time.Millisecond, 400 * time.Millisecond},
		TCPTimeout: time.Second,
	}
}

func newTestResolver(t testing.TB, cfg Config) *Resolver {
	t.Helper()
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return r
}
