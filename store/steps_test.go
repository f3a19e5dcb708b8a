package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// A step is claimed when due and only then; a finished run anchors the
// next due time at its start, also when it failed; a claim whose run was
// abandoned is put back; a run that lost its claim to another process
// cannot overwrite that process's row.
func TestStepSchedule(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	const every = time.Hour
	dead := map[string]bool{}
	gone := func(r StepRun, _ time.Time) bool { return dead[r.Holder] }
	claim := func(holder string, now time.Time) (StepRun, bool) {
		t.Helper()
		prev, ok, err := db.ClaimStep(ctx, "verify", holder, now, every, gone)
		if err != nil {
			t.Fatal(err)
		}
		return prev, ok
	}
	runs := func() []StepRun {
		t.Helper()
		rs, err := db.StepRuns(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}

	// Never run: due at once.
	prev, ok := claim("resolver1:100", at(1, 0))
	if !ok || prev != (StepRun{Name: "verify"}) {
		t.Fatalf("first claim = %+v, %v; want the empty run, claimed", prev, ok)
	}
	// While it runs, a second process finds it not due.
	if _, ok := claim("resolver1:200", at(1, 5)); ok {
		t.Fatal("a running step was claimed again")
	}
	if err := db.FinishStep(ctx, "verify", at(1, 0), at(1, 10), ""); err != nil {
		t.Fatal(err)
	}
	want := []StepRun{{Name: "verify", StartedAt: at(1, 0), FinishedAt: at(1, 10), LastSuccess: at(1, 10), Holder: "resolver1:100"}}
	if d := cmp.Diff(want, runs()); d != "" {
		t.Fatalf("after a successful run (-want +got):\n%s", d)
	}
	// Due an hour after its start, not after its end.
	if _, ok := claim("resolver1:200", at(1, 59)); ok {
		t.Fatal("claimed before the interval passed")
	}
	if _, ok := claim("resolver1:200", at(2, 0)); !ok {
		t.Fatal("not claimed once due")
	}
	if err := db.FinishStep(ctx, "verify", at(2, 0), at(2, 1), "verify: store: database is locked"); err != nil {
		t.Fatal(err)
	}
	want = []StepRun{{Name: "verify", StartedAt: at(2, 0), FinishedAt: at(2, 1), Err: "verify: store: database is locked",
		LastSuccess: at(1, 10), Holder: "resolver1:200"}}
	if d := cmp.Diff(want, runs()); d != "" {
		t.Fatalf("after a failed run (-want +got):\n%s", d)
	}
	// A failed run waits for its next schedule like any other.
	if _, ok := claim("resolver1:300", at(2, 30)); ok {
		t.Fatal("a failed step was claimed before its next schedule")
	}

	// Abandoned at a stop: the row is as it was, the step due again.
	prev, ok = claim("resolver1:300", at(3, 0))
	if !ok {
		t.Fatal("not claimed once due")
	}
	if err := db.AbandonStep(ctx, prev, at(3, 0)); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, runs()); d != "" {
		t.Fatalf("after an abandoned run (-want +got):\n%s", d)
	}
	// The process that claimed at 3:00 died; another claimed at 4:00. The
	// first one's end no longer applies.
	if _, ok := claim("resolver1:300", at(3, 0)); !ok {
		t.Fatal("not claimed again after the abandon")
	}
	dead["resolver1:300"] = true
	if _, ok := claim("resolver1:400", at(4, 0)); !ok {
		t.Fatal("a step whose process died was not due an interval after its start")
	}
	if err := db.FinishStep(ctx, "verify", at(3, 0), at(4, 1), ""); !errors.Is(err, ErrStepLost) {
		t.Errorf("FinishStep of a lost claim = %v, want ErrStepLost", err)
	}
	if err := db.AbandonStep(ctx, prev, at(3, 0)); !errors.Is(err, ErrStepLost) {
		t.Errorf("AbandonStep of a lost claim = %v, want ErrStepLost", err)
	}
	if rs := runs(); len(rs) != 1 || rs[0].Holder != "resolver1:400" || !rs[0].FinishedAt.IsZero() {
		t.Errorf("runs = %+v, want the claim of resolver1:400, running", rs)
	}

	// The first claim ever, abandoned: no row is left.
	prev, ok, err := db.ClaimStep(ctx, "notify", "resolver1:400", at(5, 0), 24*time.Hour, gone)
	if err != nil || !ok {
		t.Fatalf("ClaimStep notify = %v, %v", ok, err)
	}
	if err := db.AbandonStep(ctx, prev, at(5, 0)); err != nil {
		t.Fatal(err)
	}
	if rs := runs(); len(rs) != 1 || rs[0].Name != "verify" {
		t.Errorf("runs = %+v, want verify's only", rs)
	}
}

