package verify

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/lamers-dev/lamers/resolver"
	"github.com/lamers-dev/lamers/resolver/resolvertest"
	"github.com/lamers-dev/lamers/store"
	"github.com/lamers-dev/lamers/store/storetest"
)

// commitCounts stores counts as ingest would from a log file called name:
// one batch, committed with the file's checkpoint.
func commitCounts(t testing.TB, db *store.DB, name string, counts []store.Count) {
	t.Helper()
	_, err := db.Commit(context.Background(), store.Batch{
		Base:   store.Checkpoint{Fingerprint: []byte(name)},
		Next:   store.Checkpoint{Offset: int64(len(counts)) * 100, Lines: int64(len(counts)), Path: name},
		Counts: counts,
	})
	if err != nil {
		t.Fatal(err)
	}
}

// bindLame is the count of BIND 9.18 lines such as
//
//	22-Nov-2026 02:01:50.284 lame-servers: info: lame server resolving 'www.z000.test' (in 'z000.test'?): 127.66.1.1#53
//
// seen n times on the day of at.
func bindLame(zone string, server netip.Addr, n int64, at time.Time) store.Count {
	return store.Count{Zone: zone, QName: "www." + zone, Server: server, Port: 53, Source: "bind", Evidence: "lame_referral",
		Day: store.DayOf(at), N: n, First: at, Last: at}
}

// startTree starts a private tree, stopped when the test ends.
func startTree(t *testing.T, cfg resolvertest.Config) *resolvertest.Tree {
	t.Helper()
	tree, err := resolvertest.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tree.Close() })
	return tree
}

// testTLDConfig is a resolver configuration for tree, quick to time out.
func testTLDConfig(tree *resolvertest.Tree) resolver.Config {
	return resolver.Config{
		RootHints: []netip.Addr{tree.Root}, Port: tree.Port, QPS: -1,
		Timeouts: []time.Duration{100 * time.Millisecond, 100 * time.Millisecond}, TCPTimeout: time.Second,
	}
}

// Anyone who can make a resolver log a name controls the findings: 5,000
// forged ones, logged once each ten days ago, must not keep a finding
// that BIND and Unbound both logged on three days from its first round.
func TestVerifyForgedFindingsDoNotStarve(t *testing.T) {
	tree := startTree(t, resolvertest.Config{Net: 66, Servers: []resolvertest.Behavior{resolvertest.Refused}})
	ctx := context.Background()
	db := storetest.Open(t)
	now := time.Now().UTC()
	const forged = 5000
	var counts []store.Count
	for i := range forged {
		// Forged zones the TLD never delegated, each on its own address
		// (IPv6 documentation addresses: never probed, the delegation
		// decides first).
		server := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(i >> 8), 15: byte(i)})
		counts = append(counts, bindLame(fmt.Sprintf("f%04d.test.", i), server, 1, now.Add(-10*24*time.Hour)))
	}
	commitCounts(t, db, "forged.log", counts)
	genuine := tree.Zones[0].Name
	srv := tree.Servers[0].Addr
	unbound := bindLame(genuine, srv, 3, now)
	unbound.Source = "unbound"
	commitCounts(t, db, "named.log", []store.Count{
		bindLame(genuine, srv, 5, now.Add(-48*time.Hour)), bindLame(genuine, srv, 5, now.Add(-24*time.Hour)), bindLame(genuine, srv, 5, now), unbound,
	})

	v := &Verifier{Resolver: newResolver(t, testTLDConfig(tree)), Store: db, Policy: DefaultPolicy(), Concurrency: 4, MaxRounds: 50}
	st, err := v.Run(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	fs, err := db.Findings(ctx, store.Filter{Zone: genuine})
	if err != nil || len(fs) != 1 {
		t.Fatalf("findings of %s: %v, %v", genuine, fs, err)
	}
	if f := fs[0]; f.Rounds != 1 || f.Status != store.StatusSuspect || f.Reason != resolver.ReasonRefused {
		t.Errorf("%s after the first run: %d rounds, %s %s; want one round, suspect refused", genuine, f.Rounds, f.Status, f.Reason)
	}
	if st.Probed+st.Stale != 50 || st.Skipped != forged+1-50 {
		t.Errorf("stats %+v, want 50 findings handled and %d left for later", st, forged+1-50)
	}
}

