package verify

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"

	"github.com/lamers-dev/lamers/resolver"
	"github.com/lamers-dev/lamers/resolver/resolvertest"
	"github.com/lamers-dev/lamers/store/storetest"

	"github.com/lamers-dev/lamers/parser"
	"github.com/lamers-dev/lamers/parser/ingest"
	"github.com/lamers-dev/lamers/store"
)

// The private tree that testdata/lab/bind9.log was written in (a BIND 9.18
// resolver querying a tree full of deliberately broken delegations),
// rebuilt in process with the same names and addresses, so that the real
// log can be verified against it.
const (
	vlabRoot = `
.                    3600 IN SOA a.root-servers.lab. hostmaster.nic.lab. 1 1800 900 604800 300
.                    3600 IN NS  a.root-servers.lab.
lab.                 3600 IN NS  ns1.nic.lab.
a.root-servers.lab.  3600 IN A   127.53.0.1
ns1.nic.lab.         3600 IN A   127.53.1.1
`
	vlabLab = `
lab.                  3600 IN SOA ns1.nic.lab. hostmaster.nic.lab. 2026112201 1800 900 604800 300
lab.                  3600 IN NS  ns1.nic.lab.
ns1.nic.lab.          3600 IN A   127.53.1.1
a.root-servers.lab.   3600 IN A   127.53.0.1
ns-upref.nic.lab.     3600 IN A   127.53.4.1
ns-recursor.nic.lab.  3600 IN A   127.53.5.1
ns-closed.nic.lab.    3600 IN A   127.53.6.1
ns-good1.nic.lab.     3600 IN A   127.53.2.1
ns-refuser.nic.lab.   3600 IN A   127.53.3.1
ns-v6.nic.lab.        3600 IN AAAA ::1
refused.lab.          3600 IN NS  ns1.refused.lab.
ns1.refused.lab.      3600 IN A   127.53.3.1
upref.lab.            3600 IN NS  ns-upref.nic.lab.
we\.ird.lab.          3600 IN NS  ns-upref.nic.lab.
otherauth.lab.        3600 IN NS  a.root-servers.lab.
recursive.lab.        3600 IN NS  ns-recursor.nic.lab.
servfail.lab.         3600 IN NS  ns-upref.nic.lab.
closed.lab.           3600 IN NS  ns-closed.nic.lab.
selfref.lab.          3600 IN NS  ns1.nic.lab.
good.lab.             3600 IN NS  ns1.good.lab.
ns1.good.lab.         3600 IN A   127.53.2.1
halflame.lab.         3600 IN NS  ns-good1.nic.lab.
halflame.lab.         3600 IN NS  ns-upref.nic.lab.
rname.lab.            3600 IN NS  ns-good1.nic.lab.
rname.lab.            3600 IN NS  ns-refuser.nic.lab.
v6.lab.               3600 IN NS  ns-v6.nic.lab.
`
	vlabGood = `
good.lab.     300 IN SOA ns1.good.lab. hostmaster.good.lab. 1 1800 900 604800 300
good.lab.     300 IN NS  ns1.good.lab.
ns1.good.lab. 300 IN A   127.53.2.1
`
	vlabHalflame = `
halflame.lab. 300 IN SOA ns-good1.nic.lab. hostmaster.halflame.lab. 1 1800 900 604800 300
halflame.lab. 300 IN NS  ns-good1.nic.lab.
halflame.lab. 300 IN NS  ns-upref.nic.lab.
`
	vlabRname = `
rname.lab. 300 IN SOA ns-good1.nic.lab. first\.last.rname.lab. 2025112201 1800 900 604800 300
rname.lab. 300 IN NS  ns-good1.nic.lab.
rname.lab. 300 IN NS  ns-refuser.nic.lab.
`
)

