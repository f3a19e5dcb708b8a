package resolver

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/miekg/dns"
)

// Delegation is a zone's current delegation as its parent publishes it, plus
// the NS set at the child's apex.
type Delegation struct {
	Zone      string       // canonical
	Parent    string       // the zone the delegation was read from
	Delegated bool         // false: NXDOMAIN, or the name is no zone cut
	NS        []NameServer // the parent's NS set, sorted by name
	ChildNS   []string     // the NS names at the child's apex, sorted; empty if no server answered authoritatively
	// ChildOnly are the names of ChildNS that the parent does not list, with
	// their addresses: RFC 2181 §6.1 makes them authoritative too.
	ChildOnly []NameServer
}

// NameServer is one NS name of a delegation.
type NameServer struct {
	Name  string
	Addrs []netip.Addr
	Glue  bool   // the addresses came from the parent's glue
	Err   string // "", ReasonNSNameNXDomain or ReasonNSLookupFailed
	// Alias: the name is a CNAME, its addresses are the target's (RFC 2181
	// §10.3 forbids it). Known only for names looked up, not for glue.
	Alias bool
}

// Lists reports whether addr is an address of the delegation: of the parent's
// NS set or of the child's apex NS set. A finding whose address is not
// listed, or whose zone is not Delegated, is stale (docs/verification.md,
// section 1); deciding
// that is the caller's business.
func (d Delegation) Lists(addr netip.Addr) bool {
	addr = addr.Unmap().WithZone("")
	for _, set := range [][]NameServer{d.NS, d.ChildOnly} {
		for _, ns := range set {
			for _, a := range ns.Addrs {
				if a.WithZone("") == addr {
					return true
				}
			}
		}
	}
	return false
}

// Delegation finds zone's current delegation (docs/verification.md,
// "Finding the delegation"): it iterates from the root to the parent, asks
// the parent's servers "NS <zone>" with RD=0, takes glue for names inside the
// parent, resolves the other names' addresses iteratively, and asks the
// delegated servers for the apex NS set. Results are cached by TTL.
//
// A zone that is no longer delegated gives Delegated=false and no error. When
// the servers of a zone on the way down all fail, the error wraps
// ErrParentUnreachable.
func (r *Resolver) Delegation(ctx context.Context, zone string) (Delegation, error) {
	d, err := r.delegation(ctx, zone)
	if err != nil {
		return d, fmt.Errorf("resolver: delegation %s: %w", d.Zone, err)
	}
	return d, nil
}

// delegation is Delegation with errors that do not name the call.
func (r *Resolver) delegation(ctx context.Context, zone string) (Delegation, error) {
	return r.findDelegation(ctx, zone, true)
}

