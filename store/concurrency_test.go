package store

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The test binary re-executes itself as a second lamers process (child):
// given -store.child-db, TestMain runs ingestChild instead of the tests.
// Only child sets these flags, and it runs no test in that process
// (-test.run=^$): the flags reach no other process, as an environment
// variable would, and no test passes there without running.
var (
	childDB      = flag.String("store.child-db", "", "run as a child process ingesting into this database (test-internal)")
	childStream  = flag.String("store.child-stream", "", "the child's stream name")
	childBatches = flag.Int("store.child-batches", 0, "the child's number of batches")
)

func TestMain(m *testing.M) {
	flag.Parse()
	if *childDB != "" {
		if err := ingestChild(*childDB, *childStream, *childBatches); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// ingestChild ingests batches batches of one line each into stream,
// printing the line count after each commit.
func ingestChild(path, stream string, batches int) error {
	if stream == "" || batches <= 0 {
		return fmt.Errorf("child: want a stream and a positive number of batches, got %q and %d", stream, batches)
	}
	ctx := context.Background()
	db, err := Open(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close(ctx)
	out := bufio.NewWriter(os.Stdout)
	err = ingest(ctx, db, stream, batches, func(lines int64) {
		fmt.Fprintln(out, lines)
		out.Flush()
	})
	return errors.Join(err, db.Close(ctx))
}

// ingest commits n batches to the stream named stream, resuming from its
// checkpoint. Every batch is one line with one event for the stream's own
// finding and one for a finding all streams share.
func ingest(ctx context.Context, db *DB, stream string, n int, committed func(lines int64)) error {
	fp := []byte("fp-" + stream)
	base := Checkpoint{Fingerprint: fp}
	seen, err := db.MaxCheckpointID(ctx)
	if err != nil {
		return err
	}
	cs, err := db.CheckpointsByFingerprint(ctx, fp)
	if err != nil {
		return err
	}
	if len(cs) > 0 {
		base = cs[0]
	}
	for i := range n {
		ts := at(1, 0).Add(time.Duration(i) * time.Second)
		next := base
		next.Offset, next.Lines, next.Path = base.Offset+64, base.Lines+1, "/var/log/"+stream+".log"
		r, err := db.Commit(ctx, Batch{Base: base, SeenMaxID: seen, Next: next, Counts: []Count{
			zoned(stream+".example.", srvA, "bind", "lame_referral", 1, ts, ts),
			zoned("shared.example.", srvA, "bind", "lame_referral", 1, ts, ts),
		}})
		if err != nil {
			return fmt.Errorf("stream %s batch %d: %w", stream, i, err)
		}
		base = r.Checkpoint
		if committed != nil {
			committed(base.Lines)
		}
	}
	return nil
}

// findingCount returns the Count of zone's finding, 0 if absent.
func findingCount(t *testing.T, db *DB, zone string) int64 {
	t.Helper()
	fs, err := db.Findings(context.Background(), Filter{Zone: zone})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) == 0 {
		return 0
	}
	return fs[0].Count
}

func streamLines(t *testing.T, db *DB, stream string) int64 {
	t.Helper()
	cs, err := db.CheckpointsByFingerprint(context.Background(), []byte("fp-"+stream))
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 {
		t.Fatalf("stream %s has %d checkpoints, want 1", stream, len(cs))
	}
	return cs[0].Lines
}

// TestConcurrentHandles opens the same file twice, as two processes would,
// and commits 200 batches through each at the same time.
func TestConcurrentHandles(t *testing.T) {
	const batches = 200
	path := filepath.Join(t.TempDir(), "lamers.db")
	dbs := []*DB{openPath(t, path), openPath(t, path)}
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, len(dbs))
	for i, db := range dbs {
		wg.Go(func() { errs[i] = ingest(ctx, db, fmt.Sprint("s", i), batches, nil) })
	}
	// A reader (a "report" run) meanwhile.
	wg.Go(func() {
		for range 50 {
			if _, err := dbs[0].Findings(ctx, Filter{}); err != nil {
				t.Errorf("Findings during ingest: %v", err)
				return
			}
		}
	})
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for i := range dbs {
		s := fmt.Sprint("s", i)
		if got := findingCount(t, dbs[1-i], s+".example."); got != batches {
			t.Errorf("%s.example. count = %d, want %d", s, got, batches)
		}
		if got := streamLines(t, dbs[1-i], s); got != batches {
			t.Errorf("stream %s lines = %d, want %d", s, got, batches)
		}
	}
	if got := findingCount(t, dbs[0], "shared.example."); got != 2*batches {
		t.Errorf("shared.example. count = %d, want %d", got, 2*batches)
	}
}

func child(t *testing.T, path, stream string, batches int) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exec.Command(exe, "-test.run=^$", "-store.child-db="+path, "-store.child-stream="+stream,
		"-store.child-batches="+strconv.Itoa(batches))
}

// TestConcurrentProcesses runs two lamers processes against one file.
func TestConcurrentProcesses(t *testing.T) {
	const batches = 200
	path := filepath.Join(t.TempDir(), "lamers.db") // created by the children, concurrently
	var wg sync.WaitGroup
	for _, s := range []string{"p0", "p1"} {
		cmd := child(t, path, s, batches)
		wg.Go(func() {
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("child %s: %v\n%s", s, err, lastLines(string(out), 5))
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	db := openPath(t, path)
	for _, s := range []string{"p0", "p1"} {
		if got := findingCount(t, db, s+".example."); got != batches {
			t.Errorf("%s.example. count = %d, want %d", s, got, batches)
		}
	}
	if got := findingCount(t, db, "shared.example."); got != 2*batches {
		t.Errorf("shared.example. count = %d, want %d", got, 2*batches)
	}
}

// TestCrashLeavesAllOrNothing kills an ingesting process at an arbitrary
// instant and checks that its checkpoint and its counts still agree, then
// resumes from the checkpoint: exactly-once across the crash.
func TestCrashLeavesAllOrNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lamers.db")
	for round := range 3 {
		cmd := child(t, path, "crash", 1_000_000)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		var reported int64
		for range 50 + 37*round { // some commits, then SIGKILL mid-loop
			if !sc.Scan() {
				break
			}
			reported, _ = strconv.ParseInt(sc.Text(), 10, 64)
		}
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		if reported == 0 {
			t.Fatalf("round %d: child reported no commit", round)
		}

		db := openPath(t, path)
		lines := streamLines(t, db, "crash")
		if lines < reported {
			t.Errorf("round %d: checkpoint at %d lines, child had reported %d committed", round, lines, reported)
		}
		if got := findingCount(t, db, "crash.example."); got != lines {
			t.Errorf("round %d: crash.example. count %d != checkpoint lines %d", round, got, lines)
		}
		if got := findingCount(t, db, "shared.example."); got != lines {
			t.Errorf("round %d: shared.example. count %d != checkpoint lines %d", round, got, lines)
		}
		if err := db.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(l[max(0, len(l)-n):], "\n")
}

// TestOpenNewDatabaseTogether opens one new database file from several
// connections pools at once, as a daemon and a cron job started together
// do. The first statement of each switches the file to WAL mode, for which
// SQLite answers SQLITE_BUSY without waiting; Open must wait instead of
// reporting "database is locked" (it did in about one round in ten).
func TestOpenNewDatabaseTogether(t *testing.T) {
	for round := range 40 {
		path := filepath.Join(t.TempDir(), "new.db")
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				db, err := Open(context.Background(), path)
				if err != nil {
					errs[i] = err
					return
				}
				errs[i] = db.Close(context.Background())
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d, opener %d: %v", round, i, err)
			}
		}
	}
}
