package resolver

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

	"github.com/lamers-dev/lamers/store"
)

// VerifyStore is what verification needs from the database. RecordRound
// and SetStatus must each be one transaction; Attribute merges a zone-less
// finding into the zoned finding (zone, server, port) and returns it.
type VerifyStore interface {
	DueFindings(ctx context.Context, f store.DueFilter) ([]store.Finding, error)
	Rounds(ctx context.Context, findingID int64, limit int) ([]store.Round, error)
	RecordRound(ctx context.Context, r store.Round, u store.FindingUpdate) (store.Round, error)
	SetStatus(ctx context.Context, findingID int64, at time.Time, u store.FindingUpdate) error
	Attribute(ctx context.Context, findingID int64, zone string) (store.Finding, error)
}

var _ VerifyStore = (*store.DB)(nil)

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
	// print, and no zone of that spelling is delegated.
	ReasonLossyName = "lossy_name"
)

// historyRounds is how many recent rounds the confirmation policy reads.
const historyRounds = 50

// silentAfter is how many full rounds an address must stay silent in one
// run before its other findings get the one-packet round of ProbeSilent.
const silentAfter = 2

// Verifier probes the findings that are due and applies the confirmation
// policy (DESIGN §5).
type Verifier struct {
	Resolver    *Resolver
	Store       VerifyStore
	Policy      Policy
	Concurrency int // findings verified at once; per-address politeness holds regardless
	MaxRounds   int // probe rounds per run
	Clock       func() time.Time
	Log         *slog.Logger

	mu     sync.Mutex
	silent map[netip.Addr]int // consecutive unresponsive rounds per address in this run
}

// VerifyOptions selects what one run verifies.
type VerifyOptions struct {
	// Zone limits the run to one zone (and to zone-less findings whose
	// query name lies under it).
	Zone string
	// All also re-probes findings that are ok, fixed or stale, which a
	// normal run leaves alone. The minimum interval between rounds holds.
	All bool
}

// VerifyStats counts what a run did.
type VerifyStats struct {
	Attributed     int // zone-less findings given a zone
	Unattributable int // zone-less findings no delegation lists
	Probed         int // probe rounds recorded
	Stale          int // findings found stale without a probe
	Skipped        int // findings left for a later run (transient errors, the round cap)
	// Statuses counts the status of every finding this run touched.
	Statuses map[string]int
}

var activeStatuses = []string{StatusNew, StatusSuspect, StatusLame, StatusUnresponsive, StatusInconclusive}