// newVerifyLab starts the lab tree, every server on one random port, and
// returns the resolver configuration that reaches it.
func newVerifyLab(t *testing.T) resolver.Config {
	t.Helper()
	// BIND with recursion yes; allow-recursion { none; }: an upward
	// referral, except for servfail.lab, whose zone file fails to load.
	upref := dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		if dns.IsSubDomain("servfail.lab.", dns.CanonicalName(req.Question[0].Name)) {
			w.WriteMsg(resolvertest.Reply{Rcode: dns.RcodeServerFailure}.Msg(req))
			return
		}
		w.WriteMsg(resolvertest.Reply{Ns: `. 3600000 IN NS a.root-servers.lab.`}.Msg(req))
	})
	n, err := resolvertest.Listen(map[netip.Addr]dns.Handler{
		netip.MustParseAddr("127.53.0.1"): authHandler(t, vlabRoot),
		netip.MustParseAddr("127.53.1.1"): authHandler(t, vlabLab),
		netip.MustParseAddr("127.53.2.1"): authHandler(t, vlabGood, vlabHalflame, vlabRname),
		netip.MustParseAddr("127.53.3.1"): resolvertest.Reply{Rcode: dns.RcodeRefused},
		netip.MustParseAddr("127.53.4.1"): upref,
		netip.IPv6Loopback():              upref,
		netip.MustParseAddr("127.53.5.1"): resolvertest.Reply{RA: true, Answer: `recursive.lab. 300 IN SOA ns.recursive.lab. h.recursive.lab. 1 2 3 4 5`},
		// 127.53.6.1: nothing listens (closed.lab).
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return resolver.Config{
		RootHints:  []netip.Addr{netip.MustParseAddr("127.53.0.1")},
		Port:       n.Port,
		QPS:        -1,
		Timeouts:   []time.Duration{400 * time.Millisecond, 400 * time.Millisecond},
		TCPTimeout: time.Second,
	}
}

// authHandler serves zones as an authoritative server does.
func authHandler(t testing.TB, zones ...string) dns.Handler {
	t.Helper()
	h, err := resolvertest.AuthHandler(zones...)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// newResolver returns a Resolver for cfg, closed when the test ends.
func newResolver(t testing.TB, cfg resolver.Config) *resolver.Resolver {
	t.Helper()
	r, err := resolver.New(cfg)
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

// Scan the real bind9.log of the lab, then verify against the same tree:
// every zone-less finding receives its zone and every finding the verdict
// its broken kind implies.
func TestVerifyLabBIND(t *testing.T) {
	cfg := newVerifyLab(t)
	ctx := context.Background()
	db := storetest.Open(t)
	sc := ingest.NewScanner(db, ingest.Options{Format: parser.Auto, Location: time.UTC})
	var st ingest.Stats
	if err := sc.ScanFile(ctx, filepath.Join("..", "..", "testdata", "lab", "bind9.log"), &st); err != nil {
		t.Fatal(err)
	}

	cfg.SkipEDNSCheck = true
	r := newResolver(t, cfg)
	now := time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC)
	v := &Verifier{
		Resolver: r, Store: db, Concurrency: 8, MaxRounds: 100,
		Policy: Policy{LameRounds: 2, LameSpan: 30 * time.Minute, UnresponsiveRounds: 3, UnresponsiveSpan: 24 * time.Hour, MinInterval: 30 * time.Minute},
		Clock:  func() time.Time { return now },
	}
	vs, err := v.Run(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if vs.Attributed != 5 {
		t.Errorf("attributed %d zone-less findings, want 5 (refused, rname, servfail, recursive, closed)", vs.Attributed)
	}
	// A second round 31 minutes later confirms.
	now = now.Add(31 * time.Minute)
	if _, err := v.Run(ctx, Options{}); err != nil {
		t.Fatal(err)
	}
	// A third run right away probes nothing: 30 minutes between rounds.
	if vs, err := v.Run(ctx, Options{}); err != nil || vs.Probed != 0 {
		t.Fatalf("third run probed %d (err %v), want 0", vs.Probed, err)
	}

	fs, err := db.Findings(ctx, store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range fs {
		got[f.Zone+" "+f.Server.String()] = f.Status.String() + " " + f.Reason + " " + strings.Join(f.ServerNames, ",")
	}
	want := map[string]string{
		"refused.lab. 127.53.3.1":   "lame refused ns1.refused.lab.",
		"rname.lab. 127.53.3.1":     "lame refused ns-refuser.nic.lab.",
		"servfail.lab. 127.53.4.1":  "lame servfail ns-upref.nic.lab.",
		"recursive.lab. 127.53.5.1": "lame recursive_not_authoritative ns-recursor.nic.lab.",
		"closed.lab. 127.53.6.1":    "suspect no_dns_service ns-closed.nic.lab.",
		"upref.lab. 127.53.4.1":     "lame upward_referral ns-upref.nic.lab.",
		`we\.ird.lab. 127.53.4.1`:   "lame upward_referral ns-upref.nic.lab.",
		"halflame.lab. 127.53.4.1":  "lame upward_referral ns-upref.nic.lab.",
		"v6.lab. ::1":               "lame upward_referral ns-v6.nic.lab.",
		"selfref.lab. 127.53.1.1":   "lame self_referral ns1.nic.lab.",
		"otherauth.lab. 127.53.0.1": "lame upward_referral a.root-servers.lab.",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: got %q, want %q", k, got[k], w)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected finding %s: %s", k, g)
		}
	}
	if os.Getenv("LAMERS_VERIFY_DEBUG") != "" {
		for k, g := range got {
			t.Logf("%s: %s", k, g)
		}
	}
}

// Findings that the current delegation no longer supports are stale, and
// Unbound's lossy names are not mistaken for undelegated zones.
func TestVerifyStaleAndLossy(t *testing.T) {
	cfg := newVerifyLab(t)
	ctx := context.Background()
	db := storetest.Open(t)
	log := filepath.Join(t.TempDir(), "mixed.log")
	lines := strings.Join([]string{
		// BIND 9.18 B1 form: a zone the parent no longer delegates.
		`22-Nov-2026 02:01:50.284 lame-servers: info: lame server resolving 'www.gone.lab' (in 'gone.lab'?): 127.53.4.1#53`,
		// upref.lab is delegated, but not to 127.53.9.9 (any more).
		`22-Nov-2026 02:01:50.284 lame-servers: info: lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.9.9#53`,
		// A zone-less line whose server no delegation above the name lists.
		`22-Nov-2026 02:01:50.268 lame-servers: info: REFUSED unexpected RCODE resolving 'www.good.lab/A/IN': 127.53.9.8#53`,
		// Unbound 1.17 writes we\.ird.lab as we?ird.lab.
		`[1795312911] unbound[19034:0] info: response for www.we?ird.lab. A IN`,
		`[1795312911] unbound[19034:0] info: reply from <we?ird.lab.> 127.53.4.1#53`,
		`[1795312911] unbound[19034:0] info: query response was LAME`,
		// The healthy server of halflame.lab, logged by mistake: ok.
		`22-Nov-2026 02:01:50.996 lame-servers: info: lame server resolving 'www.halflame.lab' (in 'halflame.lab'?): 127.53.2.1#53`,
	}, "\n") + "\n"
	if err := os.WriteFile(log, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	sc := ingest.NewScanner(db, ingest.Options{Location: time.UTC})
	var st ingest.Stats
	if err := sc.ScanFile(ctx, log, &st); err != nil {
		t.Fatal(err)
	}
	r := newResolver(t, cfg)
	v := &Verifier{Resolver: r, Store: db, Concurrency: 4, Policy: DefaultPolicy()}
	vs, err := v.Run(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if vs.Unattributable != 1 || vs.Stale != 3 || vs.Probed != 1 {
		t.Errorf("stats %+v, want 1 unattributable, 3 stale or lossy without probing, 1 probed", vs)
	}
	fs, err := db.Findings(ctx, store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range fs {
		got[f.Zone+" "+f.Server.String()] = f.Status.String() + " " + f.Reason
	}
	want := map[string]string{
		"gone.lab. 127.53.4.1":     "stale not_delegated",
		"upref.lab. 127.53.9.9":    "stale not_in_delegation",
		" 127.53.9.8":              "stale no_zone_lists_server",
		"we?ird.lab. 127.53.4.1":   "inconclusive lossy_name",
		"halflame.lab. 127.53.2.1": "ok authoritative",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	// The authoritative round's SOA is kept for notify's RNAME.
	soas, err := db.ZoneSOAs(ctx, "halflame.lab.")
	wantSOA := store.SOA{MName: "ns-good1.nic.lab.", RName: "hostmaster.halflame.lab.", Serial: 1}
	if err != nil || len(soas) != 1 || soas[0].SOA != wantSOA || soas[0].Server != netip.MustParseAddr("127.53.2.1") ||
		soas[0].ServerStatus != store.StatusOK {
		t.Errorf("ZoneSOAs(halflame.lab.) = %+v, %v; want %+v from 127.53.2.1, ok", soas, err, wantSOA)
	}
	// A normal run leaves stale and ok findings alone; --all probes them
	// again (still no sooner than the minimum interval).
	v.Clock = func() time.Time { return time.Now().Add(time.Hour) }
	if vs, err := v.Run(ctx, Options{}); err != nil || vs.Probed+vs.Stale != 1 {
		t.Errorf("second run: %+v, %v; want only the lossy finding again", vs, err)
	}
	if vs, err := v.Run(ctx, Options{All: true, Zone: "halflame.lab."}); err != nil || vs.Probed != 1 {
		t.Errorf("--all --zone halflame.lab.: %+v, %v; want one round", vs, err)
	}
}

// A dead server listed in many delegations: after two silent full rounds
// in a run, its other zones get one packet each, not three.
func TestVerifySilentAddressGetsShortRounds(t *testing.T) {
	const zones = 6
	tree, err := resolvertest.Start(resolvertest.Config{Net: 59, Zones: zones, Servers: []resolvertest.Behavior{resolvertest.Silent}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tree.Close() })
	silent := tree.Servers[0].Addr
	ctx := context.Background()
	db := storetest.Open(t)
	var lines strings.Builder
	for _, z := range tree.Zones {
		// BIND 9.18 B1 form; every zone's one server is silent.
		fmt.Fprintf(&lines, "22-Nov-2026 02:01:50.284 lame-servers: info: lame server resolving 'www.%s' (in '%s'?): %s#53\n",
			strings.TrimSuffix(z.Name, "."), strings.TrimSuffix(z.Name, "."), silent)
	}
	log := filepath.Join(t.TempDir(), "named.log")
	if err := os.WriteFile(log, []byte(lines.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var st ingest.Stats
	if err := ingest.NewScanner(db, ingest.Options{Location: time.UTC}).ScanFile(ctx, log, &st); err != nil {
		t.Fatal(err)
	}
	r := newResolver(t, resolver.Config{
		RootHints: []netip.Addr{tree.Root}, Port: tree.Port, QPS: -1,
		Timeouts: []time.Duration{100 * time.Millisecond, 100 * time.Millisecond}, TCPTimeout: time.Second,
	})
	fs, err := db.Findings(ctx, store.Filter{})
	if err != nil || len(fs) != zones {
		t.Fatalf("%d findings, %v", len(fs), err)
	}
	// Probe directly through the verifier's probe step, one after another
	// as the per-address lock would order them.
	v := &Verifier{Resolver: r, Store: db, Policy: DefaultPolicy(), silent: map[netip.Addr]int{}}
	var packets []int
	for _, f := range fs {
		p := v.probe(ctx, f)
		if p.Reason != resolver.ReasonUnresponsive {
			t.Fatalf("%s: reason %s", f.Zone, p.Reason)
		}
		packets = append(packets, p.Packets)
	}
	want := []int{3, 3, 1, 1, 1, 1}
	if diff := cmp.Diff(want, packets); diff != "" {
		t.Errorf("packets per round (-want +got):\n%s", diff)
	}
}

// Recheck probes the findings it is given now, except those probed less
// than the minimum interval ago and zone-less ones, and records their
// rounds as Run does.
func TestRecheck(t *testing.T) {
	cfg := newVerifyLab(t)
	ctx := context.Background()
	db := storetest.Open(t)
	log := filepath.Join(t.TempDir(), "named.log")
	lines := strings.Join([]string{
		// BIND 9.18 B1 form: upref.lab's one server gives an upward referral.
		`22-Nov-2026 02:01:50.284 lame-servers: info: lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53`,
		// BIND 9.18 A2 form, zone-less.
		`22-Nov-2026 02:01:50.268 lame-servers: info: REFUSED unexpected RCODE resolving 'www.refused.lab/A/IN': 127.53.3.1#53`,
	}, "\n") + "\n"
	if err := os.WriteFile(log, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	var st ingest.Stats
	if err := ingest.NewScanner(db, ingest.Options{Location: time.UTC}).ScanFile(ctx, log, &st); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC)
	v := &Verifier{Resolver: newResolver(t, cfg), Store: db, Policy: DefaultPolicy(), Clock: func() time.Time { return now }}
	fs, err := db.Findings(ctx, store.Filter{})
	if err != nil || len(fs) != 2 {
		t.Fatalf("findings %+v, %v", fs, err)
	}
	vs, err := v.Recheck(ctx, fs)
	if err != nil || vs.Probed != 1 || vs.Skipped != 1 {
		t.Fatalf("first Recheck = %+v, %v; want the zoned finding probed, the zone-less one skipped", vs, err)
	}
	fs, _ = db.Findings(ctx, store.Filter{Zoning: store.Zoned})
	if vs, err := v.Recheck(ctx, fs); err != nil || vs.Probed != 0 || vs.Skipped != 1 {
		t.Errorf("Recheck right after = %+v, %v; want it skipped (30 minutes between rounds)", vs, err)
	}
	now = now.Add(31 * time.Minute)
	if vs, err := v.Recheck(ctx, fs); err != nil || vs.Probed != 1 || vs.Statuses[store.StatusLame] != 1 {
		t.Errorf("Recheck 31 minutes later = %+v, %v; want one round confirming lame", vs, err)
	}
	if rs, err := db.Rounds(ctx, fs[0].ID, 0); err != nil || len(rs) != 2 {
		t.Errorf("rounds %+v, %v; want 2", rs, err)
	}
}
