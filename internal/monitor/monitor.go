// Package monitor serves the health and the metrics of `lamers run` over
// HTTP: GET /healthz answers 200 while every followed source can be read
// and its tailer keeps up, and the database takes writes, and 503 with a
// short reason otherwise; GET /metrics answers in the Prometheus text
// exposition format (https://prometheus.io/docs/instrumenting/exposition_formats/),
// with names following the Prometheus naming rules (metrics.go).
//
// Nothing a request reads is computed by the request. A sampler (Sample,
// every Options.Interval) looks at each source — its file, and the
// checkpoint the tailer committed for it — and writes a heartbeat row to
// prove the database takes writes; after each scheduled step, and about
// once a minute, it reads the tables' aggregates (store.DB.Summary: one
// scan of the findings table). A scrape only reads those values, so
// /metrics costs the same with a million findings as with ten.
//
// Departures: the tail lag is measured from outside the tailer, from the
// file and the checkpoints in the database: it is the time a source's
// checkpoint has not moved while complete lines wait after it, as seen by
// the sampler (so it rises in steps of Options.Interval), not the age of
// the oldest line waiting, which no file records. A last line without its
// newline is not waiting: neither tail nor scan reads it before it ends.
package monitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lamers-dev/lamers/parser/ingest"
	"github.com/lamers-dev/lamers/store"
)

// Store is what the monitor reads and writes. Heartbeat must be a real
// write transaction; Summary counts the rounds and bounces after since
// (none for a negative ID).
type Store interface {
	CheckpointsByInode(ctx context.Context, dev, inode uint64) ([]store.Checkpoint, error)
	Heartbeat(ctx context.Context, name string, at time.Time) error
	Summary(ctx context.Context, since store.Since) (store.Summary, error)
	StepRuns(ctx context.Context) ([]store.StepRun, error)
}

var _ Store = (*store.DB)(nil)

// Options configures a Monitor. Start from DefaultOptions: an Interval of 0
// disables the sampling loop (tests call Sample).
type Options struct {
	// Listen is the address served, host:port; "" serves nothing (the
	// sampler still runs for the metrics' sake only if Interval > 0).
	Listen string
	// Sources are the followed paths.
	Sources []string
	// Interval is how often the sources and the database are sampled.
	Interval time.Duration
	// RefreshEvery is the least time between two reads of the tables'
	// summary besides those after steps; a read is also spaced by at
	// least 100 times its own last duration (1 % of one core at most).
	RefreshEvery time.Duration
	// StuckAfter: a source whose checkpoint has not moved for this long
	// while lines wait, or a database write that has waited this long,
	// makes the process unhealthy.
	StuckAfter time.Duration
	// Heartbeat is the name of this process's heartbeat row.
	Heartbeat string
	// Log receives the sampler's problems (nil: discarded).
	Log *slog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// DefaultOptions returns the options `lamers run` uses.
func DefaultOptions() Options {
	return Options{
		Interval:     10 * time.Second,
		RefreshEvery: time.Minute,
		StuckAfter:   2 * time.Minute,
		Heartbeat:    "run",
	}
}

// Monitor samples the sources and the database and serves /healthz and
// /metrics.
type Monitor struct {
	st   Store
	opts Options
	log  *slog.Logger
	m    *metrics

	mu          sync.Mutex
	sources     []*source
	sampled     bool      // a first sample was taken
	writeErr    error     // of the last heartbeat
	writeSince  time.Time // start of the heartbeat in progress, zero if none
	lastWrite   time.Time // end of the last heartbeat that succeeded
	dirty       bool      // a step finished since the last summary
	lastSummary time.Time
	summaryCost time.Duration
	since       store.Since // where the next summary's counts start; -1 until the first
	summaryErr  error

	sampleMu sync.Mutex // one Sample at a time

	ln     net.Listener
	srv    *http.Server
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New returns a Monitor of opts.Sources on st; Start starts it.
func New(st Store, opts Options) *Monitor {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Heartbeat == "" {
		opts.Heartbeat = "run"
	}
	mon := &Monitor{st: st, opts: opts, log: opts.Log, m: newMetrics(), since: store.Since{Round: -1, Bounce: -1}}
	if mon.log == nil {
		mon.log = slog.New(slog.DiscardHandler)
	}
	mon.SetSources(opts.Sources)
	return mon
}

// Handler returns the handler of /healthz and /metrics.
func (mon *Monitor) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", mon.serveHealth)
	// A collector that fails (the process metrics where /proc/stat is
	// hidden) is logged; the others are still served.
	mux.Handle("GET /metrics", promhttp.HandlerFor(mon.m.reg, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(mon.log.Handler(), slog.LevelError), ErrorHandling: promhttp.ContinueOnError}))
	return mux
}

