package verify

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"golang.org/x/net/publicsuffix"

	"github.com/lamers-dev/lamers/store"
)

// The shares of a run (docs/verification.md, section 5, "Order and
// shares"): anyone who can make a resolver log a name can fill the findings
// with one server address or with zones below one domain they own, so
// neither may take more than a tenth of a run's rounds (at least minShare).
// What a share holds back waits for the next run.
const (
	shareOfRun = 10 // a run's rounds divided by this is one address's or one domain's share
	minShare   = 5
)

// pick returns the findings of f that one run handles, in verification
// order (store.DB.DueFindings), and how many due findings it leaves for a
// later run. With a budget above zero it takes at most budget findings, and
// at most a share of them per server address and per registered domain of
// the name nameOf gives. It reads pages of candidates; once an address or a
// domain has its share, the pages after leave it out (store.Filter's
// NotServers and NotUnder), so a domain with a million findings costs one
// page, not a million rows. Without a budget it takes every due finding.
func (v *Verifier) pick(ctx context.Context, f store.Filter, budget int, nameOf func(store.Finding) string) ([]store.Finding, int, error) {
	share, page := 0, 1000
	if budget > 0 {
		share, page = max(budget/shareOfRun, minShare), max(2*budget, 64)
	}
	var (
		picked    []store.Finding
		perServer = map[netip.Addr]int{}
		perDomain = map[string]int{}
		seen      = map[int64]bool{}
		q         = f
	)
	q.Limit = page
	for {
		fs, err := v.Store.DueFindings(ctx, q)
		if err != nil {
			return nil, 0, fmt.Errorf("verify: %w", err)
		}
		for _, c := range fs {
			// A finding whose evidence grew between two pages can come
			// again.
			if seen[c.ID] {
				continue
			}
			seen[c.ID] = true
			// With its scope: fe80::1%eth0 and fe80::1%eth1 are two
			// hosts, and the store's NotServers matches the address as
			// stored.
			server := c.Server
			domain, registered := registeredDomain(nameOf(c))
			if share > 0 && (perServer[server] >= share || perDomain[domain] >= share) {
				continue
			}
			picked = append(picked, c)
			perServer[server]++
			perDomain[domain]++
			if share > 0 && perServer[server] == share {
				q.NotServers = append(q.NotServers, server)
			}
			if share > 0 && perDomain[domain] == share && registered {
				// A public suffix (co.uk.) is a share of its own name
				// alone: the names below it are not left out.
				q.NotUnder = append(q.NotUnder, domain)
			}
			if len(picked) == budget {
				break
			}
		}
		if len(fs) < page || len(picked) == budget {
			break
		}
		q.After = &fs[len(fs)-1]
	}
	if share == 0 {
		return picked, 0, nil
	}
	due, err := v.Store.CountFindings(ctx, f)
	if err != nil {
		return nil, 0, fmt.Errorf("verify: %w", err)
	}
	return picked, max(due-len(picked), 0), nil
}

// registeredDomain returns the domain a name was registered under: its
// public suffix and one label more (golang.org/x/net/publicsuffix, the
// ICANN and the private sections), absolute, and true. A zone below it
// costs its owner nothing, a registered domain costs a fee. A public suffix
// itself (co.uk., the root) is returned as it is, with false. Labels are
// split at every dot as written, escaped ones too, as store.Filter's
// NotUnder does.
func registeredDomain(name string) (string, bool) {
	n := strings.TrimSuffix(name, ".")
	if n == "" {
		return ".", false
	}
	d, err := publicsuffix.EffectiveTLDPlusOne(n)
	if err != nil {
		return name, false
	}
	return d + ".", true
}

// zoneName is the name of a zoned finding that counts for the shares.
func zoneName(f store.Finding) string { return f.Zone }

// queryName is the name of a zone-less finding that counts for the
// shares: its sample query name, else its bucket.
func queryName(f store.Finding) string {
	if f.QName != "" {
		return f.QName
	}
	return f.Bucket
}
