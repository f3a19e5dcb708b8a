package resolver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/miekg/dns"
)

// Iterative resolution from the root hints, RD=0, following referrals,
// accepting glue only for names inside the referring zone (in bailiwick) and
// resolving the other NS names' addresses on demand. Bounds per resolution:
// Config.MaxReferrals, Config.MaxCNAMEs, Config.MaxQueries (RFC 1536) and a
// nesting depth for NS address lookups.

var (
	// ErrNoAuthoritative: no server of a zone gave a usable reply — an
	// authoritative answer or, on the way down, a referral: each one was
	// lame, silent or unreachable.
	ErrNoAuthoritative = errors.New("no server answers authoritatively")
	// ErrParentUnreachable: Delegation found no server of some zone on the
	// way down to the zone's parent that answered usefully (it comes with
	// ErrNoAuthoritative); verification records parent_unreachable.
	ErrParentUnreachable = errors.New("parent unreachable")
	// ErrNotDelegated: the zone has no delegation (NXDOMAIN, or no zone cut).
	ErrNotDelegated = errors.New("not delegated")
	// ErrNotListed: ZoneFor found no zone cut listing the address.
	ErrNotListed = errors.New("address not listed in any delegation")
	// ErrNXDomain: the name looked up does not exist (an authoritative
	// NXDOMAIN).
	ErrNXDomain = errors.New("name does not exist")
	// ErrBudget: a resolution hit MaxReferrals, MaxCNAMEs or MaxQueries.
	ErrBudget = errors.New("resolution budget exhausted")
)

const (
	maxLookupDepth = 6
	maxCacheTTL    = 24 * time.Hour
	negativeTTL    = 5 * time.Minute // RFC 2308 §7 bound for failures
	ednsPayload    = 1232
)

// nsServer is one NS name of a zone cut.
type nsServer struct {
	name  string
	addrs []netip.Addr // glue, when glue
	glue  bool
}

// cut is a zone cut as seen from the parent side (or the root hints).
type cut struct {
	zone    string
	servers []nsServer
	ttl     time.Duration
}

// budget bounds one resolution, nested address lookups included.
type budget struct {
	queries, referrals, cnames int
	depth                      int
	active                     map[string]bool // names whose addresses are being looked up
}

func newBudget() *budget { return &budget{active: map[string]bool{}} }

func (r *Resolver) spend(b *budget) error {
	b.queries++
	if b.queries > r.cfg.MaxQueries {
		return fmt.Errorf("%w: more than %d queries", ErrBudget, r.cfg.MaxQueries)
	}
	return nil
}

// rootCut is the cut made of the root hints.
func (r *Resolver) rootCut() *cut {
	return &cut{zone: ".", servers: []nsServer{{name: "root-hints.", addrs: r.roots, glue: true}}}
}

// cachedChain returns the cached cuts from the root down to the deepest
// ancestor of name (name itself only when inclusive).
func (r *Resolver) cachedChain(name string, inclusive bool) []*cut {
	chain := []*cut{r.rootCut()}
	labels := dns.SplitDomainName(name)
	for i := len(labels) - 1; i >= 0; i-- {
		if i == 0 && !inclusive {
			break
		}
		z := canonical(dns.Fqdn(joinLabels(labels[i:])))
		if c, ok := r.cuts.get(z); ok {
			chain = append(chain, c)
		}
	}
	return chain
}

func joinLabels(l []string) string {
	s := ""
	for i, x := range l {
		if i > 0 {
			s += "."
		}
		s += x
	}
	return s
}

// walkResult is where a walk towards a name ended.
type walkResult struct {
	cuts []*cut   // root (or cached) first, deepest last
	msg  *dns.Msg // the terminal reply of the deepest cut's servers
	ref  *dns.Msg // the referral that created the last cut, if any in this walk
	from netip.Addr
}