// Start listens on opts.Listen (an address in use fails here), takes a
// first sample, and serves and samples until Close. ctx only carries
// values and bounds the first sample.
func (mon *Monitor) Start(ctx context.Context) error {
	if mon.opts.Listen != "" {
		ln, err := net.Listen("tcp", mon.opts.Listen)
		if err != nil {
			return fmt.Errorf("monitor: %w", err)
		}
		mon.ln = ln
	}
	mon.Sample(ctx)
	loopCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	mon.cancel = cancel
	if mon.ln != nil {
		mon.srv = &http.Server{Handler: mon.Handler(), ReadHeaderTimeout: 10 * time.Second,
			ErrorLog: slog.NewLogLogger(mon.log.Handler(), slog.LevelWarn)}
		mon.wg.Go(func() {
			if err := mon.srv.Serve(mon.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				mon.log.Error("monitor: serve", logKeyErr, err)
			}
		})
	}
	if mon.opts.Interval > 0 {
		mon.wg.Go(func() {
			t := time.NewTicker(mon.opts.Interval)
			defer t.Stop()
			for {
				select {
				case <-loopCtx.Done():
					return
				case <-t.C:
					mon.Sample(loopCtx)
				}
			}
		})
	}
	return nil
}

// Addr returns the address served ("" when none).
func (mon *Monitor) Addr() string {
	if mon.ln == nil {
		return ""
	}
	return mon.ln.Addr().String()
}

// Close stops sampling and serving; requests in flight finish within ctx.
func (mon *Monitor) Close(ctx context.Context) error {
	if mon.cancel != nil {
		mon.cancel()
	}
	var err error
	if mon.srv != nil {
		if serr := mon.srv.Shutdown(ctx); serr != nil {
			err = fmt.Errorf("monitor: close: %w", serr)
		}
	} else if mon.ln != nil {
		mon.ln.Close()
	}
	mon.wg.Wait()
	return err
}

// slog attribute keys.
const (
	logKeyErr    = "err"
	logKeySource = "source"
)

// SetSources replaces the followed paths (a configuration reread on
// SIGHUP). The state and series of the paths kept are kept.
func (mon *Monitor) SetSources(paths []string) {
	mon.mu.Lock()
	defer mon.mu.Unlock()
	var next []*source
	for _, p := range paths {
		p = filepath.Clean(p)
		i := slices.IndexFunc(mon.sources, func(s *source) bool { return s.path == p })
		if i >= 0 {
			next = append(next, mon.sources[i])
			continue
		}
		next = append(next, &source{path: p, problem: "not checked yet"})
		mon.m.addSource(p)
	}
	for _, s := range mon.sources {
		if !slices.ContainsFunc(next, func(n *source) bool { return n == s }) {
			mon.m.removeSource(s.path)
		}
	}
	mon.sources = next
}

// TailCommitted counts one commit of the tailer: path is the source's, or
// one of its rotated files'. newFindings are findings the commit created,
// all of status new until the next summary.
func (mon *Monitor) TailCommitted(path string, lines, recognised, unrecognised int64, newFindings int) {
	label := mon.sourceOf(path)
	mon.m.linesRead.WithLabelValues(label).Add(float64(lines))
	mon.m.linesRecognised.WithLabelValues(label).Add(float64(recognised))
	mon.m.linesUnrecognised.WithLabelValues(label).Add(float64(unrecognised))
	if newFindings > 0 {
		mon.m.findings.WithLabelValues(store.StatusNew.String()).Add(float64(newFindings))
	}
}

