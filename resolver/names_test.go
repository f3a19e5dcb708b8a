package resolver

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/lamers-dev/lamers/resolver/resolvertest"
)

// Zones whose labels hold octets that presentation form escapes, served by
// resolvertest's authoritative servers on loopback. The zone file text
// spells the names in different ways (BIND's \DDD, miekg/dns's \X, upper
// case); on the wire they are the same octets, and what the resolver
// returns is the one canonical form (names.go): lower case, BIND's escapes.
type oddZone struct {
	file  string // the owner name as the parent's zone file writes it
	input string // how a user or a log might give it
	want  string // canonical
}

var oddZones = []oddZone{
	{`Big\ Shop.test.`, `big\032shop.test`, `big\032shop.test.`},     // a space, miekg/dns's escape
	{`big\032shop2.test.`, `BIG\ SHOP2.TEST.`, `big\032shop2.test.`}, // a space, BIND's escape
	{`say\"hi.test.`, `say\034hi.test`, `say\"hi.test.`},             // a double quote
	{`we\.ird.test.`, `WE\046IRD.test`, `we\.ird.test.`},             // a dot inside a label
	{`semi\;colon.test.`, `semi\059colon.test.`, `semi\;colon.test.`},
	{`at\@sign.test.`, `at\064sign.test.`, `at\@sign.test.`},
	{`paren\(.test.`, `paren\040.test.`, `paren\(.test.`},
	{`caf\195\169.test.`, `CAF\195\169.test.`, `caf\195\169.test.`}, // é in UTF-8
	{`UPPER.test.`, `Upper.Test`, `upper.test.`},
	{`dollar$.test.`, `dollar\$.test`, `dollar\$.test.`}, // BIND escapes '$', miekg/dns does not
}

var (
	oddRoot = netip.MustParseAddr("127.54.0.1")
	oddTLD  = netip.MustParseAddr("127.54.1.1")
	oddNS   = netip.MustParseAddr("127.54.2.1") // serves every odd zone
)

