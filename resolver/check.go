package resolver

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"sync"
)

// CheckResult is what `lamers check` prints.
type CheckResult struct {
	Zone       string         `json:"zone"`
	Parent     string         `json:"parent"`
	Delegation []string       `json:"delegation"`
	Servers    []ServerResult `json:"servers"`
}

// ServerResult is one (NS name, address) of a check.
type ServerResult struct {
	Name    string   `json:"name"`    // NS name; "" for a --server address the delegation does not list
	Address string   `json:"address"` // canonical text, no port; "" when the name has no address
	Verdict Verdict  `json:"verdict"`
	Reason  string   `json:"reason"`
	Flags   []string `json:"flags"`
	RTTms   float64  `json:"rtt_ms"`
	// Probe is the full round behind this row (zero for ns_name_nxdomain
	// and ns_lookup_failed rows).
	Probe Probe `json:"-"`
}

// Check finds zone's delegation and probes every (NS name, address) of it,
// or, when servers is not empty, only those addresses (an address that the
// delegation does not list is probed under the name ""). Names whose lookup
// failed get a row without address (ns_name_nxdomain: lame; ns_lookup_failed:
// inconclusive) unless servers is given. An address listed under several
// names is probed once. The error wraps ErrNotDelegated when the zone has no
// delegation, ErrParentUnreachable when it could not be found.
func (r *Resolver) Check(ctx context.Context, zone string, servers []netip.Addr) (CheckResult, error) {
	d, err := r.delegation(ctx, zone)
	res := CheckResult{Zone: d.Zone, Parent: d.Parent, Delegation: []string{}, Servers: []ServerResult{}}
	if err != nil {
		return res, fmt.Errorf("resolver: check %s: %w", d.Zone, err)
	}
	if !d.Delegated {
		return res, fmt.Errorf("resolver: check %s: %w by %s", d.Zone, ErrNotDelegated, d.Parent)
	}
	want := map[netip.Addr]bool{}
	for _, a := range servers {
		want[a.Unmap().WithZone("")] = true
	}
	seen := map[netip.Addr]bool{}
	for _, ns := range d.NS {
		res.Delegation = append(res.Delegation, ns.Name)
		if ns.Err != "" && len(servers) == 0 {
			res.Servers = append(res.Servers, ServerResult{
				Name: ns.Name, Verdict: VerdictOf(ns.Err), Reason: ns.Err, Flags: []string{},
			})
		}
		for _, a := range ns.Addrs {
			if len(servers) > 0 && !want[a.WithZone("")] {
				continue
			}
			seen[a.WithZone("")] = true
			res.Servers = append(res.Servers, ServerResult{Name: ns.Name, Address: a.String()})
		}
	}
	for _, a := range servers {
		if a = a.Unmap(); !seen[a.WithZone("")] {
			seen[a.WithZone("")] = true
			res.Servers = append(res.Servers, ServerResult{Address: a.String()})
		}
	}

	// Probe each distinct address once, Concurrency at a time.
	probes := map[string]Probe{}
	var mu sync.Mutex
	sem := make(chan struct{}, r.cfg.Concurrency)
	var wg sync.WaitGroup
	for _, s := range res.Servers {
		if s.Address == "" {
			continue
		}
		mu.Lock()
		_, dup := probes[s.Address]
		probes[s.Address] = Probe{}
		mu.Unlock()
		if dup {
			continue
		}
		addr := netip.MustParseAddr(s.Address)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			p := r.Probe(ctx, d.Zone, netip.AddrPortFrom(addr, 0))
			mu.Lock()
			probes[addr.String()] = p
			mu.Unlock()
		}()
	}
	wg.Wait()
	for i, s := range res.Servers {
		if s.Address == "" {
			continue
		}
		p := probes[s.Address]
		res.Servers[i].Verdict = p.Verdict
		res.Servers[i].Reason = p.Reason
		res.Servers[i].Flags = slices.Clone(p.Flags)
		res.Servers[i].RTTms = math.Round(float64(p.RTT.Microseconds())) / 1000
		res.Servers[i].Probe = p
	}
	if ctx.Err() != nil {
		return res, fmt.Errorf("resolver: check %s: %w", d.Zone, ctx.Err())
	}
	return res, nil
}

// Lame reports whether at least one server of the check is lame (what
// `lamers check` turns into exit status 1; inconclusive rows do not count).
func (c CheckResult) Lame() bool {
	return slices.ContainsFunc(c.Servers, func(s ServerResult) bool { return s.Verdict == VerdictLame })
}
