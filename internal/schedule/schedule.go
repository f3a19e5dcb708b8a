// Package schedule runs the periodic steps of `lamers run` — verify,
// notify, the digest; in `run --once` also the scan of the sources — one at
// a time, each when it is due, and keeps when each step last ran in the
// database, so that a restart neither runs a step early again nor skips
// one, and a daemon and a cron `lamers run --once` on the same database
// share one schedule.
//
// A step is due its interval after its last start (store.StepRun.Due),
// whether that run succeeded or failed: a failed step is logged and tried
// again at its next schedule, and never stops the other steps. A run claims
// its step in the database before it starts (store.DB.ClaimStep), so two
// processes never run the same step at once: a step whose last run has not
// ended is not claimed, however long that run takes, unless the process
// that runs it is gone (HolderGone) — then it is due at once. A run that a
// stop ends before it completes (its context cancelled and an error
// returned) is abandoned: its claim is put back and the step stays due.
// Every run is logged in one line: the step, its result (ok, failed,
// abandoned), its duration, what the step reports of its work (Outcome)
// and its error.
//
// The loop (Start) waits for the next due time on a timer; tests run it
// inside testing/synctest, or call RunDue, which runs what is due once
// without a loop (what `run --once` does).
package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/lamers-dev/lamers/store"
)

// Store is what the scheduler needs from the database. ClaimStep must
// decide (store.StepRun.Claimable) and claim in one transaction (claimed
// false: not claimable, nothing written); FinishStep and AbandonStep must
// leave a row claimed by another run alone and say so with
// store.ErrStepLost.
type Store interface {
	ClaimStep(ctx context.Context, name, holder string, now time.Time, every time.Duration,
		gone store.HolderGone) (prev store.StepRun, claimed bool, err error)
	FinishStep(ctx context.Context, name string, started, finished time.Time, errText string) error
	AbandonStep(ctx context.Context, prev store.StepRun, started time.Time) error
	StepRuns(ctx context.Context) ([]store.StepRun, error)
}

var _ Store = (*store.DB)(nil)

// Step is one kind of periodic work.
type Step struct {
	// Name names the step in the database, the log and the metrics.
	Name string
	// Every is how long after its last start the step is due again. 0
	// makes it due at every pass: RunDue runs it each time, the loop
	// refuses it.
	Every time.Duration
	// Run does the work once. It returns what it did, for the log line,
	// also with an error. When ctx is cancelled it returns early with an
	// error, having stored nothing half done.
	Run func(ctx context.Context) (Outcome, error)
}

// Outcome is what one run of a step did, as attributes of its log line:
// keys are names (snake_case), values counts, durations or short text.
type Outcome []slog.Attr

// Result is one run of a step.
type Result struct {
	Step     string
	Started  time.Time
	Duration time.Duration
	Outcome  Outcome
	// Err is the step's error, or the database's when the run could not
	// be claimed or recorded; nil when it succeeded.
	Err error
	// Abandoned: a stop ended the run before it completed; it was not
	// recorded, and the step stays due.
	Abandoned bool
}

// Results of a run, as the log line names them.
const (
	ResultOK        = "ok"
	ResultFailed    = "failed"
	ResultAbandoned = "abandoned"
)

// Name returns the result's name: ResultOK, ResultFailed or
// ResultAbandoned.
func (r *Result) Name() string {
	switch {
	case r.Abandoned:
		return ResultAbandoned
	case r.Err != nil:
		return ResultFailed
	}
	return ResultOK
}

// slog attribute keys.
const (
	logKeyStep     = "step"
	logKeyResult   = "result"
	logKeyDuration = "duration"
	logKeyErr      = "err"
	logKeyNext     = "next"
	logKeyHolder   = "holder"
	logKeySince    = "since"
)

