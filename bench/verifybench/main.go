// Command verifybench measures `lamers verify` end to end on loopback: a
// private DNS tree (resolver/resolvertest) of 500 zones on 100 server
// addresses, 5,000 findings in a fresh SQLite database, one
// verify.Verifier.Run over all of them, then the baseline of running
// `dig +norec SOA` once per finding, sequentially. It prints a table and
// MET/MISSED for each target (bench/README.md, section verify).
//
// Every packet goes to 127.0.0.0/8. The exit status is 1 when a politeness
// limit was broken or the run failed, 0 otherwise (a missed performance
// target is only printed).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/lamers-dev/lamers/resolver"
	"github.com/lamers-dev/lamers/resolver/resolvertest"
	"github.com/lamers-dev/lamers/resolver/verify"
	"github.com/lamers-dev/lamers/store"
)

// Targets (the verification issue).
const (
	minSpeedup         = 10  // dig baseline wall / verify wall
	maxQueriesAnswered = 1.5 // queries per answering finding
	maxRSSBytes        = 100 << 20
	maxProbePackets    = 4 // packets per address and round (docs/verification.md)
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "verifybench:", err)
		os.Exit(1)
	}
}

type options struct {
	zones, nsPerZone             int
	auth, refused, upref, silent int
	qps                          float64
	timeout                      time.Duration
	concurrency                  int
	latency                      time.Duration
	net                          int
	dig                          string
	digSample                    int
	seed                         uint64
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("verifybench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.zones, "zones", 500, "zones delegated from the TLD")
	fs.IntVar(&o.nsPerZone, "ns", 10, "server addresses per zone (findings = zones x ns)")
	fs.IntVar(&o.auth, "auth", 80, "authoritative server addresses")
	fs.IntVar(&o.refused, "refused", 10, "lame server addresses answering REFUSED")
	fs.IntVar(&o.upref, "upref", 5, "lame server addresses answering an upward referral")
	fs.IntVar(&o.silent, "silent", 5, "silent server addresses")
	fs.Float64Var(&o.qps, "qps", 2000, "the resolver's global rate limit, queries/s")
	fs.DurationVar(&o.timeout, "timeout", 200*time.Millisecond, "UDP timeouts of a probe round (both tries)")
	fs.IntVar(&o.concurrency, "concurrency", 64, "findings verified at once")
	fs.DurationVar(&o.latency, "latency", 0, "delay added by every zone server before it answers")
	fs.IntVar(&o.net, "net", 60, "second octet of the tree's addresses 127.N.x.y")
	fs.StringVar(&o.dig, "dig", "dig", "dig binary for the baseline; empty: skip the baseline")
	fs.IntVar(&o.digSample, "dig-sample", 500, "findings the baseline runs dig for (stratified by server behaviour, extrapolated); 0: all")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the finding order")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.net < 1 || o.net > 255 {
		return o, fmt.Errorf("-net %d: not in 1..255", o.net)
	}
	return o, nil
}

