package notify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lamers-dev/lamers/resolver"
	"github.com/lamers-dev/lamers/store"
)

// The contact chain of docs/notify.md, section 2: the candidates of a
// finding, in order, and the first one that may be mailed.

// soaMaxAge is how old a recorded SOA may be for its RNAME to be used;
// older, the zone's servers are asked again.
const soaMaxAge = 30 * 24 * time.Hour

// candidate is one step of a finding's chain.
type candidate struct {
	address string // the address; "" when the name gives none
	raw     string // the name it was made from (an RNAME, a zone, an NS name)
	source  store.ContactSource
	invalid error // why the name gives no address
}

// markOf is the mark of c for finding id.
func (c candidate) markOf(id int64, m store.Mark, reason string, at time.Time) store.ContactMark {
	addr := c.address
	if addr == "" {
		addr = c.raw
	}
	return store.ContactMark{FindingID: id, Address: addr, Source: c.source, Mark: m, Reason: reason, At: at}
}

// decision is a finding's contact in this run.
type decision struct {
	contact string // "" when every candidate was passed over
	source  store.ContactSource
	marks   []store.ContactMark // the per-run marks (undeliverable, invalid, suppressed)
}

// soaAnswer is a zone's RNAME as found in this run.
type soaAnswer struct {
	rname string
	err   error
}

// mailAnswer is whether mail reaches a domain, as found in this run.
type mailAnswer struct {
	ok     bool
	reason string
}

// candidates returns the chain of e into cs, duplicates collapsed (the
// first occurrence keeps its source). NS names are in the order verify
// stored them: sorted.
func (n *Notifier) candidates(ctx context.Context, rs *runState, e *entry, cs []candidate) ([]candidate, error) {
	rname, err := n.rname(ctx, rs, e.zone)
	if err != nil {
		return nil, err
	}
	if rname != "" {
		addr, err := RNAMEAddress(rname)
		cs = appendNew(cs, candidate{address: addr, raw: rname, source: store.SourceRNAME, invalid: err})
	}
	cs = appendNew(cs, rs.cached(e.zone, store.SourceHostmaster, Hostmaster))
	for _, ns := range e.names {
		cs = appendNew(cs, rs.cached(ns, store.SourcePostmaster, Postmaster))
	}
	if to, ok := n.override(e.zone); ok {
		cs = appendNew(cs, candidate{address: to, raw: to, source: store.SourceOverride})
	}
	return cs, nil
}

// appendNew appends c unless cs has its address (or, for a name that gives
// none, its name) already. A chain has a handful of candidates.
func appendNew(cs []candidate, c candidate) []candidate {
	for _, o := range cs {
		if c.address == "" && o.address == "" && o.raw == c.raw ||
			c.address != "" && strings.EqualFold(o.address, c.address) {
			return cs
		}
	}
	return append(cs, c)
}

// cached returns the candidate mk(name) gives, made once per run.
func (rs *runState) cached(name string, source store.ContactSource, mk func(string) (string, error)) candidate {
	key := nameKey{source, name}
	if c, ok := rs.names[key]; ok {
		return c
	}
	addr, err := mk(name)
	c := candidate{address: addr, raw: name, source: source, invalid: err}
	rs.names[key] = c
	return c
}

// override returns the [[notify.override]] address of zone or its closest
// enclosing zone.
func (n *Notifier) override(zone string) (string, bool) {
	best, to := -1, ""
	for _, o := range n.Config.Overrides {
		if isSubdomain(zone, o.Zone) && labels(o.Zone) > best {
			best, to = labels(o.Zone), o.To
		}
	}
	return to, best >= 0
}

// choose walks e's chain and returns the first candidate that may be
// mailed, with the marks of those passed over for reasons this run found.
func (n *Notifier) choose(ctx context.Context, rs *runState, e *entry) (decision, error) {
	var buf [8]candidate
	cs, err := n.candidates(ctx, rs, e, buf[:0])
	if err != nil {
		return decision{}, err
	}
	var d decision
	zoneValue, zoneSuppressed := rs.supp.zone(e.zone)
	for _, c := range cs {
		mark := func(m store.Mark, reason string) { d.marks = append(d.marks, c.markOf(e.id, m, reason, rs.now)) }
		if c.invalid != nil {
			mark(store.MarkInvalid, c.invalid.Error())
			continue
		}
		if zoneSuppressed {
			mark(store.MarkSuppressed, "zone "+zoneValue+" is suppressed")
			continue
		}
		if v, ok := rs.supp.address(c.address); ok {
			mark(store.MarkSuppressed, v+" is suppressed")
			continue
		}
		if rs.marks.unusable(e.id, c.address) {
			continue // its mark is on record already
		}
		if n.Config.CheckDeliverability {
			a := n.deliverable(ctx, rs, domainOf(c.address))
			if err := ctx.Err(); err != nil {
				return decision{}, errorf("mail hosts of %s: %w", domainOf(c.address), err) // proves nothing
			}
			if !a.ok {
				mark(store.MarkUndeliverable, a.reason)
				continue
			}
		}
		d.contact, d.source = c.address, c.source
		return d, nil
	}
	return d, nil
}