// sourceOf returns the followed path that path is, or is a rotated file of
// (ingest.IsGeneration); else path itself.
func (mon *Monitor) sourceOf(path string) string {
	path = filepath.Clean(path)
	mon.mu.Lock()
	defer mon.mu.Unlock()
	for _, s := range mon.sources {
		if s.path == path {
			return s.path
		}
	}
	for _, s := range mon.sources {
		if ingest.IsGeneration(s.path, path) {
			return s.path
		}
	}
	return path
}

// StepFinished records one run of a scheduled step; the next sample reads
// the tables' summary again.
func (mon *Monitor) StepFinished(step, result string, started time.Time, d time.Duration) {
	mon.m.stepDuration.WithLabelValues(step).Observe(d.Seconds())
	mon.m.stepRuns.WithLabelValues(step, result).Inc()
	if result == "ok" {
		mon.m.stepLastSuccess.WithLabelValues(step).Set(float64(started.Add(d).UnixNano()) / 1e9)
	}
	mon.mu.Lock()
	mon.dirty = true
	mon.mu.Unlock()
}

// Sample checks every source and the database's writes now, and reads the
// tables' summary when a step finished since the last one or it is due.
func (mon *Monitor) Sample(ctx context.Context) {
	mon.sampleMu.Lock()
	defer mon.sampleMu.Unlock()
	mon.mu.Lock()
	srcs := slices.Clone(mon.sources)
	mon.mu.Unlock()
	for _, s := range srcs {
		mon.checkSource(ctx, s)
	}
	mon.heartbeat(ctx)
	mon.mu.Lock()
	due := mon.dirty || mon.lastSummary.IsZero() ||
		mon.opts.Now().Sub(mon.lastSummary) >= max(mon.opts.RefreshEvery, 100*mon.summaryCost)
	mon.sampled = true
	mon.mu.Unlock()
	if due {
		mon.summary(ctx)
	}
}

// heartbeat writes the heartbeat row and notes how it went.
func (mon *Monitor) heartbeat(ctx context.Context) {
	start := mon.opts.Now()
	mon.mu.Lock()
	mon.writeSince = start
	mon.mu.Unlock()
	err := mon.st.Heartbeat(ctx, mon.opts.Heartbeat, start)
	mon.mu.Lock()
	defer mon.mu.Unlock()
	mon.writeSince = time.Time{}
	if ctx.Err() != nil {
		return // stopping: not the database's fault
	}
	if err != nil && mon.writeErr == nil {
		mon.log.Error("monitor: the database does not take writes", logKeyErr, err)
	}
	mon.writeErr = err
	if err == nil {
		mon.lastWrite = mon.opts.Now()
		mon.m.dbWritable.Set(1)
	} else {
		mon.m.dbWritable.Set(0)
	}
}

// summary reads the tables' aggregates into the metrics.
func (mon *Monitor) summary(ctx context.Context) {
	mon.mu.Lock()
	since := mon.since
	mon.dirty = false
	mon.mu.Unlock()
	start := mon.opts.Now()
	s, err := mon.st.Summary(ctx, since)
	var runs []store.StepRun
	if err == nil {
		runs, err = mon.st.StepRuns(ctx)
	}
	cost := mon.opts.Now().Sub(start)
	mon.mu.Lock()
	defer mon.mu.Unlock()
	mon.lastSummary, mon.summaryCost = mon.opts.Now(), cost
	if err != nil {
		if ctx.Err() == nil && mon.summaryErr == nil {
			mon.log.Error("monitor: read the tables' summary", logKeyErr, err)
		}
		mon.summaryErr = err
		return
	}
	mon.summaryErr = nil
	// The first summary (since -1) counts no round or bounce: it sets
	// where the counters start, which count the rows recorded while this
	// process runs.
	mon.since = s.Next
	mon.m.setSummary(&s, runs)
	mon.m.summaryDuration.Set(cost.Seconds())
}
