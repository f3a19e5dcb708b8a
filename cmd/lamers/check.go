package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/lamers-dev/lamers/resolver"
)

// checkCommand is `lamers check`.
type checkCommand struct {
	servers addrList
	format  string // text or json
	rf      resolverFlags
}

func (c *checkCommand) doc() commandDoc {
	return commandDoc{
		name:     "check",
		args:     "ZONE",
		synopsis: "probe one zone's delegation now, without a database",
		help: `Finds the zone's current delegation from the root (asking the parent's
servers for NS with recursion off), then sends SOA queries with recursion off
to every address of every NS name — or only to the --server addresses — and
once more over TCP to each that answered; the first servers that answer
authoritatively are asked for the zone's own NS set, whose extra names are
probed too. Prints one line per (NS name, address): verdict (authoritative,
lame, inconclusive), reason, flags and round-trip time; then the zone line:
ok (a server answers authoritatively, none is lame), lame (at least one
lame server) or broken (no server answers authoritatively: all lame, silent
or closed), with the counts. Flags never change a verdict: open_recursor,
edns_noncompliant, ns_is_cname, ns_not_in_child, ns_not_in_parent,
tcp_failed, soa_mismatch.

Exit status: 0 ok (inconclusive servers are shown but do not count), 1 lame
or broken, 2 error (including: the zone is not delegated).`,
	}
}

func (c *checkCommand) register(fs *flag.FlagSet) {
	fs.Var(&c.servers, "server", "probe only this `IP` (repeatable)")
	fs.StringVar(&c.format, "format", "text", "output `format`: text or json")
	c.rf.register(fs)
}

// run probes under the graceful stage: a check stored nothing, so the
// first signal abandons it and it ends in an error, not in a verdict.
func (c *checkCommand) run(ctx context.Context, a *app, args []string) error {
	if len(args) != 1 {
		return usagef("check: want exactly one ZONE, got %d arguments", len(args))
	}
	if c.format != "text" && c.format != "json" {
		return usagef("check: --format: %q is not one of text, json", c.format)
	}
	zone, err := canonicalZone(args[0])
	if err != nil {
		return usagef("check: %q: %v", args[0], err)
	}
	r, err := a.newResolver(&c.rf, true)
	if err != nil {
		return err
	}
	defer r.Close(context.WithoutCancel(ctx))
	res, err := r.Check(ctx, zone, c.servers)
	if err != nil {
		if c.format == "json" && errors.Is(err, resolver.ErrNotDelegated) {
			writeCheckJSON(a.stdout, res)
		}
		return err
	}
	if c.format == "json" {
		err = writeCheckJSON(a.stdout, res)
	} else {
		err = writeCheckText(a.stdout, res)
	}
	if err != nil {
		return err
	}
	if res.Verdict != resolver.ZoneOK {
		return &exitError{code: exitFound}
	}
	return nil
}

func writeCheckJSON(w io.Writer, res resolver.CheckResult) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}

func writeCheckText(w io.Writer, res resolver.CheckResult) error {
	fmt.Fprintf(w, "zone %s, delegated by %s to %s\n", escapeTerminal(res.Zone), escapeTerminal(res.Parent), escapeTerminal(strings.Join(res.Delegation, " ")))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tADDRESS\tVERDICT\tREASON\tFLAGS\tRTT")
	for _, s := range res.Servers {
		rtt := "-"
		if s.RTTms > 0 {
			rtt = fmt.Sprintf("%.1fms", s.RTTms)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", escapeTerminal(dash(s.Name)), dash(s.Address), s.Verdict,
			dash(s.Reason), dash(strings.Join(s.Flags, ",")), rtt)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, zoneLine(res))
	return err
}

// zoneLine is the zone's verdict with the count of rows behind it:
// "zone example.com.: lame (3 servers: 2 authoritative, 1 lame, 0 inconclusive)".
func zoneLine(res resolver.CheckResult) string {
	n := map[resolver.Verdict]int{}
	for _, s := range res.Servers {
		n[s.Verdict]++
	}
	servers := "servers"
	if len(res.Servers) == 1 {
		servers = "server"
	}
	return fmt.Sprintf("zone %s: %s (%d %s: %d authoritative, %d lame, %d inconclusive)", escapeTerminal(res.Zone), res.Verdict,
		len(res.Servers), servers, n[resolver.VerdictAuthoritative], n[resolver.VerdictLame], n[resolver.VerdictInconclusive])
}
