package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/lamers-dev/lamers/internal/monitor"
	"github.com/lamers-dev/lamers/internal/schedule"
	"github.com/lamers-dev/lamers/parser/ingest"
	"github.com/lamers-dev/lamers/store"
)

// runCommand is `lamers run`.
type runCommand struct {
	once bool
	rf   resolverFlags
}

func (c *runCommand) doc() commandDoc {
	return commandDoc{
		name:     "run",
		synopsis: "the daemon: follow [[sources]], verify, notify and digest on schedule, serve /healthz and /metrics",
		help: `Follows the configuration's [[sources]] exactly as 'lamers tail' does (same
checkpoints, same rotation handling; it reads and commits every second
rather than as each line comes, which costs a fifth of the CPU) and runs
the scheduled steps one at a time on the same database: verify every run.verify_every (default 1h),
notify every run.notify_every (default 24h; a dry run that logs what it
would send unless notify.send = true), the digest every digest.interval
(default 336h: 'lamers digest' since the last digest sent, mailed to
digest.to when notify.send = true and digest.to is set, else a dry run that
logs what it would send), and prune (retention_days) daily. 0 leaves
verify, notify or the digest out. Each run of a step is logged in one line. When
each step last started is kept in the database: a restart neither runs a
step early again nor skips one, and a cron 'lamers run --once' on the same
database shares the schedule. A step that fails is logged and runs again at
its next schedule; it never stops the others.

/healthz and /metrics are served on run.listen (default 127.0.0.1:9716, ""
for none; a non-loopback address needs run.allow_non_loopback = true).
/healthz answers 200, or 503 with the reason: a source missing, unreadable
or stuck (lines waiting two minutes after its checkpoint), the database not
taking writes. /metrics is in the Prometheus text format.

SIGTERM or SIGINT abandons the step in flight at a safe point (a message
being handed to the relay is finished; a second signal cancels it),
commits what was read and exits 0, also while the daemon starts. SIGHUP
rereads the configuration and [[sources]] (one that comes while the daemon
starts, once it has started): a configuration with an error is not taken,
the old one keeps running and the log says why; db, log_level and
run.listen take effect at the next start.

--once runs one pass of everything that is due and exits, for cron: the
scan of every source's rotated files and live file from their checkpoints
(what 'lamers scan' would add), then verify, notify, the digest and prune
when due.
Exit status 0 when every step that ran succeeded, 2 when one failed (the
others still ran).`,
	}
}

func (c *runCommand) register(fs *flag.FlagSet) {
	fs.BoolVar(&c.once, "once", false, "run what is due once, then exit (for cron)")
	c.rf.register(fs)
}

func (c *runCommand) run(ctx context.Context, a *app, args []string) error {
	if len(args) > 0 {
		return usagef("run: unexpected argument %q", args[0])
	}
	if err := a.cfg.checkSendable(); err != nil {
		return err
	}
	sources, err := configSources(a.cfg)
	if err != nil {
		return err
	}
	var hup <-chan os.Signal
	if !c.once {
		// From here on a SIGHUP no longer ends the process: one that
		// comes while the daemon starts is taken once it has started.
		ch, stopHangups := notifyHangup()
		defer stopHangups()
		hup = ch
	}
	db, err := a.openStore(ctx)
	if err != nil {
		if !c.once && ctx.Err() != nil {
			a.log.Info("run: stopped while starting")
			return nil
		}
		return err
	}
	defer db.Close(context.WithoutCancel(ctx))
	r := &runner{a: a, rf: c.rf, db: db}
	if c.once {
		return r.once(ctx, sources)
	}
	return r.daemon(ctx, sources, hup)
}

// runTailInterval is how often the daemon's tailer reads each file to its
// end, looks at its path for a rotation, and commits. `tail` does this four
// to five times a second and has every line delivered as it is written
// (nxadm/tail); the daemon, whose steps run hourly, reads on its ticks
// alone (ingest.TailOptions.CatchUpOnly): a line is stored within about a
// second, at a fifth of the CPU (bench/README.md, "run").
const runTailInterval = time.Second

// runner runs the steps of `lamers run` on one database.
type runner struct {
	a  *app
	rf resolverFlags
	db *store.DB

	// the daemon's parts: the configuration they were built from
	cfg   Config
	tl    *ingest.Tailer
	sched *schedule.Scheduler
	mon   *monitor.Monitor // nil when run.listen is ""
}

// holder names this process in the steps table.
func holder() string {
	host, err := os.Hostname()
	if err != nil {
		host = "localhost"
	}
	return fmt.Sprintf("%s:%d", host, os.Getpid())
}

// once is `run --once`: every step due, once.
func (r *runner) once(ctx context.Context, sources []ingest.Source) error {
	sched := schedule.New(r.db, r.steps(r.a.cfg, sources, true), schedule.Options{Holder: holder(), Log: r.a.log})
	results := sched.RunDue(ctx)
	if cause := context.Cause(ctx); cause != nil {
		fmt.Fprintf(r.a.stderr, "lamers: run --once stopped early (%s): what the steps stored is kept; run it again to continue\n", cause)
		return nil
	}
	var failed []string
	for _, res := range results {
		if res.Err != nil {
			failed = append(failed, res.Step)
		}
	}
	if len(failed) > 0 {
		return &exitError{code: exitFailure, err: fmt.Errorf("run --once: %d of %d steps failed: %s (the log says why)",
			len(failed), len(results), strings.Join(failed, ", "))}
	}
	return nil
}

