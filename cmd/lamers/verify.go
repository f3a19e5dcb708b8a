package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/lamers-dev/lamers/resolver"
	"github.com/lamers-dev/lamers/resolver/verify"
	"github.com/lamers-dev/lamers/store"
)

// verifyCommand is `lamers verify`.
type verifyCommand struct {
	zone      string
	all       bool
	maxRounds int // 0 is verify.max_rounds
	rf        resolverFlags
}

func (c *verifyCommand) doc() commandDoc {
	return commandDoc{
		name:     "verify",
		synopsis: "probe the findings that are due, record rounds and verdicts, update statuses",
		help: `First gives zone-less findings (BIND's reason lines) their zone: the deepest
delegation at or above the logged query name that lists the server. Then, for
every finding due (never probed, or last probed at least verify.min_interval
ago), it reads the zone's current delegation from the parent — a zone no
longer delegated, or an address no longer listed, makes the finding stale —
and probes the server with SOA queries, recursion off. Each round is
recorded; the confirmation policy ([verify] in the config) sets the status:
suspect after one lame round, lame after verify.lame_rounds spanning
verify.lame_span, unresponsive after verify.unresponsive_rounds of silence
spanning verify.unresponsive_span, ok or fixed on an authoritative answer.

Polite by construction: one query in flight per server address, at most
resolver.qps queries per second overall, at most 4 packets per address per
round, at most --max-rounds rounds per run.`,
	}
}

func (c *verifyCommand) register(fs *flag.FlagSet) {
	fs.StringVar(&c.zone, "zone", "", "only findings for this `zone` (and zone-less ones below it)")
	fs.BoolVar(&c.all, "all", false, "also re-probe findings that are ok, fixed or stale")
	fs.IntVar(&c.maxRounds, "max-rounds", 0, "probe at most `N` findings in this run (default verify.max_rounds)")
	c.rf.register(fs)
}

// run verifies under the graceful stage: the first signal abandons the
// rounds in flight (a round is recorded whole or not at all) and the run
// ends with what it recorded.
func (c *verifyCommand) run(ctx context.Context, a *app, args []string) error {
	if len(args) > 0 {
		return usagef("verify: unexpected argument %q", args[0])
	}
	opts := verify.Options{All: c.all}
	if c.zone != "" {
		z, err := canonicalZone(c.zone)
		if err != nil {
			return usagef("verify: --zone: %v", err)
		}
		opts.Zone = z
	}
	if c.maxRounds < 0 {
		return usagef("verify: --max-rounds: %d is negative", c.maxRounds)
	}
	db, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer db.Close(context.WithoutCancel(ctx))
	r, err := a.newResolver(&c.rf, false)
	if err != nil {
		return err
	}
	defer r.Close(context.WithoutCancel(ctx))
	st, err := c.verifier(a, r, db).Run(ctx, opts)
	printVerifySummary(a.stdout, &st)
	if cause := context.Cause(ctx); err != nil && cause != nil && errors.Is(err, context.Canceled) {
		fmt.Fprintf(a.stderr, "lamers: verify stopped early (%s): the rounds recorded are kept; run it again to continue\n", cause)
		return nil
	}
	return err // the verify package names itself
}

// verifier is the Verifier of the configuration and flags.
func (c *verifyCommand) verifier(a *app, r *resolver.Resolver, db *store.DB) *verify.Verifier {
	maxRounds := c.maxRounds
	if maxRounds == 0 {
		maxRounds = a.cfg.Verify.MaxRounds
	}
	vc := a.cfg.Verify
	return &verify.Verifier{
		Resolver: r,
		Store:    db,
		Policy: verify.Policy{
			LameRounds:         vc.LameRounds,
			LameSpan:           time.Duration(vc.LameSpan),
			UnresponsiveRounds: vc.UnresponsiveRounds,
			UnresponsiveSpan:   time.Duration(vc.UnresponsiveSpan),
			MinInterval:        time.Duration(vc.MinInterval),
		},
		Concurrency: vc.Concurrency,
		MaxRounds:   maxRounds,
		Log:         a.log,
	}
}

func printVerifySummary(w io.Writer, st *verify.Stats) {
	fmt.Fprintf(w, "zone-less findings attributed: %d\n", st.Attributed)
	if st.Unattributable > 0 {
		fmt.Fprintf(w, "zone-less findings no delegation lists (stale): %d\n", st.Unattributable)
	}
	fmt.Fprintf(w, "probe rounds: %d\n", st.Probed)
	if st.Stale > 0 {
		fmt.Fprintf(w, "stale without probing (not delegated, address not listed): %d\n", st.Stale)
	}
	if st.Merged > 0 {
		fmt.Fprintf(w, "Unbound lossy names merged into the zone they spell: %d\n", st.Merged)
	}
	if st.Skipped > 0 {
		fmt.Fprintf(w, "left for a later run: %d\n", st.Skipped)
	}
	statuses := slices.SortedFunc(maps.Keys(st.Statuses), func(a, b store.Status) int {
		return strings.Compare(a.String(), b.String())
	})
	for _, s := range statuses {
		fmt.Fprintf(w, "status %s: %d\n", s, st.Statuses[s])
	}
}
