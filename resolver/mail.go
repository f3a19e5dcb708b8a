package resolver

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"slices"

	"github.com/miekg/dns"
)

// MailHosts is where mail for a domain goes, by RFC 5321 §5.1: the
// exchanges of its MX records, or, when it has none, the domain itself.
type MailHosts struct {
	Domain string // canonical
	// NXDomain: the domain does not exist; no mail can reach it.
	NXDomain bool
	// NullMX: the domain's only MX is the null MX of RFC 7505 (exchange
	// "."): it accepts no mail.
	NullMX bool
	// Implicit: the domain has no MX records, so its own address records
	// stand for one MX of preference 0 (RFC 5321 §5.1), and Exchanges
	// holds the domain itself.
	Implicit bool
	// Exchanges are the mail exchanges, lowest preference first (then by
	// name), each name once.
	Exchanges []MailExchange
}

// MailExchange is one mail exchange of a domain and its addresses.
type MailExchange struct {
	Name       string // canonical
	Preference uint16
	// Addrs are the exchange's usable addresses; Unusable those a mail
	// could never be delivered to: loopback, unspecified, link-local and
	// multicast addresses.
	Addrs, Unusable []netip.Addr
	// Err is why the addresses could not be looked up (nil: they were);
	// it wraps ErrNXDomain when the name does not exist, ErrNoAuthoritative
	// when no server of its zone answers authoritatively.
	Err error
}

// Deliverable reports whether mail for the domain can be delivered at all:
// some exchange has a usable address.
func (m MailHosts) Deliverable() bool {
	return slices.ContainsFunc(m.Exchanges, func(x MailExchange) bool { return len(x.Addrs) > 0 })
}

// maxMailExchanges bounds the exchanges whose addresses MailHosts looks up
// (by preference); the others are listed with an error. Postfix tries 5
// addresses (smtp_mx_address_limit), a domain with more than 10 MX records
// is rare.
const maxMailExchanges = 10

// errNotLookedUp is the Err of the exchanges past maxMailExchanges.
var errNotLookedUp = fmt.Errorf("not looked up: more than %d exchanges", maxMailExchanges)

// MailHosts resolves domain's MX records iteratively and the addresses of
// their exchanges, or the domain's own A and AAAA records when it has no MX
// (RFC 5321 §5.1; CNAMEs are followed). Like every resolution of the
// Resolver it uses only authoritative answers (AA) and referrals further
// down, never a non-authoritative answer or an upward referral of a lame
// server, and it is bounded by Config.MaxReferrals, MaxCNAMEs and MaxQueries
// (the MX lookup, and each exchange's address lookup, separately).
//
// A domain that does not exist gives NXDomain and no error. The error wraps
// ErrNoAuthoritative when no server of the domain's zone (or of a zone on
// the way down) answers authoritatively, ErrBudget when the resolution hit
// its bounds.
func (r *Resolver) MailHosts(ctx context.Context, domain string) (MailHosts, error) {
	m := MailHosts{Domain: domain}
	domain, err := parseName(domain)
	if err != nil || domain == "." {
		return m, fmt.Errorf("resolver: mail hosts %q: not a domain name", shorten(m.Domain))
	}
	m.Domain = domain
	ctx, done, err := r.begin(ctx)
	if err != nil {
		return m, fmt.Errorf("resolver: mail hosts %s: %w", domain, err)
	}
	defer done()
	rrs, nx, _, err := r.resolveRR(ctx, domain, dns.TypeMX, newBudget())
	if err != nil {
		return m, fmt.Errorf("resolver: mail hosts %s: %w", domain, err)
	}
	if nx {
		m.NXDomain = true
		return m, nil
	}
	var mxs []MailExchange
	for _, rr := range rrs {
		if mx, ok := rr.(*dns.MX); ok {
			mxs = append(mxs, MailExchange{Name: canonical(mx.Mx), Preference: mx.Preference})
		}
	}
	if len(mxs) == 0 {
		m.Implicit = true
		m.Exchanges = []MailExchange{r.mailExchange(ctx, MailExchange{Name: domain})}
	} else {
		slices.SortFunc(mxs, func(a, b MailExchange) int {
			return cmp.Or(cmp.Compare(a.Preference, b.Preference), compareNames(a.Name, b.Name))
		})
		seen := map[string]bool{}
		mxs = slices.DeleteFunc(mxs, func(x MailExchange) bool {
			dup := seen[x.Name]
			seen[x.Name] = true
			return dup
		})
		// RFC 7505 §3: a domain with a null MX has no other MX; a "." next
		// to real exchanges is no host and is left out.
		hosts := slices.DeleteFunc(slices.Clone(mxs), func(x MailExchange) bool { return x.Name == "." })
		m.NullMX = len(hosts) == 0
		for i, x := range hosts {
			if i >= maxMailExchanges {
				x.Err = errNotLookedUp
				m.Exchanges = append(m.Exchanges, x)
				continue
			}
			m.Exchanges = append(m.Exchanges, r.mailExchange(ctx, x))
		}
	}
	if ctx.Err() != nil {
		return m, fmt.Errorf("resolver: mail hosts %s: %w", domain, ctx.Err())
	}
	return m, nil
}

// mailExchange looks up x's addresses and sorts them into usable and
// unusable ones.
func (r *Resolver) mailExchange(ctx context.Context, x MailExchange) MailExchange {
	addrs, err := r.lookupAddrs(ctx, x.Name, newBudget())
	if err != nil {
		x.Err = err
		return x
	}
	for _, a := range addrs {
		if mailUsable(a) {
			x.Addrs = append(x.Addrs, a)
		} else {
			x.Unusable = append(x.Unusable, a)
		}
	}
	return x
}

// mailUsable reports whether mail could be delivered to a: not loopback,
// unspecified, link-local or multicast.
func mailUsable(a netip.Addr) bool {
	a = a.Unmap()
	return !(a.IsLoopback() || a.IsUnspecified() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsMulticast())
}
