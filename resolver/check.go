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
	Zone       string      `json:"zone"`
	Parent     string      `json:"parent"`
	Delegation []string    `json:"delegation"` // the parent's NS names
	Verdict    ZoneVerdict `json:"verdict"`    // "" when the check found no delegation
	// Servers has the rows of the parent's NS names first, then those of
	// the names only the child's apex lists (ns_not_in_parent), then the
	// --server addresses neither lists.
	Servers []ServerResult `json:"servers"`
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

	addr netip.Addr // Address parsed, with its IPv6 zone
}

// ZoneVerdict is the verdict of a check on the zone as a whole.
type ZoneVerdict string

// The zone verdicts (docs/verification.md, "lamers check"). Inconclusive
// rows count for none of them.
const (
	// ZoneOK: a server answers authoritatively and none is lame.
	ZoneOK ZoneVerdict = "ok"
	// ZoneLame: a server answers authoritatively, and at least one is lame.
	ZoneLame ZoneVerdict = "lame"
	// ZoneBroken: no server answers authoritatively, whether they are lame,
	// silent or closed: resolvers cannot reach the zone at all.
	ZoneBroken ZoneVerdict = "broken"
)

// Check finds zone's delegation and probes every (NS name, address) of the
// parent's NS set, or, when servers is not empty, only those addresses (an
// address that the delegation does not list is probed under the name "").
// The first servers that answer authoritatively are asked for the apex NS
// set; the names only it lists are looked up and probed too. Names whose
// lookup failed get a row without address (ns_name_nxdomain: lame;
// ns_lookup_failed: inconclusive) unless servers is given. Each address is
// probed once, however many names list it: a probe round (with the EDNS
// check unless Config.SkipEDNSCheck), then, when UDP got a reply, one SOA
// query over TCP. The rows get the flags of docs/verification.md, section
// 3, and the zone its verdict.
//
// A server that never answers costs one probe round: it is asked neither
// the apex NS set nor over TCP. The error wraps ErrNotDelegated when the
// zone has no delegation, ErrParentUnreachable when it could not be found.
func (r *Resolver) Check(ctx context.Context, zone string, servers []netip.Addr) (CheckResult, error) {
	d, err := r.findDelegation(ctx, zone, false)
	res := CheckResult{Zone: d.Zone, Parent: d.Parent, Delegation: []string{}, Servers: []ServerResult{}}
	if err != nil {
		return res, fmt.Errorf("resolver: check %s: %w", d.Zone, err)
	}
	if !d.Delegated {
		return res, fmt.Errorf("resolver: check %s: %w by %s", d.Zone, ErrNotDelegated, d.Parent)
	}
	ctx, done, err := r.begin(ctx)
	if err != nil {
		return res, fmt.Errorf("resolver: check %s: %w", d.Zone, err)
	}
	defer done()
	for _, ns := range d.NS {
		res.Delegation = append(res.Delegation, ns.Name)
	}
	c := newCheckRun(ctx, r, d.Zone, servers)
	first := c.add(d.NS, "")
	ready := make(chan netip.Addr, len(first))
	c.start(first, ready)
	if d.ChildNS = c.childNS(ready, len(first)); d.ChildNS != nil {
		d.ChildOnly = nil
		r.addChildOnly(ctx, &d, newBudget(), maxCacheTTL)
		c.notInChild(d.ChildNS)
		c.start(c.add(d.ChildOnly, FlagNSNotInParent), nil)
	}
	c.start(c.addUnlisted(), nil)
	c.wg.Wait()
	res.Servers = c.results()
	res.Verdict = zoneVerdict(res.Servers)
	if ctx.Err() != nil {
		return res, fmt.Errorf("resolver: check %s: %w", d.Zone, ctx.Err())
	}
	return res, nil
}

// zoneVerdict is the zone's verdict from its rows.
func zoneVerdict(rows []ServerResult) ZoneVerdict {
	has := func(v Verdict) bool {
		return slices.ContainsFunc(rows, func(s ServerResult) bool { return s.Verdict == v })
	}
	switch {
	case !has(VerdictAuthoritative):
		return ZoneBroken
	case has(VerdictLame):
		return ZoneLame
	default:
		return ZoneOK
	}
}

// checkRun is the state of one Check: its rows, and the probes of their
// addresses, which run Concurrency at a time.
type checkRun struct {
	ctx     context.Context
	r       *Resolver
	zone    string
	servers []netip.Addr              // the addresses asked for; none: every one
	want    map[netip.Addr]netip.Addr // servers by their address with the zone dropped
	rows    []ServerResult
	seen    map[netip.Addr]bool // addresses with a row, zones dropped
	sem     chan struct{}
	wg      sync.WaitGroup
	mu      sync.Mutex
	probes  map[netip.Addr]serverProbe // by address, zone dropped; read after wg.Wait
}

// serverProbe is what Check learnt of one address.
type serverProbe struct {
	p         Probe
	tcpFailed bool
}