// findDelegation is delegation; without child it stops at the parent's NS
// set (ChildNS and ChildOnly empty) and caches nothing: Check asks the
// child's apex itself, of the servers its probes found authoritative.
func (r *Resolver) findDelegation(ctx context.Context, zone string, child bool) (Delegation, error) {
	d := Delegation{Zone: zone}
	zone, err := parseName(zone)
	if err != nil || zone == "." {
		return d, errors.New("not a delegable zone name")
	}
	d.Zone = zone
	if cached, ok := r.delegs.get(zone); ok {
		return cached.clone(), nil
	}
	ctx, done, err := r.begin(ctx)
	if err != nil {
		return d, err
	}
	defer done()
	b := newBudget()
	res, err := r.walk(ctx, zone, dns.TypeNS, zone, b)
	last := res.cuts[len(res.cuts)-1]
	if err != nil {
		d.Parent = last.zone
		if errors.Is(err, ErrNoAuthoritative) {
			return d, fmt.Errorf("%w: %w", ErrParentUnreachable, err)
		}
		return d, err
	}
	var servers []nsServer
	ttl := maxCacheTTL
	switch {
	case last.zone == zone:
		d.Parent = res.cuts[len(res.cuts)-2].zone
		servers, ttl = last.servers, last.ttl
	case hasApexNS(res.msg, zone):
		// The parent's server is authoritative for the child too and
		// answered from the child zone.
		d.Parent = last.zone
		for _, rr := range res.msg.Answer {
			if ns, ok := rr.(*dns.NS); ok && canonical(ns.Hdr.Name) == zone {
				name := canonical(ns.Ns)
				s := nsServer{name: name}
				if dns.IsSubDomain(d.Parent, name) {
					s.addrs = glueFor(res.msg, name)
					s.glue = len(s.addrs) > 0
				}
				servers = append(servers, s)
				ttl = min(ttl, time.Duration(ns.Hdr.Ttl)*time.Second)
			}
		}
	default:
		d.Parent = last.zone
		return d, nil
	}
	d.Delegated = true
	d.NS, ttl = r.nameServers(ctx, servers, b, ttl)
	if ctx.Err() != nil || !child {
		return d, ctx.Err()
	}
	d.ChildNS = r.childNS(ctx, zone, d.NS, b)
	ttl = r.addChildOnly(ctx, &d, b, ttl)
	if ctx.Err() != nil {
		return d, ctx.Err()
	}
	r.delegs.put(zone, d.clone(), ttl)
	return d, nil
}

// addChildOnly looks up the names of d.ChildNS that the parent does not
// list into d.ChildOnly and returns ttl lowered to what they allow.
func (r *Resolver) addChildOnly(ctx context.Context, d *Delegation, b *budget, ttl time.Duration) time.Duration {
	for _, name := range d.ChildNS {
		if !slices.ContainsFunc(d.NS, func(ns NameServer) bool { return ns.Name == name }) {
			var more []NameServer
			more, ttl = r.nameServers(ctx, []nsServer{{name: name}}, b, ttl)
			d.ChildOnly = append(d.ChildOnly, more...)
		}
	}
	return ttl
}

// clone copies d deeply so that callers can keep what they get.
func (d Delegation) clone() Delegation {
	cp := func(in []NameServer) []NameServer {
		out := slices.Clone(in)
		for i := range out {
			out[i].Addrs = slices.Clone(out[i].Addrs)
		}
		return out
	}
	d.NS, d.ChildOnly, d.ChildNS = cp(d.NS), cp(d.ChildOnly), slices.Clone(d.ChildNS)
	return d
}

func hasApexNS(m *dns.Msg, zone string) bool {
	if m == nil || !m.Authoritative || m.Rcode != dns.RcodeSuccess {
		return false
	}
	for _, rr := range m.Answer {
		if ns, ok := rr.(*dns.NS); ok && canonical(ns.Hdr.Name) == zone {
			return true
		}
	}
	return false
}

// nameServers fills in the addresses of servers, sorted by name.
func (r *Resolver) nameServers(ctx context.Context, servers []nsServer, b *budget, ttl time.Duration) ([]NameServer, time.Duration) {
	var out []NameServer
	for _, s := range servers {
		ns := NameServer{Name: s.name, Glue: s.glue, Addrs: slices.Clone(s.addrs)}
		if !s.glue {
			e, err := r.lookupAddrEntry(ctx, s.name, b)
			addrs := e.addrs
			ns.Alias = e.alias
			switch {
			case errors.Is(err, ErrNXDomain):
				ns.Err = ReasonNSNameNXDomain
			case err != nil:
				ns.Err = ReasonNSLookupFailed
				ttl = min(ttl, negativeTTL)
				r.log.Debug("ns lookup failed", logKeyNS, s.name, logKeyErr, err)
			case len(addrs) == 0:
				ns.Err = ReasonNSLookupFailed
			}
			ns.Addrs = addrs
		}
		out = append(out, ns)
	}
	slices.SortFunc(out, func(a, b NameServer) int { return compareNames(a.Name, b.Name) })
	return out, ttl
}