// startOddTree serves the root, test. and the odd zones; the NS name of
// each odd zone is `ns\@odd.nic.test.` (resolved iteratively, an '@' in a
// label), and big\032shop.test. also has one inside the zone, glued, whose
// first label holds a space.
func startOddTree(t *testing.T) Config {
	t.Helper()
	root := `
. 3600 IN SOA a.root.test. hostmaster.nic.test. 1 1800 900 604800 300
. 3600 IN NS  a.root.test.
test. 3600 IN NS ns1.nic.test.
ns1.nic.test. 3600 IN A 127.54.1.1
a.root.test. 3600 IN A 127.54.0.1`
	tld := []string{
		`test. 3600 IN SOA ns1.nic.test. hostmaster.nic.test. 1 1800 900 604800 300`,
		`test. 3600 IN NS ns1.nic.test.`,
		`ns1.nic.test. 3600 IN A 127.54.1.1`,
		`a.root.test. 3600 IN A 127.54.0.1`,
		`NS\@Odd.nic.test. 3600 IN A 127.54.2.1`,
		`ns\032one.big\ shop.test. 3600 IN A 127.54.2.1`,
		`mail\032x.nic.test. 3600 IN A 192.0.2.25`,
	}
	var children []string
	for _, z := range oddZones {
		tld = append(tld, z.file+` 3600 IN NS NS\064ODD.nic.test.`)
		text := []string{
			z.file + ` 300 IN SOA ns\@odd.nic.test. First\.Last.` + z.file + ` 7 1800 900 604800 300`,
			z.file + ` 300 IN NS ns\@odd.nic.test.`,
			z.file + ` 300 IN MX 10 Mail\ X.nic.test.`,
		}
		if z.want == `big\032shop.test.` {
			tld = append(tld, z.file+` 3600 IN NS ns\032one.big\032shop.test.`)
			text = append(text, z.file+` 300 IN NS ns\032one.big\032shop.test.`,
				`ns\032one.big\032shop.test. 300 IN A 127.54.2.1`)
		}
		children = append(children, strings.Join(text, "\n"))
	}
	h := map[netip.Addr]dns.Handler{}
	var err error
	if h[oddRoot], err = resolvertest.AuthHandler(root); err != nil {
		t.Fatal(err)
	}
	if h[oddTLD], err = resolvertest.AuthHandler(strings.Join(tld, "\n")); err != nil {
		t.Fatal(err)
	}
	if h[oddNS], err = resolvertest.AuthHandler(children...); err != nil {
		t.Fatal(err)
	}
	n, err := resolvertest.Listen(h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return Config{RootHints: []netip.Addr{oddRoot}, Port: n.Port, QPS: -1,
		Timeouts: []time.Duration{time.Second, time.Second}, TCPTimeout: time.Second}
}

// Every stage of the resolver, for every odd zone given in two spellings:
// the probe's question matches its reply, the delegation, the check, the
// attribution, the SOA and the mail hosts come back in canonical form.
func TestOddNames(t *testing.T) {
	cfg := startOddTree(t)
	ctx := context.Background()
	const nsName = `ns\@odd.nic.test.`
	for _, z := range oddZones {
		for _, in := range []string{z.input, z.want} {
			t.Run(fmt.Sprintf("%q", in), func(t *testing.T) {
				r := newTestResolver(t, cfg)
				wantNS := []string{nsName}
				if z.want == `big\032shop.test.` {
					wantNS = []string{nsName, `ns\032one.big\032shop.test.`}
				}

				p := r.Probe(ctx, in, netip.AddrPortFrom(oddNS, 0))
				if p.Zone != z.want || p.Reason != ReasonAuthoritative {
					t.Errorf("Probe: zone %q reason %s, want %q authoritative", p.Zone, p.Reason, z.want)
				}
				wantRName := `First\.Last.` + z.want
				if p.SOA.MName != nsName || !strings.EqualFold(p.SOA.RName, wantRName) || !strings.HasPrefix(p.SOA.RName, `First\.Last.`) {
					t.Errorf("Probe: SOA %+v, want MNAME %s, RNAME %s (the mailbox's case kept)", p.SOA, nsName, wantRName)
				}

				d, err := r.Delegation(ctx, in)
				if err != nil || d.Zone != z.want || !d.Delegated || d.Parent != "test." {
					t.Fatalf("Delegation: %+v, %v; want %q delegated by test.", d, err, z.want)
				}
				var got []string
				for _, ns := range d.NS {
					got = append(got, ns.Name)
					if len(ns.Addrs) != 1 || ns.Addrs[0] != oddNS {
						t.Errorf("Delegation: %s has %v, want %s", ns.Name, ns.Addrs, oddNS)
					}
				}
				if fmt.Sprint(got) != fmt.Sprint(slices.Sorted(slices.Values(wantNS))) || fmt.Sprint(d.ChildNS) != fmt.Sprint(slices.Sorted(slices.Values(wantNS))) || len(d.ChildOnly) != 0 {
					t.Errorf("Delegation: NS %q, child NS %q, child only %+v; want %q in both", got, d.ChildNS, d.ChildOnly, wantNS)
				}

				c, err := r.Check(ctx, in, nil)
				if err != nil || c.Zone != z.want || len(c.Servers) == 0 {
					t.Fatalf("Check: %+v, %v", c, err)
				}
				for _, s := range c.Servers {
					if s.Verdict != VerdictAuthoritative {
						t.Errorf("Check: %s %s %s %s, want authoritative", s.Name, s.Address, s.Verdict, s.Reason)
					}
				}

				for _, q := range []string{"www." + in, `odd\032host.` + z.want} {
					zone, err := r.ZoneFor(ctx, q, oddNS)
					if err != nil || zone != z.want {
						t.Errorf("ZoneFor(%q): %q, %v; want %q", q, zone, err, z.want)
					}
				}

				soa, err := r.SOA(ctx, in)
				if err != nil || soa.Zone != z.want || soa.MName != nsName || !strings.HasPrefix(soa.RName, `First\.Last.`) {
					t.Errorf("SOA: %+v, %v", soa, err)
				}

				mh, err := r.MailHosts(ctx, in)
				if err != nil || mh.Domain != z.want || len(mh.Exchanges) != 1 || mh.Exchanges[0].Name != `mail\032x.nic.test.` {
					t.Errorf("MailHosts: %+v, %v; want domain %q, exchange mail\\032x.nic.test.", mh, err, z.want)
				}
			})
		}
	}
}

// FuzzCanonicalName checks parseName (internal/dnsname) against miekg/dns: a name it
// accepts packs to the same wire octets as its canonical form (ASCII case
// aside), its canonical form is what it gives for the name miekg/dns
// writes after a trip over the wire, and it is idempotent. Seeds:
// testdata/fuzz/FuzzCanonicalName.
func FuzzCanonicalName(f *testing.F) {
	for _, s := range []string{`www.upref.lab`, `we\.ird.lab`, `sp\ ace.lab.`, `dollar$.lab`, "caf\xc3\xa9.lab", `.`, `a\256`, `\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseName(s)
		if err != nil {
			return
		}
		if again, err := parseName(c); err != nil || again != c {
			t.Fatalf("parseName(%q) = %q; of that %q, %v", s, c, again, err)
		}
		if c == "." {
			return
		}
		wire := func(name string) []byte {
			buf := make([]byte, 256)
			n, err := dns.PackDomainName(name, buf, 0, nil, false)
			if err != nil {
				t.Fatalf("pack %q (canonical form of %q): %v", name, s, err)
			}
			w := buf[:n]
			for i, c := range w {
				if 'A' <= c && c <= 'Z' {
					w[i] = c + 'a' - 'A'
				}
			}
			return w
		}
		w := wire(c)
		if !bytes.Equal(w, wire(fqdn(escapeHigh(s)))) {
			t.Fatalf("%q and its canonical form %q pack differently", s, c)
		}
		back, _, err := dns.UnpackDomainName(w, 0)
		if err != nil {
			t.Fatalf("unpack %q: %v", c, err)
		}
		if got := canonical(back); got != c {
			t.Fatalf("canonical(%q) (miekg/dns's spelling of %q) = %q", back, c, got)
		}
	})
}

// escapeHigh writes the octets above 0x7e of s as \DDD, which means the
// same (RFC 1035 §5.1) and keeps miekg/dns's IsFqdn, which counts the
// backslashes before a final dot by runes, from miscounting.
func escapeHigh(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s) && s[i+1] > 0x7e: // an escaped high octet
			fmt.Fprintf(&b, "\\%03d", s[i+1])
			i++
		case c == '\\' && i+1 < len(s):
			b.WriteString(s[i : i+2])
			i++
		case c > 0x7e:
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// fqdn appends the final dot when s has none that is not escaped
// (dns.Fqdn counts a multi-byte character before a backslash wrong).
func fqdn(s string) string {
	if !strings.HasSuffix(s, ".") {
		return s + "."
	}
	bs := 0
	for i := len(s) - 2; i >= 0 && s[i] == '\\'; i-- {
		bs++
	}
	if bs%2 == 1 {
		return s + "."
	}
	return s
}

// The TCP path compares the question as the UDP path does: a server that
// truncates every UDP reply for big\032shop.test. answers over TCP, with
// the question echoed in miekg/dns's spelling (big\ shop.test.).
func TestOddNameOverTCP(t *testing.T) {
	addr := netip.MustParseAddr("127.54.3.1")
	tcp := resolvertest.Reply{AA: true, Answer: `Big\ Shop.test. 300 IN SOA ns.test. h.test. 7 1800 900 604800 300`}
	n, err := resolvertest.Listen(map[netip.Addr]dns.Handler{addr: transportSplit(resolvertest.Reply{TC: true}, tcp)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	r := newTestResolver(t, Config{RootHints: []netip.Addr{addr}, Port: n.Port, QPS: -1, SkipEDNSCheck: true,
		Timeouts: []time.Duration{time.Second}, TCPTimeout: time.Second})
	p := r.Probe(context.Background(), `big\032shop.test`, netip.AddrPortFrom(addr, 0))
	if p.Zone != `big\032shop.test.` || p.Reason != ReasonAuthoritative || p.Packets != 2 || p.SOA.Serial != 7 {
		t.Errorf("Probe: zone %q reason %s, %d packets, SOA %+v; want big\\032shop.test. authoritative after UDP and TCP, serial 7",
			p.Zone, p.Reason, p.Packets, p.SOA)
	}
}
