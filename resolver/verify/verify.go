package verify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lamers-dev/lamers/resolver"
	"github.com/lamers-dev/lamers/store"
)

// Store is what verification needs from the database. DueFindings returns
// the findings in verification order and honours every field of the
// Filter, Limit and After included; CountFindings counts what it would
// return without a Limit. RecordRound and SetStatus must each be one
// transaction; Attribute merges a zone-less finding, and MergeZone a
// finding with a lossy zone name, into the zoned finding (zone, server,
// port) and return it. LossyCandidates lists the zones known for a server
// and port that an Unbound lossy name can stand for, and UnprintableFindings
// the findings with such names of a status and reason. Any error of the Store
// ends the run that met it.
type Store interface {
	DueFindings(ctx context.Context, f store.Filter) ([]store.Finding, error)
	CountFindings(ctx context.Context, f store.Filter) (int, error)
	Rounds(ctx context.Context, findingID int64, limit int) ([]store.Round, error)
	RecordRound(ctx context.Context, r store.Round, u store.FindingUpdate) (store.Round, error)
	SetStatus(ctx context.Context, findingID int64, at time.Time, u store.FindingUpdate) error
	Attribute(ctx context.Context, findingID int64, zone string) (store.Finding, error)
	MergeZone(ctx context.Context, findingID int64, zone string) (store.Finding, error)
	LossyCandidates(ctx context.Context, server netip.Addr, port uint16) ([]string, error)
	UnprintableFindings(ctx context.Context, status store.Status, reason string, limit int) ([]store.Finding, error)
}

var _ Store = (*store.DB)(nil)

// Reasons for findings decided without a probe round.
const (
	// ReasonNotDelegated: the zone is no longer delegated by its parent.
	ReasonNotDelegated = "not_delegated"
	// ReasonNotInDelegation: the address is in neither the parent's nor
	// the child's NS set any more.
	ReasonNotInDelegation = "not_in_delegation"
	// ReasonNoZoneListsServer: no delegation at or above a zone-less
	// finding's query name lists its address.
	ReasonNoZoneListsServer = "no_zone_lists_server"
	// ReasonLossyName: Unbound wrote the zone with '?' for bytes it does not
	// print, no zone of that spelling is delegated, and not exactly one
	// zone known for the server can be what it printed (lossy.go).
	ReasonLossyName = "lossy_name"
)

// slog attribute keys.
const (
	logKeyZone   = "zone"
	logKeyServer = "server"
	logKeyQName  = "qname"
	logKeyInto   = "into"
	logKeyErr    = "err"
)

// historyRounds is how many recent rounds the confirmation policy reads.
const historyRounds = 50

// silentAfter is how many full rounds an address must stay silent in one
// run before its other findings get the one-packet round of ProbeSilent.
const silentAfter = 2

// Verifier probes the findings that are due and applies the confirmation
// policy (docs/verification.md).
type Verifier struct {
	Resolver    *resolver.Resolver
	Store       Store
	Policy      Policy
	Concurrency int // findings verified at once; per-address politeness holds regardless
	// MaxRounds bounds the findings one run verifies, and apart from them
	// the zone-less findings it attributes; 0: no bound. One server address
	// and one registered domain get at most a tenth of it (at least 5) in
	// each (docs/verification.md, section 5).
	MaxRounds int
	Clock     func() time.Time
	Log       *slog.Logger

	mu      sync.Mutex
	silent  map[netip.Addr]int // consecutive unresponsive rounds per address in this run
	claimed map[int64]bool     // findings this run verifies, by ID
	due     func(store.Finding) bool
}

// Options selects what one run verifies.
type Options struct {
	// Zone limits the run to one zone (and to zone-less findings whose
	// query name lies under it).
	Zone string
	// All also re-probes findings that are ok, fixed or stale, which a
	// normal run leaves alone. The minimum interval between rounds holds.
	All bool
}

// Stats counts what a run did.
type Stats struct {
	Attributed     int // zone-less findings given a zone
	Unattributable int // zone-less findings no delegation lists
	Probed         int // probe rounds recorded
	Stale          int // findings found stale (or lossy_name) without a probe
	Merged         int // findings with a lossy name merged into the zone it spells
	// Skipped counts the findings left for a later run: transient errors,
	// MaxRounds and the shares of one address or domain.
	Skipped int
	// Statuses counts the status of every finding this run touched.
	Statuses map[store.Status]int
}

