// Command genlog writes a deterministic synthetic BIND 9.18 log for the
// whole-process scan benchmark (see bench/README.md).
//
//	go run ./bench/genlog -kind lame|mixed -lines N -pairs P -seed S -o FILE
//
// Every line has the print-time/print-category/print-severity prefix of
// testdata/lab/bind9.log ("22-Nov-2026 02:01:50.284 lame-servers: info: …").
//
// kind=lame: every line is a lame-servers line about one of P distinct
// (zone, server) pairs (each of them at least once, then skewed: a few
// pairs are very frequent). A pair keeps one way of failing, as real
// servers do: 70% of the pairs give B1 lines ("lame server resolving 'q'
// (in 'z'?): addr#53"), 30% B2 reason lines with one reason ("REFUSED
// unexpected RCODE resolving 'q/A/IN': addr#53", SERVFAIL, connection
// refused, FORMERR, timed out, NOTIMP, host unreachable); one line in ten
// has another, random kind. Servers: a pool of P/5 addresses (a provider
// serves many zones), one in five IPv6; zones have two servers each.
//
// kind=mixed: 5% of the lines are such lame-servers lines, the rest are other
// BIND categories (queries, client, security, query-errors, resolver,
// edns-disabled, dnssec, cname, general, network, notify, xfer-out,
// rate-limit, serve-stale). None of those contains the word "lame" and none
// is evidence for lamers, so the number of lame-servers lines is exactly the
// number of events lamers must count.
//
// kind=forged: a hostile log, bare BIND 9 reason lines without prefix about
// one server and one zone ("4095 unexpected RCODE resolving 'v.ex/A/IN':
// 192.0.2.9#53", about 55 bytes), each with another word in the rcode's
// place: first every rcode number 0–4095 (each a valid evidence kind, all
// on one finding), then forged words ("X4096", …) that no resolver writes.
// -pairs and -seed are ignored.
//
// Besides FILE, genlog writes FILE.meta ("lines=… lame=… b1=… b2=… pairs=…
// seed=…"; for kind=forged "lines=… valid=… forged=…"), which bench/run.sh
// uses for its correctness check.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"time"
)

func main() {
	kind := flag.String("kind", "lame", "lame (only lame-servers lines), mixed (5% lame-servers lines) or forged (forged rcodes)")
	lines := flag.Int("lines", 2_000_000, "number of lines")
	pairs := flag.Int("pairs", 50_000, "distinct (zone, server) pairs of the lame-servers lines")
	seed := flag.Uint64("seed", 1, "random seed (same flags, same file)")
	out := flag.String("o", "", "output file (required)")
	flag.Parse()
	if *out == "" || *lines <= 0 || *pairs <= 0 || (*kind != "lame" && *kind != "mixed" && *kind != "forged") {
		flag.Usage()
		os.Exit(2)
	}
	run := run
	if *kind == "forged" {
		run = func(_ string, lines, _ int, _ uint64, path string) error { return forged(lines, path) }
	}
	if err := run(*kind, *lines, *pairs, *seed, *out); err != nil {
		fmt.Fprintln(os.Stderr, "genlog:", err)
		os.Exit(1)
	}
}