// Options configures a Scheduler.
type Options struct {
	// Holder names this process in the steps table: "host:pid". One
	// Scheduler runs per holder.
	Holder string
	// Gone tells whether the process holding a run that has not ended is
	// gone (nil: HolderGone(Holder, ProcessExists)).
	Gone store.HolderGone
	// Log receives one line per run (nil: discarded).
	Log *slog.Logger
	// OnResult, when set, is called after every run, from the goroutine
	// that ran it.
	OnResult func(Result)
	// Clock is the time of claims and durations (nil: time.Now). The loop
	// waits on real timers: tests of the loop run it in testing/synctest.
	Clock func() time.Time
	// Retry is how long the loop waits after the database failed to say
	// or claim what is due, and how often it looks whether a step that
	// another process runs has ended (0: one minute).
	Retry time.Duration
}

// Scheduler runs steps when they are due.
type Scheduler struct {
	st   Store
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	steps   []Step
	backoff map[string]time.Time // a step whose claim failed is not tried again before
	wake    chan struct{}
	cancel  context.CancelFunc
	done    chan struct{}
}

// New returns a Scheduler of steps, in the order they run when several are
// due.
func New(st Store, steps []Step, opts Options) *Scheduler {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Retry <= 0 {
		opts.Retry = time.Minute
	}
	if opts.Gone == nil {
		opts.Gone = HolderGone(opts.Holder, ProcessExists)
	}
	s := &Scheduler{st: st, opts: opts, log: opts.Log, steps: slices.Clone(steps), backoff: map[string]time.Time{},
		wake: make(chan struct{}, 1)}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// checkSteps refuses steps without a name, named twice, without work, or
// whose interval the loop cannot wait for (loop: Every must be positive).
func checkSteps(steps []Step, loop bool) error {
	seen := map[string]bool{}
	for _, st := range steps {
		switch {
		case st.Name == "" || st.Run == nil:
			return fmt.Errorf("schedule: step %q: no name or no work", st.Name)
		case seen[st.Name]:
			return fmt.Errorf("schedule: step %s given twice", st.Name)
		case st.Every < 0 || (loop && st.Every == 0):
			return fmt.Errorf("schedule: step %s: interval %v is not positive", st.Name, st.Every)
		}
		seen[st.Name] = true
	}
	return nil
}

// Start checks the steps and starts the loop, which runs each step when
// it is due until Close. ctx only carries values: Close stops the loop.
func (s *Scheduler) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done != nil {
		return errors.New("schedule: already started")
	}
	if err := checkSteps(s.steps, true); err != nil {
		return err
	}
	ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		s.loop(ctx)
	}()
	return nil
}

// SetSteps replaces the steps (a configuration reread on SIGHUP); the
// loop looks at what is due again. The step running now finishes first.
func (s *Scheduler) SetSteps(steps []Step) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := checkSteps(steps, s.done != nil); err != nil {
		return err
	}
	s.steps = slices.Clone(steps)
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

// Close stops the loop: the step running now sees its context cancelled,
// returns, and is recorded or abandoned; Close waits for that, or for ctx.
func (s *Scheduler) Close(ctx context.Context) error {
	s.mu.Lock()
	cancel, done := s.cancel, s.done
	s.mu.Unlock()
	if done == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("schedule: close: %w", ctx.Err())
	}
}

// RunDue runs, in order, every step that is due now, once, and returns
// their results (steps not due have none). It is `lamers run --once`, and
// what tests call instead of the loop.
func (s *Scheduler) RunDue(ctx context.Context) []Result {
	var out []Result
	for _, st := range s.current() {
		if ctx.Err() != nil {
			break
		}
		if r, ran := s.runOne(ctx, st); ran {
			out = append(out, r)
		}
	}
	return out
}

func (s *Scheduler) current() []Step {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.steps)
}