// activeStatuses are the statuses a normal run verifies: not ok, fixed or
// stale, which only Options.All probes again.
func activeStatuses() []store.Status {
	return []store.Status{store.StatusNew, store.StatusSuspect, store.StatusLame, store.StatusUnresponsive, store.StatusInconclusive}
}

// Run verifies once: attributes zone-less findings, then probes the due
// findings, each in verification order (heaviest evidence and longest wait
// first), at most MaxRounds of each and a tenth of that per server address
// and per registered domain (docs/verification.md, section 5).
func (v *Verifier) Run(ctx context.Context, opts Options) (Stats, error) {
	st := Stats{Statuses: map[store.Status]int{}}
	statuses := activeStatuses()
	if opts.All {
		statuses = nil
	}
	probedBefore := v.init(statuses)
	if err := v.attribute(ctx, opts, statuses, &st); err != nil {
		return st, err
	}
	if err := v.remerge(ctx, opts, &st); err != nil {
		return st, err
	}
	due := store.Filter{
		Zone:         opts.Zone,
		Zoning:       store.Zoned,
		Statuses:     statuses,
		ProbedBefore: probedBefore,
	}
	fs, skipped, err := v.pick(ctx, due, v.MaxRounds, zoneName)
	if err != nil {
		return st, err
	}
	st.Skipped += skipped
	return st, v.verifyAll(ctx, fs, &st)
}

// Recheck verifies the given zoned findings now, as Run would, and returns
// what it did: notify re-probes a verdict that has grown old before it
// mails about it (docs/notify.md, section 1). Politeness holds: a finding
// probed less than Policy.MinInterval ago is not probed again (counted in
// Skipped), and neither is a zone-less one. MaxRounds and the shares do not
// apply: the caller chose the findings.
func (v *Verifier) Recheck(ctx context.Context, fs []store.Finding) (Stats, error) {
	st := Stats{Statuses: map[store.Status]int{}}
	probedBefore := v.init(nil)
	due := make([]store.Finding, 0, len(fs))
	for _, f := range fs {
		if f.Zone == "" || (!f.LastProbed.IsZero() && !f.LastProbed.Before(probedBefore)) {
			st.Skipped++
			continue
		}
		due = append(due, f)
	}
	return st, v.verifyAll(ctx, due, &st)
}

// init sets the defaults of the fields left zero and starts a run's state:
// a finding is due when its status is one of statuses (nil: any) and it was
// last probed before the returned time, Policy.MinInterval ago.
func (v *Verifier) init(statuses []store.Status) time.Time {
	if v.Clock == nil {
		v.Clock = time.Now
	}
	if v.Log == nil {
		v.Log = slog.New(slog.DiscardHandler)
	}
	if v.Concurrency <= 0 {
		v.Concurrency = 1
	}
	probedBefore := v.Clock().Add(-v.Policy.MinInterval)
	v.mu.Lock()
	v.silent = map[netip.Addr]int{}
	v.claimed = map[int64]bool{}
	v.due = func(f store.Finding) bool {
		return (statuses == nil || slices.Contains(statuses, f.Status)) && (f.LastProbed.IsZero() || f.LastProbed.Before(probedBefore))
	}
	v.mu.Unlock()
	return probedBefore
}

