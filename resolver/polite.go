package resolver

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/time/rate"
)

// The politeness layer (docs/verification.md, section 5): every packet the
// Resolver sends passes here.

// politeExchanger enforces one query in flight per server address and the
// global rate limit on every packet, and counts packets.
type politeExchanger struct {
	limiter *rate.Limiter
	total   atomic.Int64
	perAddr sync.Map // netip.Addr (zone dropped) -> *addrState
}

type addrState struct {
	sem      chan struct{}
	packets  atomic.Int64
	inFlight atomic.Int32
	peak     atomic.Int32
}

func (p *politeExchanger) state(a netip.Addr) *addrState {
	a = a.Unmap().WithZone("")
	if st, ok := p.perAddr.Load(a); ok {
		return st.(*addrState)
	}
	st, _ := p.perAddr.LoadOrStore(a, &addrState{sem: make(chan struct{}, 1)})
	return st.(*addrState)
}

func (p *politeExchanger) exchange(ctx context.Context, ex exchanger, m *dns.Msg, server netip.AddrPort, timeout time.Duration, skip func() error) (*dns.Msg, time.Duration, error) {
	st := p.state(server.Addr())
	select {
	case st.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	}
	defer func() { <-st.sem }()
	if skip != nil {
		if err := skip(); err != nil {
			return nil, 0, err
		}
	}
	if err := p.limiter.Wait(ctx); err != nil {
		if ctx.Err() != nil {
			return nil, 0, ctx.Err()
		}
		return nil, 0, fmt.Errorf("rate limit: %w", err)
	}
	n := st.inFlight.Add(1)
	defer st.inFlight.Add(-1)
	for {
		peak := st.peak.Load()
		if n <= peak || st.peak.CompareAndSwap(peak, n) {
			break
		}
	}
	st.packets.Add(1)
	p.total.Add(1)
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return ex.ExchangeContext(tctx, m, server.String())
}

// Stats are the Resolver's packet counters since New.
type Stats struct {
	Packets    int64 // packets sent (UDP datagrams and TCP queries)
	PerAddress map[netip.Addr]AddressStats
}

// AddressStats are the counters of one server address.
type AddressStats struct {
	Packets      int64
	PeakInFlight int // never above 1 by construction; measured to prove it
}

// Stats returns a snapshot of the packet counters. They (and the per-address
// locks) are kept for every address ever queried, a few dozen bytes each.
func (r *Resolver) Stats() Stats {
	s := Stats{Packets: r.polite.total.Load(), PerAddress: map[netip.Addr]AddressStats{}}
	r.polite.perAddr.Range(func(k, v any) bool {
		st := v.(*addrState)
		s.PerAddress[k.(netip.Addr)] = AddressStats{Packets: st.packets.Load(), PeakInFlight: int(st.peak.Load())}
		return true
	})
	return s
}
