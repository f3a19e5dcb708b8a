package schedule

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lamers-dev/lamers/store"
	"github.com/lamers-dev/lamers/store/storetest"
)

// recorder is the work of the test steps: it notes when each step ran
// (minutes since the bubble's start) and fails the steps named in fail.
type recorder struct {
	t0   time.Time
	mu   sync.Mutex
	runs []string
	fail map[string]bool
}

func newRecorder() *recorder { return &recorder{t0: time.Now(), fail: map[string]bool{}} }

func (r *recorder) step(name string, every time.Duration) Step {
	return Step{Name: name, Every: every, Run: func(ctx context.Context) (Outcome, error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.runs = append(r.runs, fmt.Sprintf("%s@%v", name, time.Since(r.t0)))
		if r.fail[name] {
			return Outcome{slog.Int("probed", 0)}, fmt.Errorf("%s: store: database disk image is malformed", name)
		}
		return Outcome{slog.Int("probed", 3)}, nil
	}}
}

func (r *recorder) setFail(name string, fail bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail[name] = fail
}

// take returns the runs so far and forgets them.
func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.runs
	r.runs = nil
	return out
}

// start starts a scheduler of verify (hourly) and notify (daily) on db,
// and lets it run what is due.
func start(t *testing.T, db *store.DB, rec *recorder, log *bytes.Buffer) *Scheduler {
	t.Helper()
	s := New(db, []Step{rec.step("verify", time.Hour), rec.step("notify", 24*time.Hour)},
		Options{Holder: "resolver1:100", Log: slog.New(slog.NewTextHandler(log, nil))})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	synctest.Wait()
	return s
}

func stop(t *testing.T, s *Scheduler) {
	t.Helper()
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// Due steps run in order, each again its interval after its last start;
// stopped and started again, the scheduler neither runs a step early nor
// skips one: the database holds the schedule.
func TestScheduleSurvivesRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := storetest.Open(t)
		rec := newRecorder()
		var log bytes.Buffer
		s := start(t, db, rec, &log)
		if d := cmp.Diff([]string{"verify@0s", "notify@0s"}, rec.take()); d != "" {
			t.Fatalf("first start (-want +got):\n%s", d)
		}
		time.Sleep(90 * time.Minute)
		synctest.Wait()
		if d := cmp.Diff([]string{"verify@1h0m0s"}, rec.take()); d != "" {
			t.Fatalf("after 90 minutes (-want +got):\n%s", d)
		}
		stop(t, s)

		// Down from 1:30 to 2:40: verify, due at 2:00, runs at the restart
		// (not skipped); notify, due tomorrow, does not run (not early).
		time.Sleep(70 * time.Minute)
		s = start(t, db, rec, &log)
		defer stop(t, s)
		if d := cmp.Diff([]string{"verify@2h40m0s"}, rec.take()); d != "" {
			t.Fatalf("restart at 2:40 (-want +got):\n%s", d)
		}
		time.Sleep(22 * time.Hour)
		synctest.Wait()
		var want []string
		for h := 3; h <= 24; h++ {
			if h == 24 {
				want = append(want, "notify@24h0m0s")
			}
			want = append(want, fmt.Sprintf("verify@%dh40m0s", h))
		}
		if d := cmp.Diff(want, rec.take()); d != "" {
			t.Errorf("the next 22 hours: verify hourly from 3:40, notify at 24:00 (-want +got):\n%s", d)
		}
		if !strings.Contains(log.String(), `level=INFO msg=step step=verify result=ok duration=0s probed=3`) {
			t.Errorf("no log line for a run:\n%s", log.String())
		}
	})
}

// A failing step is logged and tried again at its next schedule, not
// before; the other steps run as if nothing happened.
func TestScheduleFailingStep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := storetest.Open(t)
		rec := newRecorder()
		rec.setFail("verify", true)
		var log bytes.Buffer
		s := start(t, db, rec, &log)
		defer stop(t, s)
		if d := cmp.Diff([]string{"verify@0s", "notify@0s"}, rec.take()); d != "" {
			t.Fatalf("first pass (-want +got):\n%s", d)
		}
		if !strings.Contains(log.String(), `level=ERROR msg=step step=verify result=failed duration=0s probed=0 err="verify: store: database disk image is malformed"`) {
			t.Errorf("the failure is not logged in one line:\n%s", log.String())
		}
		time.Sleep(59 * time.Minute)
		synctest.Wait()
		if got := rec.take(); len(got) != 0 {
			t.Fatalf("a failed step ran again before its schedule: %q", got)
		}
		rec.setFail("verify", false)
		time.Sleep(time.Minute)
		synctest.Wait()
		if d := cmp.Diff([]string{"verify@1h0m0s"}, rec.take()); d != "" {
			t.Fatalf("at the next schedule (-want +got):\n%s", d)
		}
		runs, err := db.StepRuns(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) != 2 || runs[1].Name != "verify" || runs[1].Err != "" || !runs[1].LastSuccess.Equal(rec.t0.Add(time.Hour)) {
			t.Errorf("runs = %+v", runs)
		}
	})
}