func run(kind string, lines, pairs int, seed uint64, path string) error {
	g := newGen(pairs, seed)
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	w := bufio.NewWriterSize(f, 1<<20)

	// The lame-servers lines: the first `pairs` of them visit every pair
	// once in a random order, later ones pick pairs with a skew (a few
	// pairs are very frequent, as in real logs).
	nLame := lines
	if kind == "mixed" {
		nLame = lines / 20
	}
	if nLame < pairs {
		return fmt.Errorf("%d lame-servers lines cannot cover %d pairs", nLame, pairs)
	}
	// Lame lines are spread evenly over the file (Bresenham), so the whole
	// file, not just its start, has them.
	var lame, b1 int
	var buf []byte
	acc := 0
	for i := range lines {
		buf = g.stamp(buf[:0])
		isLame := kind == "lame"
		if !isLame {
			acc += nLame
			if acc >= lines {
				acc -= lines
				isLame = true
			}
		}
		if isLame {
			var p int
			if lame < pairs {
				p = g.perm[lame]
			} else {
				r := g.rng.Float64()
				p = int(r * r * r * float64(pairs)) // skewed towards low indexes
			}
			var isB1 bool
			buf, isB1 = g.lameLine(buf, p)
			if isB1 {
				b1++
			}
			lame++
		} else {
			buf = g.otherLine(buf)
			if bytes.Contains(buf, []byte("lame")) {
				return fmt.Errorf("bug: non-lame line %d contains \"lame\": %s", i+1, buf)
			}
		}
		buf = append(buf, '\n')
		if _, err := w.Write(buf); err != nil {
			f.Close()
			return err
		}
	}
	if lame != nLame {
		return fmt.Errorf("bug: wrote %d lame-servers lines, want %d", lame, nLame)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	meta := fmt.Sprintf("lines=%d lame=%d b1=%d b2=%d pairs=%d seed=%d kind=%s\n", lines, lame, b1, lame-b1, pairs, seed, kind)
	if err := os.WriteFile(path+".meta", []byte(meta), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	fmt.Fprint(os.Stderr, path, ": ", meta)
	return nil
}

// maxRcode is the largest DNS response code (12 bits, RFC 6891 §6.1.3).
const maxRcode = 4095

// forged writes the kind=forged log (see the package doc).
func forged(lines int, path string) error {
	var b bytes.Buffer
	valid := 0
	for i := range lines {
		if i <= maxRcode {
			valid++
			fmt.Fprintf(&b, "%d", i)
		} else {
			fmt.Fprintf(&b, "X%d", i)
		}
		b.WriteString(" unexpected RCODE resolving 'v.ex/A/IN': 192.0.2.9#53\n")
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return err
	}
	meta := fmt.Sprintf("lines=%d valid=%d forged=%d kind=forged\n", lines, valid, lines-valid)
	if err := os.WriteFile(path+".meta", []byte(meta), 0o644); err != nil {
		return err
	}
	fmt.Fprint(os.Stderr, path, ": ", meta)
	return nil
}

type pair struct {
	zone   string
	server string // "addr#53"
	// kind is how this server fails for this zone: -1 upward referral
	// (B1), else an index in reasons (B2). A pair keeps its kind, but one
	// line in ten is of another kind (a flapping or overloaded server).
	kind int
}

type gen struct {
	rng   *rand.Rand
	pairs []pair
	perm  []int
	t     time.Time
	// other-category vocabulary
	names   []string // client query names
	clients []string
}

var (
	tlds    = []string{"example", "example.com", "example.net", "example.org", "test", "co.example", "invalid.example"}
	hosts   = []string{"www", "mail", "ns1", "ns2", "api", "cdn", "smtp", "vpn", "m", "_dmarc"}
	qtypes  = []string{"A", "A", "A", "AAAA", "AAAA", "MX", "NS", "SOA", "TXT", "DNSKEY"}
	reasons = []string{"REFUSED unexpected RCODE", "REFUSED unexpected RCODE", "REFUSED unexpected RCODE",
		"SERVFAIL unexpected RCODE", "SERVFAIL unexpected RCODE", "connection refused", "FORMERR",
		"timed out", "NOTIMP unexpected RCODE", "host unreachable"}
)

func newGen(npairs int, seed uint64) *gen {
	g := &gen{rng: rand.New(rand.NewPCG(seed, 0x6c616d657273))}
	// Servers: a pool of npairs/5 addresses (hosting providers serve many
	// zones), one in five IPv6. Zones: two servers each.
	nsrv := max(npairs/5, 2)
	servers := make([]string, nsrv)
	for i := range servers {
		servers[i] = serverAddr(i)
	}
	g.pairs = make([]pair, npairs)
	for p := range g.pairs {
		z := p / 2
		zone := "z" + strconv.Itoa(z) + "." + tlds[z%len(tlds)]
		if z%1000 == 7 { // a few names that need BIND escapes
			zone = `we\.ird` + strconv.Itoa(z) + "." + tlds[z%len(tlds)]
		}
		s1 := (z * 7919) % nsrv
		s := s1
		if p%2 == 1 {
			s = (s1 + 1 + z%(nsrv-1)) % nsrv // never s1
		}
		kind := -1
		if g.rng.IntN(100) >= 70 {
			kind = g.rng.IntN(len(reasons))
		}
		g.pairs[p] = pair{zone: zone, server: servers[s], kind: kind}
	}
	g.perm = g.rng.Perm(npairs)
	g.t = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	g.names = make([]string, 2000)
	for i := range g.names {
		g.names[i] = hosts[i%len(hosts)] + ".q" + strconv.Itoa(i) + "." + tlds[i%len(tlds)]
	}
	g.clients = make([]string, 500)
	for i := range g.clients {
		if i%6 == 5 {
			g.clients[i] = fmt.Sprintf("2001:db8:c::%x", i)
		} else {
			g.clients[i] = fmt.Sprintf("10.20.%d.%d", i/250, i%250+1)
		}
	}
	return g
}

// serverAddr returns the i-th server of the pool as BIND prints it: one in
// five IPv6, the IPv4 ones first from the documentation networks, then
// from 100.64.0.0/10. All distinct.
func serverAddr(i int) string {
	if i%5 == 4 {
		return fmt.Sprintf("2001:db8:%x::%x#53", 0x100+i>>12, i&0xfff+1)
	}
	k := i - i/5 // index among the IPv4 servers
	switch {
	case k < 250:
		return fmt.Sprintf("192.0.2.%d#53", k+1)
	case k < 500:
		return fmt.Sprintf("198.51.100.%d#53", k-250+1)
	case k < 750:
		return fmt.Sprintf("203.0.113.%d#53", k-500+1)
	}
	k -= 750
	return fmt.Sprintf("100.%d.%d.%d#53", 64+k/(250*256)%64, k/250%256, k%250+1)
}

// stamp appends the print-time prefix and advances the clock by 0–100 ms
// (about 14 hours per million lines, so the files span several days).
func (g *gen) stamp(b []byte) []byte {
	b = g.t.AppendFormat(b, "02-Jan-2006 15:04:05.000")
	g.t = g.t.Add(time.Duration(g.rng.IntN(101)) * time.Millisecond)
	return append(b, ' ')
}

// lameLine appends a lame-servers message about pair p: B1 or B2.
func (g *gen) lameLine(b []byte, p int) ([]byte, bool) {
	pr := &g.pairs[p]
	b = append(b, "lame-servers: info: "...)
	r := g.rng.IntN(100)
	kind := pr.kind
	if r < 10 {
		kind = g.rng.IntN(len(reasons)+1) - 1 // B1 or any reason
	}
	h := g.rng.IntN(100)
	if kind < 0 {
		b = append(b, "lame server resolving '"...)
		switch {
		case h < 30: // QNAME minimisation or NS/SOA queries: the zone itself
		default:
			b = append(b, hosts[h%len(hosts)]...)
			b = append(b, '.')
		}
		b = append(b, pr.zone...)
		b = append(b, "' (in '"...)
		b = append(b, pr.zone...)
		b = append(b, "'?): "...)
		b = append(b, pr.server...)
		return b, true
	}
	b = append(b, reasons[kind]...)
	b = append(b, " resolving '"...)
	qt := qtypes[g.rng.IntN(len(qtypes))]
	switch qt {
	case "NS", "SOA", "DNSKEY":
	default:
		b = append(b, hosts[h%len(hosts)]...)
		b = append(b, '.')
	}
	b = append(b, pr.zone...)
	b = append(b, '/')
	b = append(b, qt...)
	b = append(b, "/IN': "...)
	b = append(b, pr.server...)
	return b, false
}

func (g *gen) hex(b []byte) []byte {
	b = append(b, "@0x7f"...)
	return strconv.AppendUint(b, 0x1c00000000+uint64(g.rng.IntN(1<<24))*8, 16)
}

func (g *gen) client(b []byte) []byte {
	b = append(b, "client "...)
	b = g.hex(b)
	b = append(b, ' ')
	b = append(b, g.clients[g.rng.IntN(len(g.clients))]...)
	b = append(b, '#')
	return strconv.AppendInt(b, int64(1024+g.rng.IntN(64000)), 10)
}

func (g *gen) name() string { return g.names[g.rng.IntN(len(g.names))] }

// otherLine appends a message of another category (never evidence, never
// the word "lame").
func (g *gen) otherLine(b []byte) []byte {
	r := g.rng.IntN(1000)
	n := g.name()
	qt := qtypes[r%len(qtypes)]
	switch {
	case r < 640: // query logging dominates a busy resolver's log
		b = append(b, "queries: info: "...)
		b = g.client(b)
		b = append(b, " ("...)
		b = append(b, n...)
		b = append(b, "): query: "...)
		b = append(b, n...)
		b = append(b, " IN "...)
		b = append(b, qt...)
		flags := []string{" +E(0)K", " +E(0)DCK", " -E(0)K", " +ET(0)K", " +E(0)K"}
		b = append(b, flags[r%len(flags)]...)
		b = append(b, " (10.20.0.53)"...)
	case r < 690:
		b = append(b, "security: info: "...)
		b = g.client(b)
		b = append(b, " ("...)
		b = append(b, n...)
		b = append(b, "): query (cache) '"...)
		b = append(b, n...)
		b = append(b, '/')
		b = append(b, qt...)
		b = append(b, "/IN' denied (allow-query-cache did not match)"...)
	case r < 740:
		b = append(b, "query-errors: info: "...)
		b = g.client(b)
		b = append(b, " ("...)
		b = append(b, n...)
		b = append(b, "): query failed (SERVFAIL) for "...)
		b = append(b, n...)
		b = append(b, "/IN/"...)
		b = append(b, qt...)
		b = append(b, " at query.c:7376"...)
	case r < 770:
		b = append(b, "client: warning: "...)
		b = g.client(b)
		b = append(b, " ("...)
		b = append(b, n...)
		b = append(b, "): message parsing failed: bad compression pointer"...)
	case r < 800:
		b = append(b, "edns-disabled: info: success resolving '"...)
		b = append(b, n...)
		b = append(b, '/')
		b = append(b, qt...)
		b = append(b, "' (in '"...)
		b = append(b, parentOf(n)...)
		if r%2 == 0 {
			b = append(b, "'?) after disabling EDNS"...)
		} else {
			b = append(b, "'?) after reducing the advertised EDNS UDP packet size to 512 octets"...)
		}
	case r < 860:
		b = append(b, "dnssec: info: validating "...)
		b = append(b, n...)
		b = append(b, '/')
		b = append(b, qt...)
		switch r % 3 {
		case 0:
			b = append(b, ": no valid signature found"...)
		case 1:
			b = append(b, ": got insecure response; parent indicates it should be secure"...)
		default:
			b = append(b, ": bad cache hit ("...)
			b = append(b, parentOf(n)...)
			b = append(b, "/DS)"...)
		}
	case r < 890:
		b = append(b, "cname: info: skipping nameserver 'ns.alias."...)
		b = append(b, parentOf(n)...)
		b = append(b, "' because it is a CNAME, while resolving '"...)
		b = append(b, n...)
		b = append(b, '/')
		b = append(b, qt...)
		b = append(b, '\'')
	case r < 920:
		b = append(b, "resolver: notice: "...)
		switch r % 3 {
		case 0:
			b = append(b, "clients-per-query increased to "...)
			b = strconv.AppendInt(b, int64(10+r%40), 10)
		case 1:
			b = append(b, "clients-per-query decreased to "...)
			b = strconv.AppendInt(b, int64(10+r%40), 10)
		default:
			b = append(b, "fetch: "...)
			b = append(b, n...)
			b = append(b, '/')
			b = append(b, qt...)
		}
	case r < 940:
		b = append(b, "serve-stale: info: "...)
		b = append(b, n...)
		b = append(b, " resolver failure, stale answer used"...)
	case r < 960:
		b = append(b, "rate-limit: info: limit responses to 198.51.100.0/24 for "...)
		b = append(b, n...)
		b = append(b, " IN "...)
		b = append(b, qt...)
		b = append(b, "  ("...)
		b = strconv.AppendUint(b, uint64(g.rng.Uint32()), 16)
		b = append(b, ')')
	case r < 975:
		b = append(b, "notify: info: zone "...)
		b = append(b, parentOf(n)...)
		b = append(b, "/IN: sending notifies (serial 2026112201)"...)
	case r < 985:
		b = append(b, "xfer-out: info: "...)
		b = g.client(b)
		b = append(b, " ("...)
		b = append(b, parentOf(n)...)
		b = append(b, "): transfer of '"...)
		b = append(b, parentOf(n)...)
		b = append(b, "/IN': AXFR-style IXFR started (serial 2026112201)"...)
	case r < 993:
		b = append(b, "general: info: "...)
		switch r % 4 {
		case 0:
			b = append(b, "received control channel command 'stats'"...)
		case 1:
			b = append(b, "dumpstats complete"...)
		case 2:
			b = append(b, "managed-keys-zone: Key 20326 for zone . is now trusted (acceptance timer complete)"...)
		default:
			b = append(b, "zone "...)
			b = append(b, parentOf(n)...)
			b = append(b, "/IN: loaded serial 2026112201"...)
		}
	default:
		b = append(b, "network: info: "...)
		if r%2 == 0 {
			b = append(b, "listening on IPv4 interface eth0, 10.20.0.53#53"...)
		} else {
			b = append(b, "no longer listening on 10.20.0.54#53"...)
		}
	}
	return b
}

func parentOf(n string) string {
	for i := 0; i < len(n); i++ {
		if n[i] == '.' {
			return n[i+1:]
		}
	}
	return n
}
