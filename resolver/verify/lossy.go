package verify

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/lamers-dev/lamers/internal/dnsname"
	"github.com/lamers-dev/lamers/store"
)

// Unbound's lossy names (docs/verification.md, section 1). Unbound prints
// names with dname_str (util/data/dname.c): every octet outside A–Z a–z
// 0–9 - _ * becomes '?', without escapes, so the zone we\.ird.lab. appears
// as we?ird.lab. Such a name is not delegated as written. When exactly one
// zone known for the same server and port (a BIND finding, a zone that
// verification attributed) can be what Unbound printed, the lossy finding
// is merged into that zone's finding and verified as it; otherwise it stays
// inconclusive (lossy_name).

// spells reports whether lossy, a name as Unbound prints it, can be name, a
// canonical name in presentation form with BIND's escapes (we\.ird.lab.,
// we\032ird.lab.): the same number of labels of the same lengths in
// octets, every '?' of lossy standing for one octet that Unbound does not
// print, every other octet the same without regard to ASCII case. A name
// without '?' is not lossy, and one with Unbound's marks of a label ('#') or
// a name ('&') too long to print spells nothing.
func spells(lossy, name string) bool {
	if !strings.Contains(lossy, "?") || strings.ContainsAny(lossy, "#&") {
		return false
	}
	want := strings.Split(strings.TrimSuffix(lossy, "."), ".")
	got, err := dnsname.Labels(name)
	if err != nil || len(got) != len(want) {
		return false
	}
	for i, w := range want {
		g := got[i]
		if len(w) != len(g) {
			return false
		}
		for j := range len(w) {
			switch {
			case w[j] == '?':
				if unboundPrints(g[j]) {
					return false
				}
			case foldASCII(w[j]) != foldASCII(g[j]):
				return false
			}
		}
	}
	return true
}

// unboundPrints reports whether dname_str writes the octet c as itself.
func unboundPrints(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '*'
}

func foldASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// mergeLossy handles a finding whose zone, not delegated as written, holds
// Unbound's '?': merged into the one known zone it spells, which is then
// verified in this run unless another worker has it or it is not due; or,
// with no such zone or more than one, inconclusive with reason lossy_name.
func (v *Verifier) mergeLossy(ctx context.Context, f store.Finding) (verifyOutcome, error) {
	target, ok, err := v.mergeSpelled(ctx, f)
	switch {
	case err != nil:
		return verifyOutcome{}, err
	case !ok:
		return verifyOutcome{status: store.StatusInconclusive}, v.setStatus(ctx, f, store.StatusInconclusive, ReasonLossyName, nil)
	}
	if !v.claim(target) {
		return verifyOutcome{merged: true}, nil
	}
	out, err := v.verifyOne(ctx, target)
	out.merged = true
	return out, err
}

// mergeSpelled merges f, whose zone is a lossy name, into the one zone
// known for its server and port that the name spells, and returns that
// finding; ok is false when there is no such zone or more than one.
func (v *Verifier) mergeSpelled(ctx context.Context, f store.Finding) (target store.Finding, ok bool, err error) {
	known, err := v.Store.LossyCandidates(ctx, f.Server, f.Port)
	if err != nil {
		return store.Finding{}, false, &storeError{fmt.Errorf("verify: %w", err)}
	}
	zones := slices.DeleteFunc(known, func(z string) bool { return z == f.Zone || !spells(f.Zone, z) })
	if len(zones) != 1 {
		return store.Finding{}, false, nil
	}
	target, err = v.Store.MergeZone(ctx, f.ID, zones[0])
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Finding{}, false, fmt.Errorf("verify: merge %s into %s: %w", f.Zone, zones[0], err)
	case err != nil:
		return store.Finding{}, false, &storeError{fmt.Errorf("verify: %w", err)}
	}
	v.Log.Debug("lossy name merged", logKeyZone, f.Zone, logKeyServer, f.Server, logKeyInto, target.Zone)
	return target, true, nil
}

// remerge gives the lossy names that earlier runs left inconclusive
// (lossy_name) another chance before the due findings are picked: the zone
// they spell may have become known since — BIND's line for it read after
// Unbound's, as a daemon following both logs sees them. No DNS is needed:
// the name was found not delegated as written when it was set aside. At
// most MaxRounds of them (oldest first) are looked at per run.
func (v *Verifier) remerge(ctx context.Context, opts Options, st *Stats) error {
	limit := v.MaxRounds
	if limit <= 0 {
		limit = math.MaxInt32
	}
	fs, err := v.Store.UnprintableFindings(ctx, store.StatusInconclusive, ReasonLossyName, limit)
	if err != nil {
		return &storeError{fmt.Errorf("verify: %w", err)}
	}
	for _, f := range fs {
		if opts.Zone != "" && f.Zone != opts.Zone && !spells(f.Zone, opts.Zone) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("verify: %w", err)
		}
		if _, ok, err := v.mergeSpelled(ctx, f); err != nil {
			return err
		} else if ok {
			st.Merged++
		}
	}
	return nil
}