// finding is one (zone, server address) pair of the tree.
type finding struct {
	zone     string
	addr     netip.Addr
	behavior resolvertest.Behavior
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	var servers []resolvertest.Behavior
	for _, n := range []struct {
		b resolvertest.Behavior
		n int
	}{{resolvertest.Authoritative, o.auth}, {resolvertest.Refused, o.refused}, {resolvertest.UpwardReferral, o.upref}, {resolvertest.Silent, o.silent}} {
		for range n.n {
			servers = append(servers, n.b)
		}
	}
	tree, err := resolvertest.Start(resolvertest.Config{
		Net: byte(o.net), Zones: o.zones, Servers: servers, NSPerZone: o.nsPerZone, Latency: o.latency,
	})
	if err != nil {
		return err
	}
	defer tree.Close()
	behavior := map[netip.Addr]resolvertest.Behavior{}
	for _, s := range tree.Servers {
		behavior[s.Addr] = s.Behavior
	}
	var fs []finding
	for _, z := range tree.Zones {
		for _, a := range z.Servers {
			fs = append(fs, finding{z.Name, a, behavior[a]})
		}
	}
	// Logs name findings in no useful order.
	rng := rand.New(rand.NewPCG(o.seed, 0x6c616d657273))
	rng.Shuffle(len(fs), func(i, j int) { fs[i], fs[j] = fs[j], fs[i] })

	dir, err := os.MkdirTemp("", "verifybench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	db, err := store.Open(ctx, filepath.Join(dir, "lamers.db"))
	if err != nil {
		return err
	}
	defer db.Close(context.WithoutCancel(ctx))
	if err := commitFindings(ctx, db, fs); err != nil {
		return err
	}

	fmt.Fprintf(stdout, "verifybench: %d findings = %d zones x %d addresses (of %d: %d authoritative, %d refused, %d upward referral, %d silent) on 127.%d.0.0/16 port %d; GOMAXPROCS %d\n",
		len(fs), o.zones, o.nsPerZone, len(servers), o.auth, o.refused, o.upref, o.silent, o.net, tree.Port, runtime.GOMAXPROCS(0))

	m, err := runVerify(ctx, o, tree, db)
	if err != nil {
		return err
	}
	if err := m.fromStore(ctx, db, behavior); err != nil {
		return err
	}
	var base *baseline
	if o.dig != "" {
		fmt.Fprintf(stdout, "baseline: dig once per finding, sequentially (%s)...\n", sampleText(o.digSample, len(fs)))
		if base, err = runDig(ctx, o, tree, fs); err != nil {
			return err
		}
	}
	return report(stdout, o, len(fs), m, base)
}

// commitFindings stores one zoned finding per pair through store.Commit, as
// ingest would from one log file.
func commitFindings(ctx context.Context, db *store.DB, fs []finding) error {
	evidence := map[resolvertest.Behavior]string{
		resolvertest.Authoritative:  "lame_referral", // lame once, fixed since
		resolvertest.Refused:        "refused",
		resolvertest.UpwardReferral: "lame_referral",
		resolvertest.Silent:         "timeout",
	}
	day := time.Now().UTC().Add(-time.Hour)
	counts := make([]store.Count, 0, len(fs))
	for _, f := range fs {
		counts = append(counts, store.Count{
			Zone: f.zone, QName: "www." + f.zone, Server: f.addr, Port: 53, Source: "bind",
			Evidence: evidence[f.behavior], Day: store.DayOf(day), N: 1, First: day, Last: day,
		})
	}
	_, err := db.Commit(ctx, store.Batch{
		Base:   store.Checkpoint{Fingerprint: []byte("verifybench")},
		Next:   store.Checkpoint{Offset: int64(len(fs)) * 100, Lines: int64(len(fs)), Path: "verifybench.log"},
		Counts: counts,
	})
	return err
}

// measurements of the verify run.
type measurements struct {
	wall         time.Duration
	stats        verify.Stats
	packets      int64 // Resolver.Stats
	serverTotal  int64 // the tree's counters, during the run
	perServer    map[netip.Addr]int64
	rootTLD      int64
	peakClient   int // Resolver.Stats, max over addresses
	peakServer   int // the tree's counters, max over addresses
	peakRate     int64
	rssBefore    int64
	rssPeak      int64
	reasons      map[string]int
	rounds       int
	maxPackets   int
	answering    int   // findings whose round got a reply
	probeAnswer  int64 // probe packets of those rounds
	serverAnswer int64 // all queries received by answering addresses
	findingsAt   map[bool]int
	silentPkts   int64
}

func runVerify(ctx context.Context, o options, tree *resolvertest.Tree, db *store.DB) (*measurements, error) {
	f, err := os.Open(tree.RootHints)
	if err != nil {
		return nil, err
	}
	roots, err := resolver.ParseRootHints(f)
	f.Close()
	if err != nil {
		return nil, err
	}
	r, err := resolver.New(resolver.Config{
		RootHints: roots, Port: tree.Port, QPS: o.qps,
		Timeouts: []time.Duration{o.timeout, o.timeout}, SkipEDNSCheck: true,
	})
	if err != nil {
		return nil, err
	}
	defer r.Close(context.WithoutCancel(ctx))
	v := &verify.Verifier{
		Resolver: r, Store: db, Policy: verify.DefaultPolicy(), Concurrency: o.concurrency, MaxRounds: 5000,
		Log: slog.New(slog.DiscardHandler),
	}

	m := &measurements{perServer: map[netip.Addr]int64{}}
	before := tree.Stats()
	resetPeakRSS()
	m.rssBefore = procStatus("VmRSS")
	sampler := startRateSampler(tree)
	start := time.Now()
	m.stats, err = v.Run(ctx, verify.Options{})
	m.wall = time.Since(start)
	m.peakRate = sampler.stop()
	m.rssPeak = procStatus("VmHWM")
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	st := r.Stats()
	m.packets = st.Packets
	for _, a := range st.PerAddress {
		m.peakClient = max(m.peakClient, a.PeakInFlight)
	}
	for a, s := range tree.Stats() {
		n := s.Queries - before[a].Queries
		m.serverTotal += n
		m.peakServer = max(m.peakServer, s.PeakInFlight)
		if a == tree.Root || a == tree.TLD {
			m.rootTLD += n
		} else {
			m.perServer[a] = n
		}
	}
	return m, nil
}

// fromStore reads the rounds the run recorded.
func (m *measurements) fromStore(ctx context.Context, db *store.DB, behavior map[netip.Addr]resolvertest.Behavior) error {
	all, err := db.Findings(ctx, store.Filter{})
	if err != nil {
		return err
	}
	m.reasons = map[string]int{}
	m.findingsAt = map[bool]int{}
	answeringAddr := map[netip.Addr]bool{}
	for _, f := range all {
		rs, err := db.Rounds(ctx, f.ID, 10)
		if err != nil {
			return err
		}
		m.rounds += len(rs)
		for _, r := range rs {
			m.reasons[r.Reason]++
			m.maxPackets = max(m.maxPackets, r.Packets)
			if r.Reason != resolver.ReasonUnresponsive {
				m.answering++
				m.probeAnswer += int64(r.Packets)
			} else {
				m.silentPkts += int64(r.Packets)
			}
		}
		ans := behavior[f.Server] != resolvertest.Silent
		answeringAddr[f.Server] = ans
		m.findingsAt[ans]++
	}
	for a, n := range m.perServer {
		if answeringAddr[a] {
			m.serverAnswer += n
		}
	}
	return nil
}

// rateSampler reads the tree's query total every 100 ms and keeps the most
// queries seen in any one-second window.
type rateSampler struct {
	done chan struct{}
	wg   sync.WaitGroup
	peak int64
}

func startRateSampler(tree *resolvertest.Tree) *rateSampler {
	s := &rateSampler{done: make(chan struct{})}
	s.wg.Go(func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		window := []int64{tree.Queries()}
		for {
			select {
			case <-s.done:
				return
			case <-t.C:
			}
			window = append(window, tree.Queries())
			if len(window) > 11 {
				window = window[1:]
			}
			s.peak = max(s.peak, window[len(window)-1]-window[0])
		}
	})
	return s
}

