package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lamers-dev/lamers/resolver"
)

// addrList is a repeatable flag of IP addresses.
type addrList []netip.Addr

func (l *addrList) String() string {
	s := make([]string, len(*l))
	for i, a := range *l {
		s[i] = a.String()
	}
	return strings.Join(s, ",")
}

func (l *addrList) Set(v string) error {
	a, err := netip.ParseAddr(strings.Trim(v, "[]"))
	if err != nil {
		return fmt.Errorf("%q is not an IP address", v)
	}
	*l = append(*l, a.Unmap())
	return nil
}

// resolverFlags are the flags every probing command shares.
type resolverFlags struct {
	rootHints string
}

func (f *resolverFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.rootHints, "root-hints", "", "root hints `file` in zone-file format (default: resolver.root_hints, else the embedded IANA hints)")
}

// newResolver builds the bundled resolver from the configuration and flags.
// ednsCheck adds a packet after a clean authoritative answer to flag
// servers that mishandle EDNS: worth it for a one-off check, not for every
// round of a verify run.
func (a *app) newResolver(f *resolverFlags, ednsCheck bool) (*resolver.Resolver, error) {
	rc := a.cfg.Resolver
	cfg := resolver.DefaultConfig()
	hints := rc.RootHints
	if f.rootHints != "" {
		hints = f.rootHints
	}
	if hints != "" {
		fh, err := os.Open(hints)
		if err != nil {
			return nil, fmt.Errorf("root hints: %w", err)
		}
		addrs, err := resolver.ParseRootHints(fh)
		fh.Close()
		if err != nil {
			return nil, fmt.Errorf("root hints %s: %w", hints, err)
		}
		if len(addrs) == 0 {
			return nil, fmt.Errorf("root hints %s: no root server addresses", hints)
		}
		cfg.RootHints = addrs
	}
	cfg.QPS = rc.QPS
	cfg.Timeouts = make([]time.Duration, len(rc.Timeouts))
	for i, t := range rc.Timeouts {
		cfg.Timeouts[i] = time.Duration(t)
	}
	cfg.TCPTimeout = time.Duration(rc.TCPTimeout)
	cfg.DisableIPv4, cfg.DisableIPv6 = !rc.IPv4, !rc.IPv6
	cfg.SkipEDNSCheck = !ednsCheck
	cfg.Logger = a.log.With(logKeyComponent, "resolver")
	return resolver.New(cfg)
}

func checkCommand() *command {
	var servers addrList
	var format string
	var rf resolverFlags
	return &command{
		name:     "check",
		args:     "ZONE",
		synopsis: "probe one zone's delegation now, without a database",
		help: `Finds the zone's current delegation from the root (asking the parent's
servers for NS with recursion off), then sends SOA queries with recursion off
to every address of every NS name — or only to the --server addresses — and
prints one line per (NS name, address): verdict (authoritative, lame,
inconclusive), reason, flags and round-trip time.

Exit status: 0 no lame server (inconclusive ones are shown but do not count),
1 at least one lame server, 2 error (including: the zone is not delegated).`,
		flags: func(fs *flag.FlagSet) {
			fs.Var(&servers, "server", "probe only this `IP` (repeatable)")
			fs.StringVar(&format, "format", "text", "output `format`: text or json")
			rf.register(fs)
		},
		run: func(ctx context.Context, a *app, args []string) error {
			if len(args) != 1 {
				return usagef("check: want exactly one ZONE, got %d arguments", len(args))
			}
			if format != "text" && format != "json" {
				return usagef("check: --format: %q is not one of text, json", format)
			}
			zone, err := canonicalZone(args[0])
			if err != nil {
				return usagef("check: %q: %v", args[0], err)
			}
			r, err := a.newResolver(&rf, true)
			if err != nil {
				return err
			}
			defer r.Close(context.WithoutCancel(ctx))
			res, err := r.Check(ctx, zone, servers)
			if err != nil {
				if format == "json" && errors.Is(err, resolver.ErrNotDelegated) {
					writeCheckJSON(a.stdout, res)
				}
				return err
			}
			if format == "json" {
				err = writeCheckJSON(a.stdout, res)
			} else {
				err = writeCheckText(a.stdout, res)
			}
			if err != nil {
				return err
			}
			if res.Lame() {
				return &exitError{code: exitFound}
			}
			return nil
		},
	}
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
	return tw.Flush()
}