func compareNames(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// maxChildNSTries bounds the servers asked for the apex NS set.
const maxChildNSTries = 3

// childNS asks the delegated servers, one try each, for the apex NS set and
// returns the first authoritative answer's names.
func (r *Resolver) childNS(ctx context.Context, zone string, nss []NameServer, b *budget) []string {
	tries := 0
	for _, ns := range nss {
		for _, a := range ns.Addrs {
			if !r.usable(a) || tries >= maxChildNSTries || r.spend(b) != nil {
				continue
			}
			tries++
			m, err := r.queryAddr(ctx, a, "", zone, dns.TypeNS, r.cfg.Timeouts[0])
			if err != nil || !hasApexNS(m, zone) {
				continue
			}
			var names []string
			for _, rr := range m.Answer {
				if n, ok := rr.(*dns.NS); ok && canonical(n.Hdr.Name) == zone {
					if name := canonical(n.Ns); !slices.Contains(names, name) {
						names = append(names, name)
					}
				}
			}
			slices.Sort(names)
			return names
		}
	}
	return nil
}

// ZoneFor returns the deepest zone cut at or above qname whose delegation
// (the parent's NS set, else the child's apex NS set) lists server. It
// attributes BIND's zone-less log lines ("REFUSED unexpected RCODE resolving
// 'q/T/C': addr#port"). The error wraps ErrNotListed only when every cut on
// the way to qname was read and none lists the server; when a cut's servers
// did not answer, or an NS name's addresses could not be looked up, "not
// listed" is unproven and the error wraps that failure instead (the caller
// tries again later).
func (r *Resolver) ZoneFor(ctx context.Context, qname string, server netip.Addr) (string, error) {
	q, err := parseName(qname)
	if err != nil {
		return "", fmt.Errorf("resolver: zone for %q: %w", shorten(qname), err)
	}
	qname = q
	server = server.Unmap().WithZone("")
	wctx, done, err := r.begin(ctx)
	if err != nil {
		return "", fmt.Errorf("resolver: zone for %s @%s: %w", qname, server, err)
	}
	b := newBudget()
	res, unsure := r.walk(wctx, qname, dns.TypeNS, "", b)
	cuts := res.cuts
	for i := len(cuts) - 1; i >= 1; i-- {
		listed, err := r.cutLists(wctx, cuts[i], server, b)
		if listed {
			done()
			return cuts[i].zone, nil
		}
		unsure = cmp.Or(unsure, err)
	}
	done()
	// The child's apex NS sets, deepest first.
	for i := len(cuts) - 1; i >= 1; i-- {
		d, err := r.delegation(ctx, cuts[i].zone)
		if err == nil && d.Lists(server) {
			return cuts[i].zone, nil
		}
		if err != nil && !errors.Is(err, ErrNotDelegated) {
			unsure = cmp.Or(unsure, err)
		}
	}
	if unsure != nil {
		return "", fmt.Errorf("resolver: zone for %s @%s: not listed where it could be read: %w", qname, server, unsure)
	}
	return "", fmt.Errorf("resolver: zone for %s @%s: %w", qname, server, ErrNotListed)
}

// cutLists reports whether an address of c's servers is server. A lookup
// of an NS name's addresses that failed other than with NXDOMAIN is
// returned when no address matched: the name may have been server's.
func (r *Resolver) cutLists(ctx context.Context, c *cut, server netip.Addr, b *budget) (bool, error) {
	var failed error
	for _, s := range c.servers {
		addrs := s.addrs
		if !s.glue {
			var err error
			addrs, err = r.lookupAddrs(ctx, s.name, b)
			if err != nil && !errors.Is(err, ErrNXDomain) {
				failed = cmp.Or(failed, fmt.Errorf("ns %s: %w", s.name, err))
			}
		}
		for _, a := range addrs {
			if a.WithZone("") == server {
				return true, nil
			}
		}
	}
	return false, failed
}