// rname returns zone's SOA RNAME: a recorded one from a server that is
// not lame for the zone and no older than soaMaxAge, else one the zone's
// servers give now (recorded when the run sends); "" when none answers
// authoritatively. Only a store error is returned.
func (n *Notifier) rname(ctx context.Context, rs *runState, zone string) (string, error) {
	if a, ok := rs.soas[zone]; ok {
		return a.rname, nil
	}
	for _, s := range rs.recorded[zone] {
		switch s.ServerStatus {
		case 0, store.StatusOK, store.StatusFixed:
			if !s.At.Before(rs.now.Add(-soaMaxAge)) {
				rs.soas[zone] = soaAnswer{rname: s.RName}
				return s.RName, nil
			}
		}
	}
	soa, err := n.Lookup.SOA(ctx, zone)
	if err != nil {
		if ctx.Err() != nil {
			return "", errorf("soa of %s: %w", zone, ctx.Err())
		}
		n.Log.Debug("no rname", logKeyZone, zone, logKeyErr, err)
		rs.soas[zone] = soaAnswer{err: err}
		return "", nil
	}
	rs.soas[zone] = soaAnswer{rname: soa.RName}
	if rs.send {
		rec := store.ZoneSOA{SOA: store.SOA{MName: soa.MName, RName: soa.RName, Serial: soa.Serial},
			Zone: soa.Zone, Server: soa.Server.Addr(), At: soa.At}
		if rec.At.IsZero() {
			rec.At = rs.now
		}
		if err := n.Store.RecordZoneSOA(ctx, rec); err != nil {
			return "", errorf("%w", err)
		}
	}
	return soa.RName, nil
}

// deliverable reports whether mail for domain can be delivered (RFC 5321
// §5.1, RFC 7505), asked once per run.
func (n *Notifier) deliverable(ctx context.Context, rs *runState, domain string) mailAnswer {
	if a, ok := rs.mail[domain]; ok {
		return a
	}
	m, err := n.Lookup.MailHosts(ctx, domain)
	var a mailAnswer
	switch {
	case err != nil:
		a.reason = "no mail hosts: " + err.Error()
	case m.NXDomain:
		a.reason = "the domain " + domain + " does not exist"
	case m.NullMX:
		a.reason = "the domain " + domain + " accepts no mail (null MX, RFC 7505)"
	case !m.Deliverable():
		a.reason = "no mail exchange of " + domain + " has a usable address" + exchangeErrors(m.Exchanges)
	default:
		a.ok = true
	}
	if ctx.Err() == nil {
		rs.mail[domain] = a // a cancelled lookup proves nothing: choose stops
	}
	return a
}

// exchangeErrors names the first exchange's error, if any.
func exchangeErrors(xs []resolver.MailExchange) string {
	for _, x := range xs {
		switch {
		case errors.Is(x.Err, resolver.ErrNXDomain):
			return fmt.Sprintf(" (%s does not exist)", x.Name)
		case errors.Is(x.Err, resolver.ErrNoAuthoritative):
			return fmt.Sprintf(" (no server of %s answers authoritatively)", x.Name)
		case x.Err != nil:
			return fmt.Sprintf(" (%s: %v)", x.Name, x.Err)
		case len(x.Unusable) > 0:
			return fmt.Sprintf(" (%s has only %v)", x.Name, x.Unusable)
		}
	}
	return ""
}

// domainOf returns the domain of an address.
func domainOf(addr string) string {
	return addr[strings.LastIndexByte(addr, '@')+1:]
}

// lowerAddress folds an address for comparison, local part too: mailboxes
// that differ only in case are one mailbox in practice.
func lowerAddress(a string) string { return strings.ToLower(a) }

// markIndex answers whether an address is dead for a finding, from the
// marks on record and those this run added: a rejected or bounced mark.
// Soft and policy bounces are events: the store turns them into a bounced
// mark when they reach their limit (store.BounceWindow), so that one rule
// in one place decides it, and a run need not count them.
type markIndex struct {
	dead map[int64]map[string]bool // finding → addresses rejected or bounced
}

func newMarkIndex(ms []store.ContactMark) markIndex {
	x := markIndex{dead: map[int64]map[string]bool{}}
	for _, m := range ms {
		x.add(m)
	}
	return x
}

// add takes one mark into account; only dead marks count.
func (x markIndex) add(m store.ContactMark) {
	if m.Mark != store.MarkRejected && m.Mark != store.MarkBounced {
		return
	}
	if x.dead[m.FindingID] == nil {
		x.dead[m.FindingID] = map[string]bool{}
	}
	x.dead[m.FindingID][lowerAddress(m.Address)] = true
}

// unusable reports whether addr is dead for finding id.
func (x markIndex) unusable(id int64, addr string) bool {
	return x.dead[id][lowerAddress(addr)]
}