// verifyAll verifies fs, Concurrency at a time, and counts what it did in
// st. The first store error ends it and is returned.
func (v *Verifier) verifyAll(ctx context.Context, fs []store.Finding, st *Stats) error {
	v.mu.Lock()
	for _, f := range fs {
		v.claimed[f.ID] = true
	}
	v.mu.Unlock()
	var (
		mu       sync.Mutex
		firstErr error
		failed   = make(chan struct{}) // closed at the first store error
		work     = make(chan store.Finding)
		wg       sync.WaitGroup
	)
	for range min(v.Concurrency, max(len(fs), 1)) {
		wg.Go(func() {
			for f := range work {
				mu.Lock()
				stop := firstErr != nil
				mu.Unlock()
				if stop {
					continue // handed over just before the database failed
				}
				out, err := v.verifyOne(ctx, f)
				mu.Lock()
				switch {
				case err != nil && ctx.Err() == nil:
					st.Skipped++
					v.Log.Warn("verify failed", logKeyZone, f.Zone, logKeyServer, f.Server, logKeyErr, err)
					if firstErr == nil && isStoreError(err) {
						firstErr = err
						close(failed)
					}
				case err == nil:
					if out.merged {
						st.Merged++
					}
					switch {
					case out.probed:
						st.Probed++
						st.Statuses[out.status]++
					case out.status != 0:
						st.Stale++
						st.Statuses[out.status]++
					}
				}
				mu.Unlock()
			}
		})
	}
	// The database failing ends the run: what would be probed now could not
	// be recorded.
feed:
	for _, f := range fs {
		select {
		case work <- f:
		case <-ctx.Done():
			break feed
		case <-failed:
			break feed
		}
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	return nil
}

// storeError marks errors of the database, which stop a run (probe errors
// only skip a finding).
type storeError struct{ err error }

func (e *storeError) Error() string { return e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

func isStoreError(err error) bool {
	var se *storeError
	return errors.As(err, &se)
}

// attribute gives zone-less findings (BIND's reason lines) their zone: the
// deepest delegation at or above the sample query name that lists the
// server. It looks up at most MaxRounds of them, in verification order and
// within the shares of one address and one domain.
func (v *Verifier) attribute(ctx context.Context, opts Options, statuses []store.Status, st *Stats) error {
	fs, skipped, err := v.pick(ctx, store.Filter{Zoning: store.Bucketed, Statuses: statuses, Under: opts.Zone}, v.MaxRounds, queryName)
	if err != nil {
		return err
	}
	st.Skipped += skipped
	for _, f := range fs {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("verify: %w", err)
		}
		qname := queryName(f)
		if opts.Zone != "" && !isSubdomain(absolute(strings.ToLower(qname)), opts.Zone) {
			continue
		}
		zone, err := v.Resolver.ZoneFor(ctx, qname, f.Server)
		switch {
		case errors.Is(err, resolver.ErrNotListed) || errors.Is(err, resolver.ErrNotDelegated) || (err == nil && zone == ""):
			if err := v.Store.SetStatus(ctx, f.ID, v.Clock(), store.FindingUpdate{Status: store.StatusStale, Reason: ReasonNoZoneListsServer}); err != nil {
				return fmt.Errorf("verify: %w", err)
			}
			st.Unattributable++
		case err != nil:
			st.Skipped++
			v.Log.Warn("cannot attribute a zone", logKeyQName, qname, logKeyServer, f.Server, logKeyErr, err)
		default:
			if _, err := v.Store.Attribute(ctx, f.ID, zone); err != nil {
				return fmt.Errorf("verify: attribute %s to %s: %w", qname, zone, err)
			}
			st.Attributed++
			v.Log.Debug("attributed", logKeyQName, qname, logKeyServer, f.Server, logKeyZone, zone)
		}
	}
	return nil
}

// claim reports whether this run should verify f, a finding another one was
// just merged into: when f is due and no worker has it yet. It then takes
// it.
func (v *Verifier) claim(f store.Finding) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.claimed[f.ID] || !v.due(f) {
		return false
	}
	v.claimed[f.ID] = true
	return true
}

type verifyOutcome struct {
	status store.Status // 0 when the finding was merged and not verified
	probed bool
	merged bool // a lossy name merged into another finding
}

// verifyOne checks one zoned finding's delegation, probes its server and
// records the round and the resulting status.
func (v *Verifier) verifyOne(ctx context.Context, f store.Finding) (verifyOutcome, error) {
	d, err := v.Resolver.Delegation(ctx, f.Zone)
	switch {
	case err != nil && errors.Is(err, resolver.ErrParentUnreachable):
		// Record an inconclusive round: the attempt counts for nothing
		// but is visible in the report.
		p := resolver.Probe{Zone: f.Zone, Server: probeAddr(f), Verdict: resolver.VerdictInconclusive,
			Reason: resolver.ReasonParentUnreachable, At: v.Clock()}
		return v.record(ctx, f, p, f.ServerNames)
	case err != nil:
		return verifyOutcome{}, err
	case !d.Delegated && strings.Contains(f.Zone, "?") && slices.Contains(f.Sources, "unbound"):
		// Only Unbound writes '?' for an octet it does not print; BIND
		// writes a '?' of the name as it is.
		return v.mergeLossy(ctx, f)
	case !d.Delegated:
		return verifyOutcome{status: store.StatusStale}, v.setStatus(ctx, f, store.StatusStale, ReasonNotDelegated, nil)
	case !d.Lists(f.Server):
		return verifyOutcome{status: store.StatusStale}, v.setStatus(ctx, f, store.StatusStale, ReasonNotInDelegation, nil)
	}
	names := serverNames(d, f.Server)
	p := v.probe(ctx, f)
	if ctx.Err() != nil {
		return verifyOutcome{}, ctx.Err()
	}
	return v.record(ctx, f, p, names)
}