// Run verifies once: attributes zone-less findings, then probes every due
// finding, at most MaxRounds of them.
func (v *Verifier) Run(ctx context.Context, opts VerifyOptions) (VerifyStats, error) {
	st := VerifyStats{Statuses: map[string]int{}}
	if v.Clock == nil {
		v.Clock = time.Now
	}
	if v.Log == nil {
		v.Log = slog.New(slog.DiscardHandler)
	}
	if v.Concurrency <= 0 {
		v.Concurrency = 1
	}
	v.mu.Lock()
	v.silent = map[netip.Addr]int{}
	v.mu.Unlock()
	statuses := activeStatuses
	if opts.All {
		statuses = nil
	}
	if err := v.attribute(ctx, opts, statuses, &st); err != nil {
		return st, err
	}
	due := store.DueFilter{
		Zone:         opts.Zone,
		Statuses:     statuses,
		ProbedBefore: v.Clock().Add(-v.Policy.MinInterval),
		ZoneLess:     ptr(false),
	}
	fs, err := v.Store.DueFindings(ctx, due)
	if err != nil {
		return st, fmt.Errorf("verify: %w", err)
	}
	if v.MaxRounds > 0 && len(fs) > v.MaxRounds {
		st.Skipped += len(fs) - v.MaxRounds
		fs = fs[:v.MaxRounds]
	}
	var mu sync.Mutex
	var firstErr error
	work := make(chan store.Finding)
	var wg sync.WaitGroup
	for range min(v.Concurrency, max(len(fs), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range work {
				out, err := v.verifyOne(ctx, f)
				mu.Lock()
				switch {
				case err != nil && ctx.Err() == nil:
					st.Skipped++
					v.Log.Warn("verify failed", "zone", f.Zone, "server", f.Server, "err", err)
					if firstErr == nil && isStoreError(err) {
						firstErr = err
					}
				case err == nil:
					st.Statuses[out.status]++
					if out.probed {
						st.Probed++
					} else {
						st.Stale++
					}
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for _, f := range fs {
		select {
		case work <- f:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return st, firstErr
	}
	return st, ctx.Err()
}

func ptr[T any](v T) *T { return &v }

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
// server (DESIGN §4).
func (v *Verifier) attribute(ctx context.Context, opts VerifyOptions, statuses []string, st *VerifyStats) error {
	fs, err := v.Store.DueFindings(ctx, store.DueFilter{Statuses: statuses, ZoneLess: ptr(true)})
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	for _, f := range fs {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if f.Bucket == store.OverflowBucket {
			continue // many zones share it: a human has to look
		}
		qname := f.QName
		if qname == "" {
			qname = f.Bucket
		}
		if qname == "" {
			continue
		}
		if opts.Zone != "" && !isSubdomain(canonical(qname), opts.Zone) {
			continue
		}
		zone, err := v.Resolver.ZoneFor(ctx, qname, f.Server)
		switch {
		case errors.Is(err, ErrNotListed) || errors.Is(err, ErrNotDelegated) || (err == nil && zone == ""):
			if err := v.Store.SetStatus(ctx, f.ID, v.Clock(), store.FindingUpdate{Status: StatusStale, Reason: ReasonNoZoneListsServer}); err != nil {
				return fmt.Errorf("verify: %w", err)
			}
			st.Unattributable++
		case err != nil:
			st.Skipped++
			v.Log.Warn("cannot attribute a zone", "qname", qname, "server", f.Server, "err", err)
		default:
			if _, err := v.Store.Attribute(ctx, f.ID, zone); err != nil {
				return fmt.Errorf("verify: attribute %s to %s: %w", qname, zone, err)
			}
			st.Attributed++
			v.Log.Debug("attributed", "qname", qname, "server", f.Server, "zone", zone)
		}
	}
	return nil
}

type verifyOutcome struct {
	status string
	probed bool
}

// verifyOne checks one zoned finding's delegation, probes its server and
// records the round and the resulting status.
func (v *Verifier) verifyOne(ctx context.Context, f store.Finding) (verifyOutcome, error) {
	d, err := v.Resolver.Delegation(ctx, f.Zone)
	switch {
	case err != nil && errors.Is(err, ErrParentUnreachable):
		// Record an inconclusive round: the attempt counts for nothing
		// but is visible in the report.
		p := Probe{Zone: f.Zone, Server: probeAddr(f), Verdict: VerdictInconclusive,
			Reason: ReasonParentUnreachable, At: v.Clock()}
		return v.record(ctx, f, p, f.ServerNames)
	case err != nil:
		return verifyOutcome{}, err
	case !d.Delegated:
		reason := ReasonNotDelegated
		if strings.Contains(f.Zone, "?") {
			return verifyOutcome{status: StatusInconclusive}, v.setStatus(ctx, f, StatusInconclusive, ReasonLossyName, nil)
		}
		return verifyOutcome{status: StatusStale}, v.setStatus(ctx, f, StatusStale, reason, nil)
	case !d.Lists(f.Server):
		return verifyOutcome{status: StatusStale}, v.setStatus(ctx, f, StatusStale, ReasonNotInDelegation, nil)
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
func (v *Verifier) probe(ctx context.Context, f store.Finding) Probe {
	addr := f.Server.WithZone("")
	v.mu.Lock()
	short := v.silent[addr] >= silentAfter
	v.mu.Unlock()
	var p Probe
	if short {
		p = v.Resolver.ProbeSilent(ctx, f.Zone, probeAddr(f))
	} else {
		p = v.Resolver.Probe(ctx, f.Zone, probeAddr(f))
	}
	v.mu.Lock()
	switch p.Reason {
	case ReasonUnresponsive:
		v.silent[addr]++
	case ReasonVantageError:
	default:
		v.silent[addr] = 0
	}
	v.mu.Unlock()
	return p
}

func (v *Verifier) setStatus(ctx context.Context, f store.Finding, status, reason string, names []string) error {
	if err := v.Store.SetStatus(ctx, f.ID, v.Clock(), store.FindingUpdate{Status: status, Reason: reason, ServerNames: names}); err != nil {
		return &storeError{fmt.Errorf("verify: %w", err)}
	}
	return nil
}

func (v *Verifier) record(ctx context.Context, f store.Finding, p Probe, names []string) (verifyOutcome, error) {
	past, err := v.Store.Rounds(ctx, f.ID, historyRounds)
	if err != nil {
		return verifyOutcome{}, &storeError{fmt.Errorf("verify: %w", err)}
	}
	rounds := make([]Round, 0, len(past)+1)
	for _, r := range past {
		rounds = append(rounds, Round{At: r.At, Verdict: Verdict(r.Verdict), Reason: r.Reason, Class: ClassOf(r.Reason)})
	}
	// The verifier's clock stamps the round, so that the spacing between
	// rounds and the policy's spans are measured on one clock.
	p.At = v.Clock()
	rounds = append(rounds, RoundOf(p))
	status, reason := v.Policy.Status(f.Status, rounds)
	_, err = v.Store.RecordRound(ctx, store.Round{
		FindingID: f.ID, At: p.At, Zone: f.Zone, Server: f.Server, Port: f.Port,
		Verdict: string(p.Verdict), Reason: p.Reason, Class: p.Class().String(), Rcode: p.Rcode,
		Flags: p.Flags, RTT: p.RTT, Packets: p.Packets,
	}, store.FindingUpdate{Status: status, Reason: reason, ServerNames: names})
	if err != nil {
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
func serverNames(d Delegation, addr netip.Addr) []string {
	addr = addr.Unmap().WithZone("")
	var out []string
	for _, set := range [][]NameServer{d.NS, d.ChildOnly} {
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