// A run that has not ended is not claimed again while its process runs
// it, however long it takes (a verify outlasting verify_every, a scan due
// at every pass of `run --once`); once its process is gone (killed during
// the step: SIGKILL, the OOM killer) the step is claimed at once, not an
// interval after that run's start.
func TestClaimStepRunning(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	dead := map[string]bool{}
	var asked []string
	gone := func(r StepRun, _ time.Time) bool {
		asked = append(asked, r.Holder)
		return dead[r.Holder]
	}
	for _, c := range []struct {
		name   string
		holder string
		now    time.Time
		every  time.Duration
		want   bool
	}{
		{"never ran", "resolver1:100", at(1, 0), time.Hour, true},
		{"running, not yet due", "resolver1:200", at(1, 30), time.Hour, false},
		{"running past its interval", "resolver1:200", at(2, 30), time.Hour, false},
		{"running, due at every pass (run --once's scan)", "resolver1:200", at(2, 31), 0, false},
		{"running, a day later", "resolver1:200", at(23, 0), time.Hour, false},
	} {
		if _, ok, err := db.ClaimStep(ctx, "verify", c.holder, c.now, c.every, gone); err != nil || ok != c.want {
			t.Errorf("%s: ClaimStep by %s at %v = %v, %v; want %v", c.name, c.holder, c.now, ok, err, c.want)
		}
	}
	if d := cmp.Diff([]string{"resolver1:100", "resolver1:100", "resolver1:100", "resolver1:100"}, asked); d != "" {
		t.Errorf("holders asked about (-want +got):\n%s", d)
	}
	// resolver1:100 was killed during the step: claimed at once.
	dead["resolver1:100"] = true
	prev, ok, err := db.ClaimStep(ctx, "verify", "resolver1:200", at(23, 1), 24*time.Hour, gone)
	if err != nil || !ok {
		t.Fatalf("the claim of a process that is gone: ClaimStep = %v, %v; want claimed", ok, err)
	}
	if want := (StepRun{Name: "verify", StartedAt: at(1, 0), Holder: "resolver1:100"}); prev != want {
		t.Errorf("prev = %+v, want %+v", prev, want)
	}
	// Its end no longer applies; the new run's does.
	if err := db.FinishStep(ctx, "verify", at(1, 0), at(23, 2), ""); !errors.Is(err, ErrStepLost) {
		t.Errorf("FinishStep of the dead process = %v, want ErrStepLost", err)
	}
	if err := db.FinishStep(ctx, "verify", at(23, 1), at(23, 2), ""); err != nil {
		t.Fatal(err)
	}
	// A finished run is due by its start, and nobody is asked about it.
	asked = nil
	if _, ok, err := db.ClaimStep(ctx, "verify", "resolver1:300", at(23, 30), 24*time.Hour, gone); err != nil || ok {
		t.Errorf("a finished run claimed before its interval: %v, %v", ok, err)
	}
	if len(asked) != 0 {
		t.Errorf("asked whether %q is gone about a finished run", asked)
	}
	// Without a HolderGone, no holder is gone.
	if _, ok, err := db.ClaimStep(ctx, "notify", "resolver1:300", at(1, 0), time.Hour, nil); err != nil || !ok {
		t.Fatalf("ClaimStep notify = %v, %v", ok, err)
	}
	if _, ok, err := db.ClaimStep(ctx, "notify", "resolver1:400", at(9, 0), time.Hour, nil); err != nil || ok {
		t.Errorf("a running step claimed without a HolderGone: %v, %v", ok, err)
	}
}

func TestStepDue(t *testing.T) {
	now := at(12, 0)
	for _, c := range []struct {
		name    string
		started time.Time
		want    time.Time
	}{
		{"never ran", time.Time{}, now},
		{"ran an hour ago", at(11, 0), at(12, 0)},
		{"ran ten minutes ago", at(11, 50), at(12, 50)},
		{"the clock was set back past the last start", at(13, 0), now},
	} {
		if got := (StepRun{StartedAt: c.started}).Due(time.Hour, now); !got.Equal(c.want) {
			t.Errorf("%s: Due = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestClaimStepArguments(t *testing.T) {
	db := openTest(t)
	for _, c := range []struct {
		name  string
		now   time.Time
		every time.Duration
	}{{"", at(1, 0), time.Hour}, {"verify", time.Time{}, time.Hour}, {"verify", at(1, 0), -time.Hour}} {
		if _, _, err := db.ClaimStep(context.Background(), c.name, "h:1", c.now, c.every, nil); err == nil {
			t.Errorf("ClaimStep(%q, %v, %v) succeeded", c.name, c.now, c.every)
		}
	}
}

func TestHeartbeat(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	for _, ts := range []time.Time{at(1, 0), at(1, 1)} {
		if err := db.Heartbeat(ctx, "run", ts); err != nil {
			t.Fatal(err)
		}
	}
	var n, got int64
	if err := db.db.QueryRowContext(ctx, "SELECT count(*), max(at) FROM heartbeats").Scan(&n, &got); err != nil {
		t.Fatal(err)
	}
	if n != 1 || got != at(1, 1).UnixNano() {
		t.Errorf("%d heartbeats, the last at %v; want 1 at %v", n, time.Unix(0, got).UTC(), at(1, 1))
	}
}
