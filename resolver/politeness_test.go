package resolver

import (
	"context"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// TestPoliteness runs many concurrent probes and checks against a few
// addresses and reads the counters: at most 4 packets per address per
// round, never two queries in flight to one address, every packet counted.
func TestPoliteness(t *testing.T) {
	l := newLab(t)
	r := newTestResolver(t, l.config())
	ctx := context.Background()
	targets := []struct {
		zone string
		addr netip.Addr
	}{
		{"good.test.", addrGood1},
		{"refused.test.", addrRefused},
		{"servfail.test.", addrServfail},
		{"tc.test.", addrTC},
	}
	const perTarget = 25
	var mu sync.Mutex
	sent := map[netip.Addr]int{}
	var wg sync.WaitGroup
	for _, tg := range targets {
		for range perTarget {
			wg.Go(func() {
				p := r.Probe(ctx, tg.zone, netip.AddrPortFrom(tg.addr, 0))
				if p.Packets > maxProbePackets || p.Packets == 0 {
					t.Errorf("probe of %s sent %d packets", tg.addr, p.Packets)
				}
				if p.Verdict == VerdictInconclusive {
					t.Errorf("probe of %s: %s", tg.addr, p.Reason)
				}
				mu.Lock()
				sent[tg.addr] += p.Packets
				mu.Unlock()
			})
		}
	}
	// Checks of a zone sharing two of those addresses, at the same time.
	for range 5 {
		wg.Go(func() {
			if _, err := r.Check(ctx, "halflame.test.", nil); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()

	st := r.Stats()
	for _, tg := range targets {
		a := st.PerAddress[tg.addr]
		if a.PeakInFlight != 1 {
			t.Errorf("%s: peak in flight %d, want 1", tg.addr, a.PeakInFlight)
		}
		if tg.addr != addrGood1 && a.Packets != int64(sent[tg.addr]) {
			t.Errorf("%s: resolver counted %d packets, probes report %d", tg.addr, a.Packets, sent[tg.addr])
		}
		if got := l.count(tg.addr).Load(); got > a.Packets {
			t.Errorf("%s: server saw %d queries, resolver counted %d", tg.addr, got, a.Packets)
		}
	}
	for a, s := range st.PerAddress {
		if s.PeakInFlight > 1 {
			t.Errorf("%s: peak in flight %d", a, s.PeakInFlight)
		}
	}
}

// TestRateLimit: the global limit holds across addresses. With a bucket of
// one, n packets take at least (n-1)/QPS; the bound is a property of the
// limiter, not a measurement of speed.
func TestRateLimit(t *testing.T) {
	l := newLab(t)
	cfg := l.config()
	cfg.QPS = 200
	r := newTestResolver(t, cfg)
	addrs := []netip.Addr{addrRefused, addrUpref, addrNonAuth, addrEmpty}
	start := time.Now()
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			r.Probe(context.Background(), "x.test.", netip.AddrPortFrom(addrs[i%len(addrs)], 0))
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	n := r.Stats().Packets
	if min := time.Duration(n-1) * time.Second / 200; elapsed < min {
		t.Errorf("%d packets in %v, the limit allows no faster than %v", n, elapsed, min)
	}
}