// loop runs the first due step, then looks again, until ctx ends; with
// nothing due it sleeps until the next due time, a SetSteps or ctx.
func (s *Scheduler) loop(ctx context.Context) {
	for ctx.Err() == nil {
		next, ran := s.pass(ctx)
		if ran {
			continue
		}
		wait := max(next.Sub(s.opts.Clock()), 0)
		s.log.Debug("schedule: waiting", logKeyNext, next.Round(time.Second))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-s.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// pass runs the first step that is due, in order, and reports whether it
// ran one; otherwise it returns when the next one is due.
func (s *Scheduler) pass(ctx context.Context) (next time.Time, ran bool) {
	now := s.opts.Clock()
	next = now.Add(s.opts.Retry)
	runs, err := s.st.StepRuns(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("schedule: read the last runs", logKeyErr, err)
		}
		return next, false
	}
	last := map[string]store.StepRun{}
	for _, r := range runs {
		last[r.Name] = r
	}
	for _, st := range s.current() {
		s.mu.Lock()
		after := s.backoff[st.Name]
		s.mu.Unlock()
		due, ok := last[st.Name].Claimable(st.Every, now, s.opts.Gone)
		if !ok {
			continue // another process runs it: look again at next
		}
		if after.After(due) {
			due = after
		}
		if due.After(now) {
			next = minTime(next, due)
			continue
		}
		if _, ran := s.runOne(ctx, st); ran {
			return now, true
		}
		// Not claimed: another process runs it, or ran it since the
		// runs were read. The next pass reads its new start.
		next = now
	}
	return next, false
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// runOne claims st and runs it; ran is false when it was not due after
// all. The run is recorded, or its claim put back when it was abandoned,
// even when ctx is done.
func (s *Scheduler) runOne(ctx context.Context, st Step) (r Result, ran bool) {
	start := s.opts.Clock()
	r = Result{Step: st.Name, Started: start}
	prev, claimed, err := s.st.ClaimStep(ctx, st.Name, s.opts.Holder, start, st.Every, s.opts.Gone)
	if err != nil {
		if ctx.Err() != nil {
			return r, false
		}
		s.mu.Lock()
		s.backoff[st.Name] = start.Add(s.opts.Retry)
		s.mu.Unlock()
		r.Err = fmt.Errorf("schedule: %s: %w", st.Name, err)
		s.finished(r)
		return r, true
	}
	if !claimed {
		if prev.Running() {
			s.log.Info("schedule: step runs in another process", logKeyStep, st.Name, logKeyHolder, prev.Holder,
				logKeySince, prev.StartedAt.Round(time.Second))
		}
		return r, false
	}
	s.mu.Lock()
	delete(s.backoff, st.Name)
	s.mu.Unlock()
	r.Outcome, r.Err = st.Run(ctx)
	end := s.opts.Clock()
	r.Duration = end.Sub(start)
	keep := context.WithoutCancel(ctx)
	if ctx.Err() != nil && r.Err != nil {
		r.Abandoned = true
		if err := s.st.AbandonStep(keep, prev, start); err != nil {
			s.log.Error("schedule: put back the claim of an abandoned step", logKeyStep, st.Name, logKeyErr, err)
		}
	} else {
		errText := ""
		if r.Err != nil {
			errText = r.Err.Error()
		}
		if err := s.st.FinishStep(keep, st.Name, start, end, errText); err != nil {
			r.Err = errors.Join(r.Err, fmt.Errorf("schedule: record %s: %w", st.Name, err))
		}
	}
	s.finished(r)
	return r, true
}

// finished logs r in one line and hands it to OnResult.
func (s *Scheduler) finished(r Result) {
	attrs := []slog.Attr{slog.String(logKeyStep, r.Step), slog.String(logKeyResult, r.Name()),
		slog.Duration(logKeyDuration, r.Duration.Round(time.Millisecond))}
	attrs = append(attrs, r.Outcome...)
	level := slog.LevelInfo
	switch {
	case r.Abandoned:
		level = slog.LevelWarn
		attrs = append(attrs, slog.String(logKeyErr, r.Err.Error()))
	case r.Err != nil:
		level = slog.LevelError
		attrs = append(attrs, slog.String(logKeyErr, r.Err.Error()))
	}
	s.log.LogAttrs(context.Background(), level, "step", attrs...)
	if s.opts.OnResult != nil {
		s.opts.OnResult(r)
	}
}
