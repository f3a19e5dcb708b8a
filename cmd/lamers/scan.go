package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"time"

	"github.com/lamers-dev/lamers/parser"
	"github.com/lamers-dev/lamers/parser/ingest"
	"github.com/lamers-dev/lamers/store"
)

// scanCommand is `lamers scan`.
type scanCommand struct {
	format     string // "" is scan.format
	noProgress bool
}

func (c *scanCommand) doc() commandDoc {
	return commandDoc{
		name:     "scan",
		args:     "FILE... | -",
		synopsis: "parse log files once (plain, gzip, - for stdin) and record findings",
		help: `Each file is ingested exactly once: re-scanning it, or the same content
renamed or compressed, adds nothing; appended lines are read from where the
last run stopped. A plain file's last line is read only once it ends in a
newline. At the end a summary is printed.`,
	}
}

func (c *scanCommand) register(fs *flag.FlagSet) {
	fs.StringVar(&c.format, "format", "", "force a log `format` (auto, bind, unbound, unbound-infra, …; default from config)")
	fs.BoolVar(&c.noProgress, "no-progress", false, "never show the progress display")
}

func (c *scanCommand) run(ctx context.Context, a *app, args []string) error {
	if err := checkScanArgs(args); err != nil {
		return err
	}
	sc, db, err := c.open(ctx, a)
	if err != nil {
		return err
	}
	defer db.Close(context.WithoutCancel(ctx))
	var st ingest.Stats
	failed := scanInputs(ctx, a, sc, args, &st)
	printScanSummary(a.stdout, &st)
	if err := context.Cause(ctx); err != nil {
		fmt.Fprintf(a.stderr, "lamers: scan stopped early (%s): committed batches are kept; run it again to continue\n", err)
		return nil
	}
	pruned, err := prune(ctx, db, a.cfg.RetentionDays, time.Now())
	switch {
	case err != nil && ctx.Err() != nil:
		return nil // stopped while pruning: the scan is complete, the next one prunes
	case err != nil:
		return err
	case pruned > 0:
		a.log.Info("pruned daily counts", logKeyRows, pruned, logKeyRetentionDays, a.cfg.RetentionDays)
	}
	if failed > 0 {
		return &exitError{code: exitFailure, err: fmt.Errorf("scan: %d of %d inputs failed", failed, len(args))}
	}
	return nil
}

// checkScanArgs rejects, before anything is read, the arguments no input
// can be: none at all, an empty name, standard input twice.
func checkScanArgs(args []string) error {
	if len(args) == 0 {
		return usagef("scan: no files given (use - for standard input)")
	}
	stdin := 0 // the argument that is "-", counted from 1
	for i, path := range args {
		switch {
		case path == "":
			return usagef("scan: argument %d is an empty file name", i+1)
		case path == "-" && stdin > 0:
			return usagef("scan: argument %d: - (standard input) is already argument %d", i+1, stdin)
		case path == "-":
			stdin = i + 1
		}
	}
	return nil
}

// open resolves the settings and opens the database and the scanner.
func (c *scanCommand) open(ctx context.Context, a *app) (*ingest.Scanner, *store.DB, error) {
	format := c.format
	if format == "" {
		format = a.cfg.Scan.Format
	}
	f, err := parser.ParseFormat(format)
	if err != nil {
		return nil, nil, usagef("scan: --format: %v", err)
	}
	opts, err := a.cfg.ingestOptions(f)
	if err != nil {
		return nil, nil, err
	}
	// A batch's aggregate and the store's merge of its rows are large and
	// short-lived: collect garbage at 50 % growth instead of 100 %
	// (measured on bench/'s lame-2m log, mean of 5: 30 % 1.67 s and 118 MB
	// peak RSS, 50 % 1.64 s and 124 MB, 80 % 1.61 s and 138 MB). GOGC in
	// the environment wins.
	if a.getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
	db, err := a.openStore(ctx)
	if err != nil {
		return nil, nil, err
	}
	if !c.noProgress && isTerminal(a.stderr) {
		opts.Progress = a.stderr
	}
	return ingest.NewScanner(db, opts), db, nil
}

// scanInputs ingests every input until the graceful stop and returns how
// many failed: one bad file does not stop the others.
func scanInputs(ctx context.Context, a *app, sc *ingest.Scanner, args []string, st *ingest.Stats) (failed int) {
	for _, path := range args {
		if ctx.Err() != nil {
			break
		}
		var err error
		if path == "-" {
			err = sc.ScanReader(ctx, a.stdin, st)
		} else {
			err = sc.ScanFile(ctx, path, st)
		}
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			failed++
			fmt.Fprintf(a.stderr, "lamers: %s\n", escapeTerminal(err.Error()))
		}
	}
	return failed
}

func printScanSummary(w io.Writer, st *ingest.Stats) {
	fmt.Fprintf(w, "files: %d\n", st.Files)
	fmt.Fprintf(w, "lines read: %d\n", st.Lines)
	fmt.Fprintf(w, "lines recognised: %d\n", st.Recognised)
	fmt.Fprintf(w, "lame-looking lines not understood: %d\n", st.Unrecognised)
	if st.FirstUnrecognised != "" {
		fmt.Fprintf(w, "  first: %s: %s\n", escapeTerminal(st.FirstUnrecognisedFile), escapeTerminal(truncate(st.FirstUnrecognised, 300)))
	}
	if st.IgnoredServers > 0 {
		fmt.Fprintf(w, "evidence against ignored servers (scan.ignore_servers), not stored: %d\n", st.IgnoredServers)
	}
	if st.ExtraKinds > 0 {
		fmt.Fprintf(w, "events of evidence kinds past 16 per finding, not stored: %d\n", st.ExtraKinds)
	}
	if st.CappedKinds > 0 {
		fmt.Fprintf(w, "events of evidence kinds past %d stored per finding, counted without their kind: %d\n", store.MaxObservedKinds, st.CappedKinds)
	}
	if st.TimeReplaced > 0 {
		fmt.Fprintf(w, "lines with a time before 2000, over ten years old or in the future, counted at the file's time: %d\n", st.TimeReplaced)
	}
	if st.Overlong > 0 {
		fmt.Fprintf(w, "lines over 2 MiB skipped: %d\n", st.Overlong)
	}
	if st.AlreadyIngested > 0 {
		fmt.Fprintf(w, "lines already ingested by earlier runs: %d\n", st.AlreadyIngested)
	}
	if st.Incomplete > 0 {
		fmt.Fprintf(w, "files ending in an unfinished line (left for the next run): %d\n", st.Incomplete)
	}
	fmt.Fprintf(w, "findings: %d new, %d updated\n", st.NewFindings, st.UpdatedFindings)
}

// prune drops per-day counts older than the retention period. A stop
// (ctx cancelled) is an error like any other: the caller decides what it
// means.
func prune(ctx context.Context, db *store.DB, days int, now time.Time) (int64, error) {
	before := now.UTC().AddDate(0, 0, -days).Truncate(24 * time.Hour)
	return db.Prune(ctx, before)
}