// walk follows referrals towards qname, asking qtype at each cut. It stops at
// a terminal reply, or when a referral creates the cut stopAt. On error the
// cuts reached so far are still returned.
func (r *Resolver) walk(ctx context.Context, qname string, qtype uint16, stopAt string, b *budget) (walkResult, error) {
	res := walkResult{cuts: r.cachedChain(qname, stopAt == "")}
	c := res.cuts[len(res.cuts)-1]
	for {
		m, from, err := r.queryCut(ctx, c, qname, qtype, b)
		if err != nil {
			return res, err
		}
		next := referralCut(m, c.zone, qname)
		if next == nil {
			res.msg, res.from = m, from
			return res, nil
		}
		b.referrals++
		if b.referrals > r.cfg.MaxReferrals {
			return res, fmt.Errorf("%w: more than %d referrals", ErrBudget, r.cfg.MaxReferrals)
		}
		r.cuts.put(next.zone, next, next.ttl)
		res.cuts = append(res.cuts, next)
		res.ref = m
		if next.zone == stopAt {
			return res, nil
		}
		c = next
	}
}

// referralCut returns the cut a reply from a server of zone refers to when it
// is a downward referral towards qname, else nil.
func referralCut(m *dns.Msg, zone, qname string) *cut {
	if m.Rcode != dns.RcodeSuccess || len(m.Answer) > 0 && m.Authoritative {
		return nil
	}
	var c *cut
	for _, rr := range m.Ns {
		ns, ok := rr.(*dns.NS)
		if !ok || ns.Hdr.Class != dns.ClassINET {
			continue
		}
		owner := canonical(ns.Hdr.Name)
		if owner == zone || !dns.IsSubDomain(zone, owner) || !dns.IsSubDomain(owner, qname) {
			continue
		}
		if c == nil {
			c = &cut{zone: owner, ttl: time.Duration(ns.Hdr.Ttl) * time.Second}
		}
		if owner != c.zone {
			continue
		}
		if t := time.Duration(ns.Hdr.Ttl) * time.Second; t < c.ttl {
			c.ttl = t
		}
		name := canonical(ns.Ns)
		if slices.ContainsFunc(c.servers, func(s nsServer) bool { return s.name == name }) {
			continue
		}
		s := nsServer{name: name}
		if dns.IsSubDomain(zone, name) { // in bailiwick of the referring zone
			s.addrs = glueFor(m, name)
			s.glue = len(s.addrs) > 0
		}
		c.servers = append(c.servers, s)
	}
	if c != nil {
		c.ttl = min(c.ttl, maxCacheTTL)
	}
	return c
}

