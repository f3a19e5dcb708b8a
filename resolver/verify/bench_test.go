package verify

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/lamers-dev/lamers/resolver"
	"github.com/lamers-dev/lamers/store"
	"github.com/lamers-dev/lamers/store/storetest"
)

// BenchmarkVerifySilentParent runs verify over 1,000 findings whose parent
// zone's two servers never answer (silentParentTree), with the timeouts of
// bench/verify.sh (200 ms). Each iteration has a fresh database and a fresh
// resolver, which knows nothing of the dead servers. It reports the
// queries sent and the timeouts waited through (the queries to the silent
// servers) per run.
func BenchmarkVerifySilentParent(b *testing.B) {
	root, tld, port := silentParentTree(b)
	const zones = 1000
	now := time.Now().UTC()
	var counts []store.Count
	for i := range zones {
		server := netip.AddrFrom4([4]byte{127, 64, byte(1 + i/250), byte(1 + i%250)})
		counts = append(counts, bindLame(fmt.Sprintf("z%04d.test.", i), server, 1, now))
	}
	var queries, timeouts int64
	for b.Loop() {
		b.StopTimer()
		db := storetest.Open(b)
		commitCounts(b, db, "named.log", counts)
		r, err := resolver.New(resolver.Config{
			RootHints: []netip.Addr{root}, Port: port, QPS: 2000,
			Timeouts: []time.Duration{200 * time.Millisecond, 200 * time.Millisecond}, SkipEDNSCheck: true,
		})
		if err != nil {
			b.Fatal(err)
		}
		v := &Verifier{Resolver: r, Store: db, Policy: DefaultPolicy(), Concurrency: 64, MaxRounds: 5000}
		b.StartTimer()
		st, err := v.Run(context.Background(), Options{})
		b.StopTimer()
		if err != nil || st.Probed != zones {
			b.Fatalf("stats %+v, %v; want %d rounds", st, err, zones)
		}
		rs := r.Stats()
		queries += rs.Packets
		for _, a := range tld {
			timeouts += rs.PerAddress[a].Packets
		}
		r.Close(context.Background())
		b.StartTimer()
	}
	b.ReportMetric(float64(queries)/float64(b.N), "queries/op")
	b.ReportMetric(float64(timeouts)/float64(b.N), "timeouts/op")
}