// probe runs a round on f's server, a short one when the address has
// stayed silent for other zones in this run: a dead server listed in many
// delegations is not sent three packets and three timeouts per zone.
func (v *Verifier) probe(ctx context.Context, f store.Finding) resolver.Probe {
	addr := f.Server.WithZone("")
	v.mu.Lock()
	short := v.silent[addr] >= silentAfter
	v.mu.Unlock()
	var p resolver.Probe
	if short {
		p = v.Resolver.ProbeSilent(ctx, f.Zone, probeAddr(f))
	} else {
		p = v.Resolver.Probe(ctx, f.Zone, probeAddr(f))
	}
	v.mu.Lock()
	switch p.Reason {
	case resolver.ReasonUnresponsive:
		v.silent[addr]++
	case resolver.ReasonVantageError:
	default:
		v.silent[addr] = 0
	}
	v.mu.Unlock()
	return p
}

func (v *Verifier) setStatus(ctx context.Context, f store.Finding, status store.Status, reason string, names []string) error {
	if err := v.Store.SetStatus(ctx, f.ID, v.Clock(), store.FindingUpdate{Status: status, Reason: reason, ServerNames: names}); err != nil {
		return &storeError{fmt.Errorf("verify: %w", err)}
	}
	return nil
}

func (v *Verifier) record(ctx context.Context, f store.Finding, p resolver.Probe, names []string) (verifyOutcome, error) {
	rounds, err := v.Store.Rounds(ctx, f.ID, historyRounds)
	if err != nil {
		return verifyOutcome{}, &storeError{fmt.Errorf("verify: %w", err)}
	}
	for i := range rounds {
		// A round counts as its reason counts now.
		rounds[i].Class = ClassOf(rounds[i].Reason)
	}
	// The verifier's clock stamps the round, so that the spacing between
	// rounds and the policy's spans are measured on one clock.
	p.At = v.Clock()
	r := RoundOf(p)
	r.FindingID, r.Zone, r.Server, r.Port = f.ID, f.Zone, f.Server, f.Port
	status, reason := v.Policy.Status(f.Status, append(rounds, r))
	if _, err := v.Store.RecordRound(ctx, r, store.FindingUpdate{Status: status, Reason: reason, ServerNames: names}); err != nil {
		return verifyOutcome{}, &storeError{fmt.Errorf("verify: %w", err)}
	}
	return verifyOutcome{status: status, probed: true}, nil
}

// probeAddr is where a finding's server is probed: the port the log named,
// except that the standard port 53 means the resolver's configured port
// (53 unless a private test tree runs elsewhere).
func probeAddr(f store.Finding) netip.AddrPort {
	if f.Port == 53 {
		return netip.AddrPortFrom(f.Server, 0)
	}
	return netip.AddrPortFrom(f.Server, f.Port)
}

// serverNames returns the NS names of d that point at addr.
func serverNames(d resolver.Delegation, addr netip.Addr) []string {
	addr = addr.Unmap().WithZone("")
	var out []string
	for _, set := range [][]resolver.NameServer{d.NS, d.ChildOnly} {
		for _, ns := range set {
			for _, a := range ns.Addrs {
				if a.WithZone("") == addr && !slices.Contains(out, ns.Name) {
					out = append(out, ns.Name)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// absolute returns name with the root's final dot.
func absolute(name string) string {
	if strings.HasSuffix(name, ".") {
		return name
	}
	return name + "."
}

// isSubdomain reports whether child equals parent or lies below it
// (canonical names; an escaped dot is not a label boundary).
func isSubdomain(child, parent string) bool {
	if parent == "." || child == parent {
		return true
	}
	if !strings.HasSuffix(child, parent) {
		return false
	}
	i := len(child) - len(parent) - 1
	if child[i] != '.' {
		return false
	}
	bs := 0
	for j := i - 1; j >= 0 && child[j] == '\\'; j-- {
		bs++
	}
	return bs%2 == 0
}
