package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"testing"

	"github.com/lamers-dev/lamers/store"
)

// Some tests run this test binary again as a child process: a scan to be
// killed with SIGKILL (TestScanSIGKILL), a tailer whose privileges are
// dropped (TestTailPermissionDenied). Given -ingest.child, TestMain runs
// that child instead of the tests. Only those tests set these flags, and
// they run no test in the child (-test.run=^$): no test can pass there
// without running, and the flags reach no other process, as an environment
// variable would.
var (
	childRole  = flag.String("ingest.child", "", "run as a child process: scan or tail (test-internal)")
	childDB    = flag.String("ingest.child-db", "", "the child's database")
	childFiles = flag.String("ingest.child-files", "", "the child's log files, comma-separated")
	childBatch = flag.Int("ingest.child-batch", 2000, "the scan child's lines per batch")
)

func TestMain(m *testing.M) {
	flag.Parse()
	if *childRole != "" {
		if err := runChild(*childRole, *childDB, strings.Split(*childFiles, ","), *childBatch); err != nil {
			fmt.Fprintf(os.Stderr, "ingest test child %s: %v\n", *childRole, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runChild(role, dbPath string, files []string, batch int) error {
	if dbPath == "" || files[0] == "" {
		return errors.New("want -ingest.child-db and -ingest.child-files")
	}
	ctx := context.Background()
	db, err := store.Open(ctx, dbPath)
	if err != nil {
		return err
	}
	switch role {
	case "scan":
		err = scanChild(ctx, db, files, batch)
	case "tail":
		err = tailChild(ctx, db, files)
	default:
		err = fmt.Errorf("unknown role %q", role)
	}
	return errors.Join(err, db.Close(ctx))
}

// announcingSink is the scan child's store: it writes "commit" to stdout
// before each commit and "committed LINES" after it, so that the parent
// kills it at a chosen point of its work, not after a chosen time.
type announcingSink struct {
	*store.DB
	w io.Writer
}

func (s announcingSink) Commit(ctx context.Context, b store.Batch) (store.CommitResult, error) {
	fmt.Fprintln(s.w, "commit")
	res, err := s.DB.Commit(ctx, b)
	if err == nil {
		fmt.Fprintln(s.w, "committed", res.Checkpoint.Lines)
	}
	return res, err
}

// scanChild scans files in batches of batch lines, announcing every commit.
func scanChild(ctx context.Context, db *store.DB, files []string, batch int) error {
	sc := NewScanner(announcingSink{db, os.Stdout}, Options{Location: time.UTC, BatchLines: batch})
	var st Stats
	for _, f := range files {
		if err := sc.ScanFile(ctx, f, &st); err != nil {
			return err
		}
	}
	return nil
}

// tailChild runs a Tailer with its loops on, logging JSON to stdout (its
// log records and a "commit" record per commit), until its standard input
// closes.
func tailChild(ctx context.Context, db *store.DB, files []string) error {
	out := json.NewEncoder(os.Stdout)
	opts := DefaultTailOptions()
	opts.CheckInterval, opts.FlushInterval = 20*time.Millisecond, 20*time.Millisecond
	opts.Location = time.UTC
	opts.Logger = slog.New(slog.NewJSONHandler(os.Stdout, nil))
	opts.OnCommit = func(c TailCommit) {
		out.Encode(map[string]any{"msg": "commit", "path": c.Path, "lines": c.Lines})
	}
	var srcs []Source
	for _, p := range files {
		srcs = append(srcs, Source{Path: p})
	}
	tl := NewTailer(db, srcs, opts)
	if err := tl.Start(ctx); err != nil {
		return err
	}
	io.Copy(io.Discard, os.Stdin)
	return tl.Close(ctx)
}
