package verify

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"

	"github.com/lamers-dev/lamers/parser"
	"github.com/lamers-dev/lamers/parser/ingest"
	"github.com/lamers-dev/lamers/resolver"
	"github.com/lamers-dev/lamers/resolver/resolvertest"
	"github.com/lamers-dev/lamers/store"
	"github.com/lamers-dev/lamers/store/storetest"
)

// A tree whose zones have labels that presentation form must escape,
// spelled in the zone files the way miekg/dns or BIND would write them:
// 127.56.2.1 serves them, 127.56.3.1 refuses everything, 127.56.4.1 refers
// every query up to the root.
const (
	oddRoot = `
.                 3600 IN SOA a.root.test. hostmaster.nic.test. 1 1800 900 604800 300
.                 3600 IN NS  a.root.test.
test.             3600 IN NS  ns1.nic.test.
a.root.test.      3600 IN A   127.56.0.1
ns1.nic.test.     3600 IN A   127.56.1.1
`
	oddTLD = `
test.                 3600 IN SOA ns1.nic.test. hostmaster.nic.test. 1 1800 900 604800 300
test.                 3600 IN NS  ns1.nic.test.
ns1.nic.test.         3600 IN A   127.56.1.1
a.root.test.          3600 IN A   127.56.0.1
ns-good.nic.test.     3600 IN A   127.56.2.1
NS\@Refuser.nic.test. 3600 IN A   127.56.3.1
ns-upref.nic.test.    3600 IN A   127.56.4.1
Big\ Shop.test.       3600 IN NS  ns-good.nic.test.
Big\ Shop.test.       3600 IN NS  ns-upref.nic.test.
say\"hi.test.         3600 IN NS  ns\064refuser.nic.test.
we\.ird.test.         3600 IN NS  ns-upref.nic.test.
semi\;colon.test.     3600 IN NS  ns-good.nic.test.
at\@sign.test.        3600 IN NS  ns\@refuser.nic.test.
paren\(.test.         3600 IN NS  ns-upref.nic.test.
caf\195\169.test.     3600 IN NS  ns\@refuser.nic.test.
UPPER.test.           3600 IN NS  ns-upref.nic.test.
`
	oddBigShop = `
big\032shop.test. 300 IN SOA ns-good.nic.test. hostmaster.nic.test. 1 1800 900 604800 300
big\032shop.test. 300 IN NS  ns-good.nic.test.
big\032shop.test. 300 IN NS  ns-upref.nic.test.
`
	oddSemicolon = `
semi\059colon.test. 300 IN SOA ns-good.nic.test. hostmaster.nic.test. 1 1800 900 604800 300
semi\059colon.test. 300 IN NS  ns-good.nic.test.
`
)