// daemon is `run`: the tailer, the scheduler and the monitor until the
// graceful stop; a signal on hup rereads the configuration. A stop while
// they start is a stop like any other, not an error.
func (r *runner) daemon(ctx context.Context, sources []ingest.Source, hup <-chan os.Signal) error {
	err := r.start(ctx, sources)
	if ctx.Err() != nil {
		r.a.log.Info("run: stopped while starting")
		return r.stop(ctx)
	}
	if err != nil {
		r.stop(ctx)
		return err
	}
	r.a.log.Info("run: started", logKeySources, len(sources), logKeyListen, r.addr(),
		logKeyVerifyEvery, time.Duration(r.cfg.Run.VerifyEvery), logKeyNotifyEvery, time.Duration(r.cfg.Run.NotifyEvery),
		logKeyDigestEvery, time.Duration(r.cfg.Digest.Interval), logKeySend, r.cfg.Notify.Send)
	if len(sources) == 0 {
		r.a.log.Warn("run: no [[sources]] in the configuration: nothing to follow")
	}
	for {
		select {
		case <-ctx.Done():
			return r.stop(ctx)
		case <-hup:
			if ctx.Err() == nil {
				r.reload(ctx)
			}
		}
	}
}

// addr is the address /healthz and /metrics are served on, "" for none.
func (r *runner) addr() string {
	if r.mon == nil {
		return ""
	}
	return r.mon.Addr()
}

// start starts the monitor (an address in use fails here, before anything
// runs), the tailer and the scheduler.
func (r *runner) start(ctx context.Context, sources []ingest.Source) error {
	r.cfg = r.a.cfg
	if r.cfg.Run.Listen != "" {
		opts := monitor.DefaultOptions()
		opts.Listen, opts.Sources, opts.Log = r.cfg.Run.Listen, sourcePaths(sources), r.a.log.With(logKeyComponent, "monitor")
		r.mon = monitor.New(r.db, opts)
		if err := r.mon.Start(ctx); err != nil {
			r.mon = nil
			return fmt.Errorf("run: run.listen: %w", err)
		}
	}
	tl, err := r.newTailer(ctx, r.a, sources)
	if err != nil {
		return err
	}
	r.tl = tl
	r.sched = schedule.New(r.db, r.steps(r.cfg, sources, false), schedule.Options{Holder: holder(), Log: r.a.log,
		OnResult: r.stepDone})
	return r.sched.Start(ctx)
}

// newTailer builds and starts the tailer of sources with a's [tail]
// settings; its commits count in the metrics.
func (r *runner) newTailer(ctx context.Context, a *app, sources []ingest.Source) (*ingest.Tailer, error) {
	opts, err := (&tailCommand{}).options(a)
	if err != nil {
		return nil, err
	}
	opts.FlushInterval, opts.CheckInterval, opts.CatchUpOnly = runTailInterval, runTailInterval, true
	if mon := r.mon; mon != nil {
		opts.OnCommit = func(c ingest.TailCommit) {
			mon.TailCommitted(c.Path, c.Stats.Lines, c.Stats.Recognised, c.Stats.Unrecognised, c.Stats.NewFindings)
		}
	}
	tl := ingest.NewTailer(r.db, sources, opts)
	if err := tl.Start(ctx); err != nil {
		tl.Close(ctx)
		return nil, err
	}
	return tl, nil
}

// stepDone hands a step's result to the metrics.
func (r *runner) stepDone(res schedule.Result) {
	if r.mon != nil {
		r.mon.StepFinished(res.Step, res.Name(), res.Started, res.Duration)
	}
}

// stop ends the daemon after the graceful stop: the step in flight is
// abandoned (or its message finished), the tailer makes its final commit,
// the monitor stops serving. Nothing holds the abort stage but a message
// in flight: a second signal otherwise exits at once.
func (r *runner) stop(ctx context.Context) error {
	keep := context.WithoutCancel(ctx)
	var errs []error
	if r.sched != nil {
		errs = append(errs, r.sched.Close(keep))
	}
	if r.tl != nil {
		if err := r.tl.Close(keep); err != nil {
			errs = append(errs, fmt.Errorf("run: final commit: %w", err))
		}
		st := r.tl.Stats()
		r.a.log.Info("run: stopped", logKeyLines, st.Lines, logKeyRecognised, st.Recognised,
			logKeyUnrecognised, st.Unrecognised, logKeyNewFindings, st.NewFindings)
	}
	if r.mon != nil {
		closeCtx, cancel := context.WithTimeout(keep, 5*time.Second)
		defer cancel()
		errs = append(errs, r.mon.Close(closeCtx))
	}
	return errors.Join(errs...)
}

// sourcePaths are the paths of sources.
func sourcePaths(sources []ingest.Source) []string {
	out := make([]string, len(sources))
	for i, s := range sources {
		out[i] = s.Path
	}
	return out
}