// glueFor returns the A and AAAA records for name in the additional section.
func glueFor(m *dns.Msg, name string) []netip.Addr {
	var out []netip.Addr
	for _, rr := range m.Extra {
		if canonical(rr.Header().Name) != name || rr.Header().Class != dns.ClassINET {
			continue
		}
		if a, ok := rrAddr(rr); ok && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

func rrAddr(rr dns.RR) (netip.Addr, bool) {
	var ip net.IP
	switch rr := rr.(type) {
	case *dns.A:
		ip = rr.A.To4()
	case *dns.AAAA:
		ip = rr.AAAA.To16()
	default:
		return netip.Addr{}, false
	}
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// useful reports whether a reply from a server of zone moves the resolution
// of qname on: an authoritative answer (NOERROR or NXDOMAIN) or a downward
// referral. Everything else is a lame or broken server: try the next.
func useful(m *dns.Msg, zone, qname string) bool {
	if m.Rcode != dns.RcodeSuccess && m.Rcode != dns.RcodeNameError {
		return false
	}
	if m.Authoritative {
		return true
	}
	return referralCut(m, zone, qname) != nil
}

// queryCut asks the servers of c in turn, one pass per configured timeout,
// until one gives a useful reply.
func (r *Resolver) queryCut(ctx context.Context, c *cut, qname string, qtype uint16, b *budget) (*dns.Msg, netip.Addr, error) {
	var lastErr error = errors.New("no usable server address")
	tried := map[netip.Addr]bool{}
	for pass := range r.cfg.Timeouts {
		retry := false
		for _, s := range c.servers {
			addrs := s.addrs
			if !s.glue {
				var err error
				addrs, err = r.lookupAddrs(ctx, s.name, b)
				if err != nil {
					if errors.Is(err, ErrBudget) || ctx.Err() != nil {
						return nil, netip.Addr{}, err
					}
					lastErr = fmt.Errorf("ns %s: %w", s.name, err)
					continue
				}
			}
			for _, a := range addrs {
				if !r.usable(a) || (pass > 0 && tried[a]) {
					continue
				}
				if r.isDown(a, c.zone) {
					lastErr = fmt.Errorf("query %s %s @%s: %w", dns.TypeToString[qtype], qname, a, errServerDown)
					continue
				}
				if err := r.spend(b); err != nil {
					return nil, netip.Addr{}, err
				}
				m, err := r.queryAddr(ctx, a, c.zone, qname, qtype, r.cfg.Timeouts[pass])
				if ctx.Err() != nil {
					return nil, netip.Addr{}, ctx.Err()
				}
				if err != nil {
					lastErr = fmt.Errorf("query %s %s @%s: %w", dns.TypeToString[qtype], qname, a, err)
					switch {
					case errors.Is(err, errServerDown):
					case errors.Is(err, errTimeout):
						retry = true
					default:
						tried[a] = true
					}
					continue
				}
				tried[a] = true
				if useful(m, c.zone, qname) {
					return m, a, nil
				}
				lastErr = fmt.Errorf("query %s %s @%s: %s", dns.TypeToString[qtype], qname, a, classify(c.zone, m).reason)
			}
		}
		if !retry {
			break
		}
	}
	return nil, netip.Addr{}, fmt.Errorf("zone %s: %w: %w", c.zone, ErrNoAuthoritative, lastErr)
}

// queryAddr sends one iterative query (EDNS0, RD=0; without EDNS after
// FORMERR/NOTIMP; TCP after TC=1). With a zone (the zone cut a serves),
// it sends nothing and returns errServerDown when a is down for that zone
// by the time the address is free (down.go).
func (r *Resolver) queryAddr(ctx context.Context, a netip.Addr, zone, qname string, qtype uint16, timeout time.Duration) (*dns.Msg, error) {
	server := netip.AddrPortFrom(a, r.cfg.Port)
	var g gate
	if zone != "" {
		g.skip = func() error {
			if r.isDown(a, zone) {
				return errServerDown
			}
			return nil
		}
		// Recorded before the address is freed: the query waiting for
		// it sees the count this one made (two in a row put it down).
		// A lookup cancelled or out of time says nothing of the server.
		g.done = func(err error) {
			if ctx.Err() == nil {
				r.noteOutcome(a, zone, err)
			}
		}
	}
	m := new(dns.Msg)
	m.SetQuestion(qname, qtype)
	m.RecursionDesired = false
	m.SetEdns0(ednsPayload, false)
	reply, _, err := r.send(ctx, m, server, false, timeout, g)
	g.skip = nil
	if err == nil && (reply.Rcode == dns.RcodeFormatError || reply.Rcode == dns.RcodeNotImplemented) {
		m = m.Copy()
		m.Extra = nil
		m.Id = dns.Id()
		reply, _, err = r.send(ctx, m, server, false, timeout, g)
	}
	if err == nil && reply.Truncated {
		reply, _, err = r.send(ctx, m, server, true, r.cfg.TCPTimeout, g)
	}
	if err != nil {
		return nil, err
	}
	return reply, nil
}

// addrEntry is a cached address lookup.
type addrEntry struct {
	addrs    []netip.Addr
	nxdomain bool
	alias    bool // the name is a CNAME: the addresses are its target's
}

// lookupAddrs resolves name's A and AAAA records iteratively. It returns an
// error wrapping ErrNXDomain when the name does not exist.
func (r *Resolver) lookupAddrs(ctx context.Context, name string, b *budget) ([]netip.Addr, error) {
	e, err := r.lookupAddrEntry(ctx, name, b)
	return e.addrs, err
}

// lookupAddrEntry is lookupAddrs that also tells whether name is an alias.
func (r *Resolver) lookupAddrEntry(ctx context.Context, name string, b *budget) (addrEntry, error) {
	name = canonical(name)
	if e, ok := r.addrs.get(name); ok {
		if e.nxdomain {
			return addrEntry{}, fmt.Errorf("lookup %s: %w", name, ErrNXDomain)
		}
		return e, nil
	}
	if b.active[name] {
		return addrEntry{}, fmt.Errorf("lookup %s: loop in NS address lookups", name)
	}
	if b.depth >= maxLookupDepth {
		return addrEntry{}, fmt.Errorf("lookup %s: NS address lookups nested too deep", name)
	}
	b.active[name] = true
	b.depth++
	defer func() { delete(b.active, name); b.depth-- }()

	var e addrEntry
	ttl := maxCacheTTL
	for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA} {
		rrs, nx, t, err := r.resolveRR(ctx, name, qtype, b)
		if err != nil {
			return addrEntry{}, fmt.Errorf("lookup %s %s: %w", dns.TypeToString[qtype], name, err)
		}
		if nx {
			r.addrs.put(name, addrEntry{nxdomain: true}, negativeTTL)
			return addrEntry{}, fmt.Errorf("lookup %s: %w", name, ErrNXDomain)
		}
		ttl = min(ttl, t)
		for _, rr := range rrs {
			// resolveRR returns the records of the CNAME chain's end.
			e.alias = e.alias || canonical(rr.Header().Name) != name
			if a, ok := rrAddr(rr); ok && !slices.Contains(e.addrs, a) {
				e.addrs = append(e.addrs, a)
			}
		}
	}
	if len(e.addrs) == 0 {
		ttl = negativeTTL
	}
	r.addrs.put(name, e, ttl)
	return e, nil
}

// resolveRR resolves (name, qtype) iteratively, following CNAMEs. It returns
// the records, whether the name does not exist, and the smallest TTL seen.
func (r *Resolver) resolveRR(ctx context.Context, name string, qtype uint16, b *budget) ([]dns.RR, bool, time.Duration, error) {
	ttl := maxCacheTTL
	for {
		res, err := r.walk(ctx, name, qtype, "", b)
		if err != nil {
			return nil, false, 0, err
		}
		m := res.msg
		// Follow the CNAME chain inside the answer.
		target := name
		var out []dns.RR
		for range r.cfg.MaxCNAMEs + 1 {
			var next string
			for _, rr := range m.Answer {
				h := rr.Header()
				if canonical(h.Name) != target || h.Class != dns.ClassINET {
					continue
				}
				if h.Rrtype == qtype {
					out = append(out, rr)
					ttl = min(ttl, time.Duration(h.Ttl)*time.Second)
				} else if cn, ok := rr.(*dns.CNAME); ok && next == "" {
					next = canonical(cn.Target)
					ttl = min(ttl, time.Duration(h.Ttl)*time.Second)
				}
			}
			if len(out) > 0 || next == "" {
				break
			}
			b.cnames++
			if b.cnames > r.cfg.MaxCNAMEs {
				return nil, false, 0, fmt.Errorf("%w: more than %d CNAMEs", ErrBudget, r.cfg.MaxCNAMEs)
			}
			target = next
		}
		if len(out) > 0 {
			return out, false, ttl, nil
		}
		if target != name {
			// The chain left the answer: resolve its end from the top.
			name = target
			continue
		}
		if m.Rcode == dns.RcodeNameError {
			return nil, true, ttl, nil
		}
		return nil, false, ttl, nil
	}
}
