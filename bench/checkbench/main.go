// Command checkbench times `lamers check ZONE` end to end, one zone per kind
// of server — healthy, lame (REFUSED), closed (nothing listens: ICMP port
// unreachable), silent (never answers) and healthy plus silent — against
// `dig +norec @SERVER ZONE SOA` with dig's default tries and timeout, once
// per server of the zone (bench/README.md, section check).
//
// lamers queries port 53 and cannot be told another, so each zone's
// private tree (resolver/resolvertest) serves on port 53 of its own
// 127.N.x.y addresses: checkbench must run in a network namespace of its
// own with lo up, as bench/check.sh starts it. No packet leaves loopback.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/lamers-dev/lamers/resolver/resolvertest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "checkbench:", err)
		os.Exit(1)
	}
}

// scenario is one zone and the servers it is delegated to.
type scenario struct {
	name    string
	servers []resolvertest.Behavior
	want    string // the zone line's verdict
}

var scenarios = []scenario{
	{"healthy", []resolvertest.Behavior{resolvertest.Authoritative}, "ok"},
	{"lame (REFUSED)", []resolvertest.Behavior{resolvertest.Refused}, "broken"},
	{"closed (port unreachable)", []resolvertest.Behavior{resolvertest.Closed}, "broken"},
	{"silent", []resolvertest.Behavior{resolvertest.Silent}, "broken"},
	{"healthy + silent", []resolvertest.Behavior{resolvertest.Authoritative, resolvertest.Silent}, "ok"},
}

type options struct {
	lamers   []string // binaries to time, the first is the one under test
	dig      string
	runs     int
	scenario string
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	var baseline string
	fs := flag.NewFlagSet("checkbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	lamers := fs.String("lamers", "bin/lamers", "the lamers binary under test")
	fs.StringVar(&baseline, "baseline", "", "another lamers binary to time the same way (e.g. the main branch's)")
	fs.StringVar(&o.dig, "dig", "dig", "dig binary; empty: no dig runs")
	fs.IntVar(&o.runs, "runs", 3, "runs of each command per zone (the median is shown)")
	fs.StringVar(&o.scenario, "only", "", "run only the zones whose kind contains this text")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 || o.runs < 1 {
		return o, fmt.Errorf("usage: checkbench [-lamers BIN] [-baseline BIN] [-dig BIN] [-runs N] [-only TEXT]")
	}
	o.lamers = []string{*lamers}
	if baseline != "" {
		o.lamers = append(o.lamers, baseline)
	}
	return o, nil
}

// result is one command's runs on one zone.
type result struct {
	tool  string
	times []time.Duration
	out   string // what the last run said: the zone line, or dig's status
}

func (r result) median() time.Duration {
	t := slices.Clone(r.times)
	slices.Sort(t)
	return t[len(t)/2]
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "checkbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	conf := filepath.Join(dir, "empty.toml") // keeps /etc/lamers/lamers.toml out
	if err := os.WriteFile(conf, nil, 0o644); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "zone\ttool\tmedian\tmin\tmax\tsays")
	failed := false
	for i, sc := range scenarios {
		if !strings.Contains(sc.name, o.scenario) {
			continue
		}
		rs, err := runScenario(ctx, o, sc, byte(100+i), conf)
		if err != nil {
			return fmt.Errorf("%s: %w", sc.name, err)
		}
		for _, r := range rs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", sc.name, r.tool, secs(r.median()), secs(slices.Min(r.times)),
				secs(slices.Max(r.times)), r.out)
		}
		if !strings.Contains(rs[0].out, ": "+sc.want+" (") {
			failed = true
			fmt.Fprintf(tw, "%s\tWRONG: want the zone %s\t\t\t\t\n", sc.name, sc.want)
		}
		fmt.Fprintf(stderr, "checkbench: %s done\n", sc.name)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if failed {
		return errors.New("lamers check gave a wrong zone verdict")
	}
	return nil
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

// runScenario serves the scenario's zone (z000.test.) on port 53 of
// 127.net.x.y and times each lamers binary and dig on it.
func runScenario(ctx context.Context, o options, sc scenario, net byte, conf string) ([]result, error) {
	tree, err := resolvertest.Start(resolvertest.Config{Net: net, Servers: sc.servers, NSPerZone: len(sc.servers), Port: 53})
	if err != nil {
		return nil, fmt.Errorf("%w (checkbench serves on port 53: run it through bench/check.sh)", err)
	}
	defer tree.Close()
	zone := tree.Zones[0]
	var rs []result
	for _, bin := range o.lamers {
		r := result{tool: "lamers check (" + filepath.Base(bin) + ")"}
		for range o.runs {
			cmd := exec.CommandContext(ctx, bin, "--config", conf, "check", strings.TrimSuffix(zone.Name, "."), "--root-hints", tree.RootHints)
			d, out, err := timed(cmd)
			if ee := (*exec.ExitError)(nil); err != nil && !errors.As(err, &ee) {
				return nil, err
			}
			r.times = append(r.times, d)
			r.out = fmt.Sprintf("exit %d: %s", cmd.ProcessState.ExitCode(), lastLine(out))
		}
		rs = append(rs, r)
	}
	if o.dig == "" {
		return rs, nil
	}
	r := result{tool: fmt.Sprintf("dig +norec SOA, %d server(s) in turn", len(zone.Servers))}
	for range o.runs {
		var total time.Duration
		var says []string
		for _, a := range zone.Servers {
			cmd := exec.CommandContext(ctx, o.dig, "+norec", "@"+a.String(), zone.Name, "SOA")
			d, out, err := timed(cmd)
			if ee := (*exec.ExitError)(nil); err != nil && !errors.As(err, &ee) {
				return nil, err
			}
			total += d
			says = append(says, digSays(out))
		}
		r.times = append(r.times, total)
		r.out = strings.Join(says, "; ")
	}
	return append(rs, r), nil
}

// timed runs cmd and returns its wall time and standard output.
func timed(cmd *exec.Cmd) (time.Duration, string, error) {
	var out strings.Builder
	cmd.Stdout = &out
	start := time.Now()
	err := cmd.Run()
	return time.Since(start), out.String(), err
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// digSays is dig's verdict: the status of the reply's header, or why
// there was none.
func digSays(out string) string {
	if _, rest, ok := strings.Cut(out, "status: "); ok {
		status, _, _ := strings.Cut(rest, ",")
		return status
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, ";; ") && (strings.Contains(line, "timed out") || strings.Contains(line, "refused") ||
			strings.Contains(line, "no servers")) {
			return strings.TrimPrefix(line, ";; ")
		}
	}
	return "no reply"
}
