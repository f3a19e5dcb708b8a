package resolver

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/lamers-dev/lamers/resolver/resolvertest"
)

// BenchmarkVerify probes 5,000 (zone, address) pairs: 500 zones, each on 10
// of 100 server addresses on loopback (127.54.0.x). 80 addresses serve every
// zone, 10 refuse, 5 give upward referrals, 5 are silent. 256 probes run at
// once; the per-address lock serialises each address. No rate limit (the
// default 50 qps would make this a 2.5-minute test of the limiter); UDP
// timeouts 20 ms so that the silent addresses finish.
//
// Metrics: ns/op is the wall time of all 5,000 probes; queries/probe;
// peak-inflight/addr (must be 1); max-packets/probe (must be <= 4).
func BenchmarkVerify(b *testing.B) {
	port := pickPort(b)
	l := &labTest{port: port, queries: map[netip.Addr]*atomic.Int64{}}
	addrs := make([]netip.Addr, 100)
	for i := range addrs {
		addrs[i] = netip.AddrFrom4([4]byte{127, 54, 0, byte(i + 1)})
		a := addrs[i]
		switch {
		case i < 80:
			l.serve(b, a, dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
				z := req.Question[0].Name
				w.WriteMsg(resolvertest.Reply{AA: true, Answer: z + " 300 IN SOA ns." + z + " hostmaster." + z + " 1 1800 900 604800 300"}.Msg(req))
			}), false)
		case i < 90:
			l.serve(b, a, resolvertest.Reply{Rcode: dns.RcodeRefused}, false)
		case i < 95:
			l.serve(b, a, resolvertest.Reply{Ns: `. 3600000 IN NS a.root-servers.test.`}, false)
		default:
			l.rawUDP(b, a, func(*net.UDPConn, netip.AddrPort, *dns.Msg) {})
		}
	}
	type pair struct {
		zone string
		addr netip.Addr
	}
	var pairs []pair
	for z := range 500 {
		for k := range 10 {
			pairs = append(pairs, pair{fmt.Sprintf("z%d.bench.", z), addrs[(z*10+k*7)%100]})
		}
	}
	rand.Shuffle(len(pairs), func(i, j int) { pairs[i], pairs[j] = pairs[j], pairs[i] })

	var packets, probes, maxPackets int64
	var peak int
	reasons := map[string]int{}
	b.ResetTimer()
	for b.Loop() {
		r, err := New(Config{
			RootHints: []netip.Addr{addrs[0]}, Port: port, QPS: -1,
			Timeouts: []time.Duration{20 * time.Millisecond, 20 * time.Millisecond}, TCPTimeout: 100 * time.Millisecond,
		})
		if err != nil {
			b.Fatal(err)
		}
		work := make(chan pair)
		var wg sync.WaitGroup
		var mu sync.Mutex
		for range 256 {
			wg.Go(func() {
				for p := range work {
					pr := r.Probe(context.Background(), p.zone, netip.AddrPortFrom(p.addr, 0))
					mu.Lock()
					reasons[pr.Reason]++
					maxPackets = max(maxPackets, int64(pr.Packets))
					mu.Unlock()
				}
			})
		}
		for _, p := range pairs {
			work <- p
		}
		close(work)
		wg.Wait()
		st := r.Stats()
		packets += st.Packets
		probes += int64(len(pairs))
		for _, a := range st.PerAddress {
			peak = max(peak, a.PeakInFlight)
		}
		r.Close(context.Background())
	}
	b.StopTimer()
	b.ReportMetric(float64(packets)/float64(probes), "queries/probe")
	b.ReportMetric(float64(peak), "peak-inflight/addr")
	b.ReportMetric(float64(maxPackets), "max-packets/probe")
	if peak != 1 || maxPackets > maxProbePackets {
		b.Errorf("politeness broken: peak %d, max packets %d", peak, maxPackets)
	}
	b.Logf("reasons over %d probes: %v", probes, reasons)
}
