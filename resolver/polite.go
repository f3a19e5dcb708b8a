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

// gate is what a caller decides and records while it holds a server's
// address, so that the next query waiting for the address sees it: skip,
// before the packet, sends nothing when it returns an error; done gets the
// exchange's outcome before the address is freed. Either may be nil.
type gate struct {
	skip func() error
	done func(error)
}

func (p *politeExchanger) exchange(ctx context.Context, ex exchanger, m *dns.Msg, server netip.AddrPort, timeout time.Duration, g gate) (*dns.Msg, time.Duration, error) {
	st := p.state(server.Addr())
	select {
	case st.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	}
	defer func() { <-st.sem }()
	if g.skip != nil {
		if err := g.skip(); err != nil {
			return nil, 0, err
		}
	}
	reply, rtt, err := p.send(ctx, st, ex, m, server, timeout)
	if g.done != nil {
		g.done(err)
	}
	return reply, rtt, err
}

// send sends m to server, whose address st the caller holds.
func (p *politeExchanger) send(ctx context.Context, st *addrState, ex exchanger, m *dns.Msg, server netip.AddrPort, timeout time.Duration) (*dns.Msg, time.Duration, error) {
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