func newCheckRun(ctx context.Context, r *Resolver, zone string, servers []netip.Addr) *checkRun {
	c := &checkRun{
		ctx: ctx, r: r, zone: zone, want: map[netip.Addr]netip.Addr{}, seen: map[netip.Addr]bool{},
		sem: make(chan struct{}, r.cfg.Concurrency), probes: map[netip.Addr]serverProbe{},
	}
	for _, a := range servers {
		a = a.Unmap()
		c.servers = append(c.servers, a)
		c.want[a.WithZone("")] = a
	}
	return c
}

// add appends the rows of nss that the check covers, each with flag (if
// not ""), and returns the addresses that are new to the check.
func (c *checkRun) add(nss []NameServer, flag string) []netip.Addr {
	var fresh []netip.Addr
	for _, ns := range nss {
		var flags []string
		if flag != "" {
			flags = append(flags, flag)
		}
		if ns.Alias {
			flags = append(flags, FlagNSIsCNAME)
		}
		if ns.Err != "" && len(c.want) == 0 {
			c.rows = append(c.rows, ServerResult{Name: ns.Name, Verdict: VerdictOf(ns.Err), Reason: ns.Err, Flags: flags})
		}
		for _, a := range ns.Addrs {
			if len(c.want) > 0 {
				// A --server address stands for the delegation's: its
				// scope (fe80::1%eth0), which DNS data never carries,
				// is the one probed and shown.
				w, ok := c.want[a.WithZone("")]
				if !ok {
					continue
				}
				a = w
			}
			c.rows = append(c.rows, ServerResult{Name: ns.Name, Address: a.String(), Flags: slices.Clone(flags), addr: a})
			if !c.seen[a.WithZone("")] {
				c.seen[a.WithZone("")] = true
				fresh = append(fresh, a)
			}
		}
	}
	return fresh
}

// addUnlisted appends a row without a name for each --server address that
// no NS name has, and returns them.
func (c *checkRun) addUnlisted() []netip.Addr {
	var fresh []netip.Addr
	for _, a := range c.servers {
		if !c.seen[a.WithZone("")] {
			c.seen[a.WithZone("")] = true
			c.rows = append(c.rows, ServerResult{Address: a.String(), addr: a})
			fresh = append(fresh, a)
		}
	}
	return fresh
}

// start probes addrs in the background; each address is sent to ready (if
// not nil; it must have room for all) once its probes are done.
func (c *checkRun) start(addrs []netip.Addr, ready chan<- netip.Addr) {
	for _, a := range addrs {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			select {
			case c.sem <- struct{}{}:
				defer func() { <-c.sem }()
				sp := serverProbe{p: c.r.Probe(c.ctx, c.zone, netip.AddrPortFrom(a, 0))}
				sp.tcpFailed = c.r.tcpFails(c.ctx, c.zone, sp.p)
				c.mu.Lock()
				c.probes[a.WithZone("")] = sp
				c.mu.Unlock()
			case <-c.ctx.Done():
			}
			if ready != nil {
				ready <- a
			}
		}()
	}
}

// probe returns what the probes of a found; zero before they are done.
func (c *checkRun) probe(a netip.Addr) serverProbe {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.probes[a.WithZone("")]
}

// childNS waits for the n addresses of ready and asks the first ones that
// answered authoritatively, at most maxChildNSTries, for the apex NS set;
// it returns the first set it gets, nil when none. It does not wait for
// the others: a silent server is never waited for twice.
func (c *checkRun) childNS(ready <-chan netip.Addr, n int) []string {
	b := newBudget()
	tries := 0
	for range n {
		var a netip.Addr
		select {
		case a = <-ready:
		case <-c.ctx.Done():
			return nil
		}
		if tries >= maxChildNSTries || c.probe(a).p.Verdict != VerdictAuthoritative {
			continue
		}
		tries++
		if names := c.r.childNS(c.ctx, c.zone, []NameServer{{Addrs: []netip.Addr{a}}}, b); names != nil {
			return names
		}
	}
	return nil
}

// notInChild flags the rows of the parent's names that the apex NS set
// childNS lacks.
func (c *checkRun) notInChild(childNS []string) {
	for i, s := range c.rows {
		if !slices.Contains(childNS, s.Name) {
			c.rows[i].Flags = append(c.rows[i].Flags, FlagNSNotInChild)
		}
	}
}

// results fills the rows from the probes, adds the flags that compare the
// servers (soa_mismatch) and returns them.
func (c *checkRun) results() []ServerResult {
	rows := c.rows
	for i, s := range rows {
		if s.Address != "" {
			sp := c.probe(s.addr)
			p := sp.p
			rows[i].Verdict, rows[i].Reason, rows[i].Probe = p.Verdict, p.Reason, p
			rows[i].Flags = append(rows[i].Flags, p.Flags...)
			if sp.tcpFailed {
				rows[i].Flags = append(rows[i].Flags, FlagTCPFailed)
			}
			rows[i].RTTms = math.Round(float64(p.RTT.Microseconds())) / 1000
		}
	}
	flagSOAMismatch(rows)
	for i := range rows {
		slices.Sort(rows[i].Flags)
		rows[i].Flags = slices.Compact(rows[i].Flags)
		if rows[i].Flags == nil {
			rows[i].Flags = []string{}
		}
	}
	return rows
}