// Close cancels the step in flight: it is abandoned, its claim put back,
// and the step is due at once when the scheduler starts again.
func TestScheduleAbandon(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := storetest.Open(t)
		var log bytes.Buffer
		started := make(chan struct{})
		var results []Result
		block := Step{Name: "verify", Every: time.Hour, Run: func(ctx context.Context) (Outcome, error) {
			close(started)
			<-ctx.Done()
			return Outcome{slog.Int("probed", 1)}, fmt.Errorf("verify: %w", ctx.Err())
		}}
		s := New(db, []Step{block}, Options{Log: slog.New(slog.NewTextHandler(&log, nil)),
			OnResult: func(r Result) { results = append(results, r) }})
		if err := s.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		<-started
		time.Sleep(10 * time.Minute)
		stop(t, s)
		if len(results) != 1 || !results[0].Abandoned || results[0].Name() != ResultAbandoned || results[0].Duration != 10*time.Minute {
			t.Fatalf("results = %+v, want one abandoned after 10 minutes", results)
		}
		if !strings.Contains(log.String(), "level=WARN msg=step step=verify result=abandoned duration=10m0s probed=1") {
			t.Errorf("no abandoned line:\n%s", log.String())
		}
		if runs, err := db.StepRuns(context.Background()); err != nil || len(runs) != 0 {
			t.Errorf("runs after the abandon = %+v, %v; want none", runs, err)
		}
	})
}

// SetSteps wakes the loop: a step added later runs at once.
func TestScheduleSetSteps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := storetest.Open(t)
		rec := newRecorder()
		s := New(db, []Step{rec.step("verify", time.Hour)}, Options{})
		if err := s.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer stop(t, s)
		synctest.Wait()
		time.Sleep(5 * time.Minute)
		if err := s.SetSteps([]Step{rec.step("verify", 30*time.Minute), rec.step("digest", 336*time.Hour)}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		time.Sleep(25 * time.Minute)
		synctest.Wait()
		if d := cmp.Diff([]string{"verify@0s", "digest@5m0s", "verify@30m0s"}, rec.take()); d != "" {
			t.Errorf("runs (-want +got):\n%s", d)
		}
		if err := s.SetSteps([]Step{rec.step("scan", 0)}); err == nil {
			t.Error("SetSteps took a step without an interval for the loop")
		}
	})
}

// RunDue runs what is due once; a step another process ran lately is not
// due; a step whose claim fails counts as failed.
func TestRunDue(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	now := time.Date(2026, 11, 22, 3, 15, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	rec := &recorder{t0: time.Now(), fail: map[string]bool{"notify": true}}
	steps := []Step{rec.step("scan", 0), rec.step("verify", time.Hour), rec.step("notify", 24*time.Hour)}
	s := New(db, steps, Options{Holder: "cron:1", Clock: clock})
	names := func(rs []Result) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Step+":"+r.Name())
		}
		return out
	}
	if d := cmp.Diff([]string{"scan:ok", "verify:ok", "notify:failed"}, names(s.RunDue(ctx))); d != "" {
		t.Errorf("first cron run (-want +got):\n%s", d)
	}
	now = now.Add(15 * time.Minute)
	if d := cmp.Diff([]string{"scan:ok"}, names(s.RunDue(ctx))); d != "" {
		t.Errorf("15 minutes later (-want +got):\n%s", d)
	}
	now = now.Add(45 * time.Minute)
	if d := cmp.Diff([]string{"scan:ok", "verify:ok"}, names(s.RunDue(ctx))); d != "" {
		t.Errorf("an hour after the first (-want +got):\n%s", d)
	}
	db.Close(ctx) // every claim fails now: each step fails, none stops the others
	rs := s.RunDue(ctx)
	if d := cmp.Diff([]string{"scan:failed", "verify:failed", "notify:failed"}, names(rs)); d != "" {
		t.Errorf("on a closed database (-want +got):\n%s", d)
	}
	if !strings.Contains(errString(rs[1].Err), "schedule: verify: store: claim step verify") {
		t.Errorf("error %v, want the claim's", rs[1].Err)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestCheckSteps(t *testing.T) {
	run := func(context.Context) (Outcome, error) { return nil, nil }
	for _, c := range []struct {
		steps []Step
		loop  bool
		want  string
	}{
		{[]Step{{Name: "", Every: time.Hour, Run: run}}, false, `step "": no name or no work`},
		{[]Step{{Name: "verify", Every: time.Hour}}, false, `step "verify": no name or no work`},
		{[]Step{{Name: "verify", Every: time.Hour, Run: run}, {Name: "verify", Every: time.Hour, Run: run}}, false, "step verify given twice"},
		{[]Step{{Name: "verify", Every: -time.Hour, Run: run}}, false, "interval -1h0m0s is not positive"},
		{[]Step{{Name: "scan", Run: run}}, true, "interval 0s is not positive"},
		{[]Step{{Name: "scan", Run: run}}, false, ""},
	} {
		if got := errString(checkSteps(c.steps, c.loop)); !strings.Contains(got, c.want) || (c.want == "") != (got == "") {
			t.Errorf("checkSteps(%+v, %v) = %q, want %q", c.steps, c.loop, got, c.want)
		}
	}
	if err := New(nil, []Step{{Name: "scan", Run: run}}, Options{}).Start(context.Background()); err == nil {
		t.Error("Start took a step without an interval")
	}
}