func (s *rateSampler) stop() int64 {
	close(s.done)
	s.wg.Wait()
	return s.peak
}

// resetPeakRSS resets VmHWM to the current RSS (Linux ≥ 4.0), so that the
// peak read after the run is the run's.
func resetPeakRSS() {
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// procStatus returns a /proc/self/status field in bytes, 0 if unknown.
func procStatus(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// baseline is the dig run.
type baseline struct {
	ran      int
	measured time.Duration
	total    time.Duration // extrapolated to all findings
	perClass map[resolvertest.Behavior]time.Duration
	queries  int64
}

func sampleText(sample, n int) string {
	if sample <= 0 || sample >= n {
		return fmt.Sprintf("all %d findings", n)
	}
	return fmt.Sprintf("a fixed sample of %d of %d findings, stratified by server behaviour, extrapolated", sample, n)
}

// runDig runs dig for every finding, or for every k-th finding of each
// behaviour class when sampling, and extrapolates each class's mean time to
// the class's size.
func runDig(ctx context.Context, o options, tree *resolvertest.Tree, fs []finding) (*baseline, error) {
	if _, err := exec.LookPath(o.dig); err != nil {
		return nil, fmt.Errorf("baseline: %w (bench/verify.sh installs bind9-dnsutils)", err)
	}
	every := 1
	if o.digSample > 0 && o.digSample < len(fs) {
		every = len(fs) / o.digSample
	}
	b := &baseline{perClass: map[resolvertest.Behavior]time.Duration{}}
	classSize := map[resolvertest.Behavior]int{}
	classRan := map[resolvertest.Behavior]int{}
	before := tree.Queries()
	for _, f := range fs {
		classSize[f.behavior]++
		if (classSize[f.behavior]-1)%every != 0 {
			continue
		}
		cmd := exec.CommandContext(ctx, o.dig, "+norec", "+time=1", "+tries=1",
			"-p", strconv.Itoa(int(tree.Port)), "@"+f.addr.String(), f.zone, "SOA")
		start := time.Now()
		err := cmd.Run()
		d := time.Since(start)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			return nil, fmt.Errorf("baseline: %w", err)
		}
		b.ran++
		b.measured += d
		b.perClass[f.behavior] += d
		classRan[f.behavior]++
	}
	b.queries = tree.Queries() - before
	for c, n := range classRan {
		b.total += b.perClass[c] / time.Duration(n) * time.Duration(classSize[c])
		b.perClass[c] /= time.Duration(n)
	}
	return b, nil
}

func report(w io.Writer, o options, n int, m *measurements, b *baseline) error {
	mb := func(x int64) string { return fmt.Sprintf("%.1f MB", float64(x)/(1<<20)) }
	ratio := func(a, b int64) string {
		if b == 0 {
			return "-"
		}
		return fmt.Sprintf("%.3f", float64(a)/float64(b))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "  %s\t%s\n", k, v) }
	fmt.Fprintln(tw, "\nverify run")
	row("wall time", m.wall.Round(time.Millisecond).String())
	row("findings probed / stale / skipped", fmt.Sprintf("%d / %d / %d", m.stats.Probed, m.stats.Stale, m.stats.Skipped))
	statuses := map[string]int{}
	for s, n := range m.stats.Statuses {
		statuses[s.String()] = n
	}
	row("statuses", fmtMap(statuses))
	row("round reasons", fmtMap(m.reasons))
	row("queries sent (Resolver.Stats)", strconv.FormatInt(m.packets, 10))
	row("queries received (servers' counters)", fmt.Sprintf("%d (root+TLD %d)", m.serverTotal, m.rootTLD))
	row("queries per finding, all traffic", ratio(m.packets, int64(n)))
	row("queries per answering finding, probe rounds", fmt.Sprintf("%s (%d findings)", ratio(m.probeAnswer, int64(m.answering)), m.answering))
	row("queries per answering finding, all received by their addresses", ratio(m.serverAnswer, int64(m.findingsAt[true])))
	row("queries per silent finding, probe rounds", ratio(m.silentPkts, int64(n-m.answering)))
	row("max packets in one round", strconv.Itoa(m.maxPackets))
	row("peak in flight per address (client / server side)", fmt.Sprintf("%d / %d", m.peakClient, m.peakServer))
	row("peak queries in any 1 s (limit)", fmt.Sprintf("%d (%g)", m.peakRate, o.qps))
	row("RSS before run / peak during run (whole process, servers included)", mb(m.rssBefore)+" / "+mb(m.rssPeak))
	if b != nil {
		fmt.Fprintf(tw, "\ndig baseline (%s)\n", sampleText(o.digSample, n))
		row("dig runs measured", fmt.Sprintf("%d in %s (%d queries received)", b.ran, b.measured.Round(time.Millisecond), b.queries))
		for _, c := range []resolvertest.Behavior{resolvertest.Authoritative, resolvertest.Refused, resolvertest.UpwardReferral, resolvertest.Silent} {
			if d, ok := b.perClass[c]; ok {
				row("mean per dig, "+c.String(), d.Round(100*time.Microsecond).String())
			}
		}
		row("wall time for all findings", b.total.Round(time.Millisecond).String())
		row("speed-up (baseline / verify)", fmt.Sprintf("%.1fx", b.total.Seconds()/m.wall.Seconds()))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(w, "\ntargets")
	polite := true
	check := func(name string, ok bool, got string) {
		verdict := "MET"
		if !ok {
			verdict = "MISSED"
		}
		fmt.Fprintf(w, "  %-6s  %s: %s\n", verdict, name, got)
	}
	if b != nil {
		check(fmt.Sprintf("faster than dig by >= %dx", minSpeedup), b.total.Seconds() >= minSpeedup*m.wall.Seconds(),
			fmt.Sprintf("%.1fx", b.total.Seconds()/m.wall.Seconds()))
	} else {
		fmt.Fprintf(w, "  %-6s  faster than dig by >= %dx: baseline not run (-dig \"\")\n", "-", minSpeedup)
	}
	qa := float64(m.serverAnswer) / float64(m.findingsAt[true])
	check(fmt.Sprintf("<= %.1f queries per answering finding", maxQueriesAnswered), qa <= maxQueriesAnswered, fmt.Sprintf("%.3f", qa))
	check("RSS <= 100 MB", m.rssPeak > 0 && m.rssPeak <= maxRSSBytes, mb(m.rssPeak))
	ok := m.peakClient == 1 && m.peakServer == 1
	polite = polite && ok
	check("one query in flight per address", ok, fmt.Sprintf("%d / %d", m.peakClient, m.peakServer))
	ok = m.maxPackets <= maxProbePackets
	polite = polite && ok
	check(fmt.Sprintf("<= %d packets per round", maxProbePackets), ok, strconv.Itoa(m.maxPackets))
	// The 100 ms sampling may straddle one limiter token.
	ok = float64(m.peakRate) <= o.qps*1.05+1
	polite = polite && ok
	check("global rate limit", ok, fmt.Sprintf("%d queries in the busiest second, limit %g/s", m.peakRate, o.qps))
	ok = m.rounds == n && m.stats.Probed == n
	polite = polite && ok
	check("one round per finding (min interval between rounds)", ok, fmt.Sprintf("%d rounds for %d findings", m.rounds, n))
	if !polite {
		return errors.New("a politeness limit was broken")
	}
	return nil
}

func fmtMap(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
