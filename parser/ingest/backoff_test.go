package ingest

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lamers-dev/lamers/store"
)

// failingSink is the store of a full disk: while fail is set, Commit fails
// as SQLite does then, and counts its calls.
type failingSink struct {
	TailSink
	fail    atomic.Bool
	commits atomic.Int64
}

func (s *failingSink) Commit(ctx context.Context, b store.Batch) (store.CommitResult, error) {
	s.commits.Add(1)
	if s.fail.Load() {
		return store.CommitResult{}, errors.New("store: commit /var/lib/lamers/lamers.db: database or disk is full")
	}
	return s.TailSink.Commit(ctx, b)
}

// A store that fails (a full disk) is retried with a back-off that grows
// to a minute, and logged once when it starts failing and once when it
// works again (issue 15 item 7: an ERROR every 200 ms, 430,000 a day). No
// line is lost or counted twice.
func TestTailBacksOffFailingStore(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, filepath.Join(dir, "lamers.db"))
	sink := &failingSink{TailSink: db}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	path := filepath.Join(dir, "lame.log")
	w := openAppender(t, path, 0)
	tl, clk := steppedWith(t, sink, func(o *TailOptions) { o.FromStart = true; o.Logger = log }, path)
	ctx := context.Background()

	sink.fail.Store(true)
	w.write(10)
	before := sink.commits.Load()
	// Two hours of 200 ms pass, lines coming in all along.
	const steps = 2 * 60 * 60 * 5
	for i := range steps {
		if i%1000 == 0 {
			w.write(1)
		}
		tl.Step(ctx)
		clk.advance(200 * time.Millisecond)
	}
	tries := sink.commits.Load() - before
	// After 1, 2, 4, … 32 s, once a minute: 6 + about 118 in two hours,
	// where every pass used to try (36,000).
	if tries > 130 || tries < 110 {
		t.Errorf("%d commits tried in two hours of failures, want one a minute once backed off", tries)
	}
	if n := strings.Count(logs.String(), "level=ERROR"); n != 1 {
		t.Errorf("%d errors logged in two hours of failures, want 1:\n%.2000s", n, logs.String())
	}
	sink.fail.Store(false)
	clk.advance(time.Minute)
	tl.Step(ctx)
	if n := strings.Count(logs.String(), "tail: commits work again"); n != 1 {
		t.Errorf("recovery logged %d times, want once:\n%.2000s", n, logs.String())
	}
	wantTotal(t, db, 10+steps/1000, "after the recovery")
	// A new failure is a new state: logged once more.
	sink.fail.Store(true)
	w.write(1)
	tl.Step(ctx)
	tl.Step(ctx)
	if n := strings.Count(logs.String(), "level=ERROR"); n != 2 {
		t.Errorf("%d errors logged after the second failure, want 2", n)
	}
}
