package resolver

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// ZoneSOA is a zone's SOA record as one of the zone's delegated servers gave
// it in an authoritative reply.
type ZoneSOA struct {
	SOA
	Zone       string         // canonical
	ServerName string         // the NS name the server was reached under
	Server     netip.AddrPort // the address that answered
	At         time.Time      // when it answered (Config.Clock)
}

// SOA finds zone's delegation and probes its servers one address at a time,
// the parent's NS set first (by name), then the names only the child's apex
// lists, until one answers authoritatively (Probe's round, without the EDNS
// check), and returns that server's SOA. A server that is lame, silent or
// inconclusive is passed over: an SOA is only ever read from a server that
// serves the zone (docs/verification.md). The error wraps ErrNoAuthoritative
// when no server answers authoritatively, ErrNotDelegated when the zone has
// no delegation, and Delegation's errors.
func (r *Resolver) SOA(ctx context.Context, zone string) (ZoneSOA, error) {
	ctx, done, err := r.begin(ctx)
	if err != nil {
		return ZoneSOA{}, fmt.Errorf("resolver: soa %s: %w", zone, err)
	}
	defer done()
	d, err := r.delegation(ctx, zone)
	if err != nil {
		return ZoneSOA{}, fmt.Errorf("resolver: soa %s: %w", d.Zone, err)
	}
	if !d.Delegated {
		return ZoneSOA{}, fmt.Errorf("resolver: soa %s: %w by %s", d.Zone, ErrNotDelegated, d.Parent)
	}
	seen := map[netip.Addr]bool{}
	var tried []string
	for _, ns := range slices.Concat(d.NS, d.ChildOnly) {
		if ns.Err != "" {
			tried = append(tried, ns.Name+" "+ns.Err)
			continue
		}
		for _, a := range ns.Addrs {
			if seen[a.WithZone("")] {
				continue
			}
			seen[a.WithZone("")] = true
			p := r.probe(ctx, d.Zone, netip.AddrPortFrom(a, 0), probeMode{})
			if p.Verdict == VerdictAuthoritative {
				return ZoneSOA{SOA: p.SOA, Zone: d.Zone, ServerName: ns.Name, Server: p.Server, At: p.At}, nil
			}
			if ctx.Err() != nil {
				return ZoneSOA{}, fmt.Errorf("resolver: soa %s: %w", d.Zone, ctx.Err())
			}
			tried = append(tried, ns.Name+" "+a.String()+" "+p.Reason)
		}
	}
	return ZoneSOA{}, fmt.Errorf("resolver: soa %s: %w: %s", d.Zone, ErrNoAuthoritative, strings.Join(tried, ", "))
}
