package schedule

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lamers-dev/lamers/store"
	"github.com/lamers-dev/lamers/store/storetest"
)

// processes is a process table of the test: the PIDs that exist.
type processes map[int]bool

func (p processes) exists(pid int) bool { return p[pid] }

// Whose claim is gone, for a scheduler on resolver1 with PID 100, where
// PIDs 100 and 200 exist.
func TestHolderGone(t *testing.T) {
	gone := HolderGone("resolver1:100", processes{100: true, 200: true}.exists)
	t0 := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name   string
		holder string
		age    time.Duration
		want   bool
	}{
		{"a process of this host that runs", "resolver1:200", time.Minute, false},
		{"a process of this host that runs, for hours", "resolver1:200", 11 * time.Hour, false},
		{"a process of this host that was killed", "resolver1:300", time.Minute, true},
		{"this PID before: a restarted container's PID 1", "resolver1:100", time.Minute, true},
		{"another host, lately", "resolver2:300", time.Hour, false},
		{"another host, StaleClaim ago", "resolver2:300", StaleClaim, true},
		{"a PID of this host reused since, StaleClaim ago", "resolver1:200", StaleClaim, true},
		{"no host and PID", "cron", time.Hour, false},
		{"a PID that is not one", "resolver1:-1", time.Hour, false},
		{"no PID", "resolver1:", time.Hour, false},
	} {
		r := store.StepRun{Name: "verify", StartedAt: t0, Holder: c.holder}
		if got := gone(r, t0.Add(c.age)); got != c.want {
			t.Errorf("%s: gone(%s, started %v ago) = %v, want %v", c.name, c.holder, c.age, got, c.want)
		}
	}
	// A scheduler without a holder of host:pid looks at no process.
	if HolderGone("", processes{}.exists)(store.StepRun{StartedAt: t0, Holder: ":300"}, t0.Add(time.Minute)) {
		t.Error("a scheduler without a host took over the claim of :300")
	}
}

// ProcessExists on this process and on a child that has exited and been
// waited for.
func TestProcessExists(t *testing.T) {
	if !ProcessExists(os.Getpid()) {
		t.Errorf("ProcessExists(%d), this process, = false", os.Getpid())
	}
	cmd := exec.Command("sh", "-c", "exit 0")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if pid := cmd.Process.Pid; ProcessExists(pid) {
		t.Errorf("ProcessExists(%d), a child that exited, = true", pid)
	}
}

// A step that another process runs is not run again while it runs, even
// past its interval (a verify that outlasts verify_every, daemon and cron
// on one database); the other run is recorded as it ends, and the step is
// due again an interval after that run's start.
func TestScheduleStepRunningElsewhere(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := storetest.Open(t)
		procs := processes{100: true, 200: true}
		release := make(chan struct{})
		var first []Result
		// A's interval is two hours, B's one: A is not due again when its
		// run ends at 1:30:30, B is.
		slow := Step{Name: "verify", Every: 2 * time.Hour, Run: func(ctx context.Context) (Outcome, error) {
			<-release
			return Outcome{slog.Int("probed", 40)}, nil
		}}
		a := New(db, []Step{slow}, Options{Holder: "resolver1:100", Gone: HolderGone("resolver1:100", procs.exists),
			OnResult: func(r Result) { first = append(first, r) }})
		if err := a.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer stop(t, a)
		synctest.Wait()

		rec := newRecorder()
		var log bytes.Buffer
		b := New(db, []Step{rec.step("verify", time.Hour)}, Options{Holder: "resolver1:200",
			Gone: HolderGone("resolver1:200", procs.exists), Log: slog.New(slog.NewTextHandler(&log, nil))})
		if err := b.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer stop(t, b)
		free := sync.OnceFunc(func() { close(release) })
		defer free() // before the stops, when the test fails early
		time.Sleep(90*time.Minute + 30*time.Second)
		synctest.Wait()
		if got := rec.take(); len(got) != 0 {
			t.Fatalf("a step that another process runs ran again: %q", got)
		}
		free()
		synctest.Wait()
		if len(first) != 1 || first[0].Err != nil {
			t.Fatalf("the first run = %+v, want recorded without error", first)
		}
		// B looks again within a minute: verify, due since 1:00, runs.
		time.Sleep(time.Minute)
		synctest.Wait()
		if d := cmp.Diff([]string{"verify@1h31m0s"}, rec.take()); d != "" {
			t.Errorf("after the other run ended (-want +got):\n%s", d)
		}
		if strings.Contains(log.String(), "level=ERROR") {
			t.Errorf("errors logged:\n%s", log.String())
		}
	})
}

// `run --once` (RunDue) while another pass runs a step: the step due at
// every pass (the scan) is skipped, not failed, and the other pass
// records it.
func TestRunDueStepRunningElsewhere(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	procs := processes{100: true, 200: true}
	started, release := make(chan struct{}), make(chan struct{})
	slow := Step{Name: "scan", Run: func(ctx context.Context) (Outcome, error) {
		close(started)
		<-release
		return nil, nil
	}}
	done := make(chan []Result)
	go func() {
		done <- New(db, []Step{slow}, Options{Holder: "cron:100", Gone: HolderGone("cron:100", procs.exists)}).RunDue(ctx)
	}()
	<-started
	rec := newRecorder()
	var log bytes.Buffer
	second := New(db, []Step{rec.step("scan", 0), rec.step("verify", time.Hour)}, Options{Holder: "cron:200",
		Gone: HolderGone("cron:200", procs.exists), Log: slog.New(slog.NewTextHandler(&log, nil))})
	rs := second.RunDue(ctx)
	close(release)
	first := <-done
	if len(rs) != 1 || rs[0].Step != "verify" || rs[0].Err != nil {
		t.Errorf("the second pass = %+v, want verify alone, ok", rs)
	}
	if len(first) != 1 || first[0].Err != nil {
		t.Errorf("the first pass = %+v, want its scan recorded without error", first)
	}
	if !strings.Contains(log.String(), "level=INFO msg=\"schedule: step runs in another process\" step=scan holder=cron:100") {
		t.Errorf("no line for the skipped step:\n%s", log.String())
	}
}

// A step whose last run's process was killed during it (SIGKILL, the OOM
// killer) runs at once when its holder was on this host, and StaleClaim
// after that run's start when it was on another host — not an interval
// (14 days for the digest) after.
func TestScheduleHolderKilled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		db := storetest.Open(t)
		for _, h := range []struct{ step, holder string }{{"digest", "resolver1:300"}, {"notify", "resolver2:300"}} {
			if _, ok, err := db.ClaimStep(ctx, h.step, h.holder, time.Now(), time.Hour, nil); err != nil || !ok {
				t.Fatal(ok, err)
			}
		}
		rec := newRecorder()
		s := New(db, []Step{rec.step("digest", 336*time.Hour), rec.step("notify", 24*time.Hour)},
			Options{Holder: "resolver1:100", Gone: HolderGone("resolver1:100", processes{100: true}.exists)})
		if err := s.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer stop(t, s)
		time.Sleep(StaleClaim + time.Minute)
		synctest.Wait()
		if d := cmp.Diff([]string{"digest@0s", fmt.Sprintf("notify@%v", StaleClaim)}, rec.take()); d != "" {
			t.Errorf("runs (-want +got):\n%s", d)
		}
	})
}