// One server address and one registered domain get at most a tenth of a
// run's rounds (at least 5); the rest of the run goes to the others, and
// what the caps hold back waits for the next run.
func TestVerifyCapsPerServerAndDomain(t *testing.T) {
	tree := startTree(t, resolvertest.Config{Net: 67})
	ctx := context.Background()
	db := storetest.Open(t)
	now := time.Now().UTC()
	one := netip.MustParseAddr("2001:db8::53")
	addr := func(i int) netip.Addr {
		return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 13: 1, 14: byte(i >> 8), 15: byte(i)})
	}
	// In the order of arrival: 60 zones all blamed on one address, 60
	// zones below one registered domain on as many addresses, then 60
	// findings with nothing in common. The first two groups carry more
	// evidence (both BIND and Unbound), so without caps they would fill
	// the run.
	both := func(c store.Count) []store.Count {
		u := c
		u.Source = "unbound"
		return []store.Count{c, u}
	}
	var counts []store.Count
	for i := range 60 {
		counts = append(counts, both(bindLame(fmt.Sprintf("s%02d.test.", i), one, 1, now))...)
	}
	for i := range 60 {
		counts = append(counts, both(bindLame(fmt.Sprintf("a%02d.evil.test.", i), addr(i), 1, now))...)
	}
	for i := range 60 {
		counts = append(counts, bindLame(fmt.Sprintf("o%02d.test.", i), addr(100+i), 1, now))
	}
	commitCounts(t, db, "named.log", counts)

	v := &Verifier{Resolver: newResolver(t, testTLDConfig(tree)), Store: db, Policy: DefaultPolicy(), Concurrency: 4, MaxRounds: 50}
	st, err := v.Run(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	fs, err := db.Findings(ctx, store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	touched := map[string]int{}
	for _, f := range fs {
		if f.LastProbed.IsZero() {
			continue
		}
		switch {
		case f.Server == one:
			touched["one address"]++
		case strings.HasSuffix(f.Zone, ".evil.test."):
			touched["evil.test."]++
		default:
			touched["others"]++
		}
	}
	want := map[string]int{"one address": 5, "evil.test.": 5, "others": 40}
	for k, n := range want {
		if touched[k] != n {
			t.Errorf("%s: %d findings handled, want %d (all: %v)", k, touched[k], n, touched)
		}
	}
	if st.Skipped != 180-50 {
		t.Errorf("skipped %d, want %d", st.Skipped, 180-50)
	}
}

// silentParentTree is a root that delegates test. to two servers that
// never answer: the parent of every zone of the findings is dead.
func silentParentTree(t testing.TB) (root netip.Addr, tld []netip.Addr, port uint16) {
	t.Helper()
	root = netip.MustParseAddr("127.64.0.1")
	tld = []netip.Addr{netip.MustParseAddr("127.64.0.2"), netip.MustParseAddr("127.64.0.3")}
	rootZone := `
.                 86400 IN SOA a.root.lab. hostmaster.root.lab. 1 1800 900 604800 86400
.                 86400 IN NS  a.root.lab.
a.root.lab.       86400 IN A   127.64.0.1
test.             86400 IN NS  a.nic.test.
test.             86400 IN NS  b.nic.test.
a.nic.test.       86400 IN A   127.64.0.2
b.nic.test.       86400 IN A   127.64.0.3
`
	silent := dns.HandlerFunc(func(dns.ResponseWriter, *dns.Msg) {})
	n, err := resolvertest.Listen(map[netip.Addr]dns.Handler{root: authHandler(t, rootZone), tld[0]: silent, tld[1]: silent})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return root, tld, n.Port
}

// A parent whose servers never answer costs the timeouts of its first
// lookups, not a few timeouts for each of 1,000 findings below it: after
// them its addresses are down for the run and the findings get
// parent_unreachable at once.
func TestVerifySilentParent(t *testing.T) {
	root, tld, port := silentParentTree(t)
	ctx := context.Background()
	db := storetest.Open(t)
	now := time.Now().UTC()
	const zones = 1000
	var counts []store.Count
	for i := range zones {
		server := netip.AddrFrom4([4]byte{127, 64, byte(1 + i/250), byte(1 + i%250)})
		counts = append(counts, bindLame(fmt.Sprintf("z%04d.test.", i), server, 1, now))
	}
	commitCounts(t, db, "named.log", counts)
	r := newResolver(t, resolver.Config{
		RootHints: []netip.Addr{root}, Port: port, QPS: -1,
		Timeouts: []time.Duration{50 * time.Millisecond, 50 * time.Millisecond}, TCPTimeout: time.Second,
	})
	v := &Verifier{Resolver: r, Store: db, Policy: DefaultPolicy(), Concurrency: 8, MaxRounds: zones}
	st, err := v.Run(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Probed != zones {
		t.Errorf("stats %+v, want %d rounds recorded", st, zones)
	}
	rs := r.Stats()
	for _, a := range tld {
		// Two timeouts in a row put an address down (one per pass over
		// the zone's servers); the lookups queued behind them find it
		// down once they hold the address.
		if n := rs.PerAddress[a].Packets; n > 2 {
			t.Errorf("%s: %d queries sent, each a timeout waited through; want at most 2", a, n)
		}
	}
	if rs.Packets > 2*2+8 {
		t.Errorf("%d queries in all, want at most the 4 timeouts and a root referral per worker", rs.Packets)
	}
	fs, err := db.Findings(ctx, store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.Reason != resolver.ReasonParentUnreachable || f.Rounds != 1 {
			t.Fatalf("%s: %s after %d rounds, want parent_unreachable after 1", f.Zone, f.Reason, f.Rounds)
		}
	}
}

// A zone-less finding below a parent whose servers never answer cannot be
// attributed, and cannot be found listed nowhere either: it stays new and
// is tried again by a later run, not set aside as stale (which normal
// runs never look at again) because of an outage.
func TestVerifyZoneLessUnderSilentParent(t *testing.T) {
	root, _, port := silentParentTree(t)
	ctx := context.Background()
	db := storetest.Open(t)
	now := time.Now().UTC()
	// BIND 9.18: "REFUSED unexpected RCODE resolving 'www.z0001.test/A/IN': 127.64.1.2#53".
	commitCounts(t, db, "named.log", []store.Count{{Bucket: "test.", QName: "www.z0001.test.",
		Server: netip.MustParseAddr("127.64.1.2"), Port: 53, Source: "bind", Evidence: "refused",
		Day: store.DayOf(now), N: 1, First: now, Last: now}})
	r := newResolver(t, resolver.Config{
		RootHints: []netip.Addr{root}, Port: port, QPS: -1,
		Timeouts: []time.Duration{50 * time.Millisecond, 50 * time.Millisecond}, TCPTimeout: time.Second,
	})
	v := &Verifier{Resolver: r, Store: db, Policy: DefaultPolicy(), Concurrency: 1, MaxRounds: 10}
	st, err := v.Run(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Unattributable != 0 || st.Skipped != 1 {
		t.Errorf("stats %+v, want the finding skipped, not unattributable", st)
	}
	fs, err := db.Findings(ctx, store.Filter{})
	if err != nil || len(fs) != 1 || fs[0].Status != store.StatusNew {
		t.Errorf("findings %+v, %v; want the zone-less finding still new", fs, err)
	}
}