// Every stage of lamers with such names: BIND 9.18's lines (the escapes
// of dns_name_format, the case the resolver received) are parsed and
// stored under canonical names, the zone-less ones are attributed to the
// escaped zone that lists their server, two rounds half an hour apart give
// each finding its real verdict, and a check given yet another spelling
// finds the same zone and servers.
func TestVerifyOddNames(t *testing.T) {
	upref := resolvertest.Reply{Ns: `. 3600000 IN NS a.root.test.`}
	n, err := resolvertest.Listen(map[netip.Addr]dns.Handler{
		netip.MustParseAddr("127.56.0.1"): authHandler(t, oddRoot),
		netip.MustParseAddr("127.56.1.1"): authHandler(t, oddTLD),
		netip.MustParseAddr("127.56.2.1"): authHandler(t, oddBigShop, oddSemicolon),
		netip.MustParseAddr("127.56.3.1"): resolvertest.Reply{Rcode: dns.RcodeRefused},
		netip.MustParseAddr("127.56.4.1"): upref,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	cfg := resolver.Config{RootHints: []netip.Addr{netip.MustParseAddr("127.56.0.1")}, Port: n.Port, QPS: -1,
		Timeouts: []time.Duration{400 * time.Millisecond}, TCPTimeout: time.Second, SkipEDNSCheck: true}

	// BIND 9.18's B1 and B2 lines (docs/log-formats.md), as its
	// lame-servers channel writes them for these zones.
	lines := []string{
		`22-Nov-2026 02:01:50.284 lame-servers: info: lame server resolving 'www.BIG\032shop.test' (in 'BIG\032shop.test'?): 127.56.4.1#53`,
		`22-Nov-2026 02:01:50.285 lame-servers: info: lame server resolving 'www.Big\032Shop.test' (in 'Big\032Shop.test'?): 127.56.2.1#53`,
		`22-Nov-2026 02:01:50.286 lame-servers: info: REFUSED unexpected RCODE resolving 'www.say\"hi.test/A/IN': 127.56.3.1#53`,
		`22-Nov-2026 02:01:50.287 lame-servers: info: lame server resolving 'www.we\.ird.test' (in 'we\.ird.test'?): 127.56.4.1#53`,
		`22-Nov-2026 02:01:50.288 lame-servers: info: lame server resolving 'Semi\;Colon.test' (in 'Semi\;Colon.test'?): 127.56.2.1#53`,
		`22-Nov-2026 02:01:50.289 lame-servers: info: REFUSED unexpected RCODE resolving 'mail.at\@sign.test/MX/IN': 127.56.3.1#53`,
		`22-Nov-2026 02:01:50.290 lame-servers: info: lame server resolving 'www.paren\(.test' (in 'paren\(.test'?): 127.56.4.1#53`,
		`22-Nov-2026 02:01:50.291 lame-servers: info: REFUSED unexpected RCODE resolving 'www.CAF\195\169.test/AAAA/IN': 127.56.3.1#53`,
		`22-Nov-2026 02:01:50.292 lame-servers: info: lame server resolving 'www.UpPeR.test' (in 'UpPeR.test'?): 127.56.4.1#53`,
	}
	ctx := context.Background()
	db := storetest.Open(t)
	scanLines(t, db, lines...)
	now := time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC)
	v := &Verifier{Resolver: newResolver(t, cfg), Store: db, Concurrency: 4, MaxRounds: 100, Policy: DefaultPolicy(),
		Clock: func() time.Time { return now }}
	if vs, err := v.Run(ctx, Options{}); err != nil || vs.Attributed != 3 {
		t.Fatalf("first run: %+v, %v; want the 3 zone-less findings attributed", vs, err)
	}
	now = now.Add(31 * time.Minute)
	if _, err := v.Run(ctx, Options{}); err != nil {
		t.Fatal(err)
	}

	fs, err := db.Findings(ctx, store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range fs {
		got[f.Zone+" "+f.Server.String()] = fmt.Sprintf("%s %s %s", f.Status, f.Reason, strings.Join(f.ServerNames, ","))
	}
	want := map[string]string{
		`big\032shop.test. 127.56.4.1`: "lame upward_referral ns-upref.nic.test.",
		`big\032shop.test. 127.56.2.1`: "ok authoritative ns-good.nic.test.",
		`say\"hi.test. 127.56.3.1`:     `lame refused ns\@refuser.nic.test.`,
		`we\.ird.test. 127.56.4.1`:     "lame upward_referral ns-upref.nic.test.",
		`semi\;colon.test. 127.56.2.1`: "ok authoritative ns-good.nic.test.",
		`at\@sign.test. 127.56.3.1`:    `lame refused ns\@refuser.nic.test.`,
		`paren\(.test. 127.56.4.1`:     "lame upward_referral ns-upref.nic.test.",
		`caf\195\169.test. 127.56.3.1`: `lame refused ns\@refuser.nic.test.`,
		`upper.test. 127.56.4.1`:       "lame upward_referral ns-upref.nic.test.",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}

	// A check, given the zone as a user might type it.
	c, err := v.Resolver.Check(ctx, `BIG\ SHOP.test`, nil)
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, s := range c.Servers {
		rows = append(rows, s.Name+" "+s.Address+" "+string(s.Verdict)+" "+s.Reason)
	}
	wantRows := []string{"ns-good.nic.test. 127.56.2.1 authoritative authoritative", "ns-upref.nic.test. 127.56.4.1 lame upward_referral"}
	if c.Zone != `big\032shop.test.` || c.Parent != "test." || c.Verdict != resolver.ZoneLame || !slices.Equal(rows, wantRows) {
		t.Errorf("check: zone %q parent %q servers %q; want big\\032shop.test. delegated by test. to %q", c.Zone, c.Parent, rows, wantRows)
	}
}

// scanLines scans lines, written to a log file of their own, into db.
func scanLines(t *testing.T, db *store.DB, lines ...string) {
	t.Helper()
	log := filepath.Join(t.TempDir(), "lines.log")
	if err := os.WriteFile(log, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var st ingest.Stats
	if err := ingest.NewScanner(db, ingest.Options{Format: parser.Auto, Location: time.UTC}).ScanFile(context.Background(), log, &st); err != nil {
		t.Fatal(err)
	}
}
