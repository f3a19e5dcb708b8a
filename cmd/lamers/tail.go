package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/lamers-dev/lamers/parser"
	"github.com/lamers-dev/lamers/parser/ingest"
)

// tailCommand is `lamers tail`.
type tailCommand struct {
	format    string // forced format of the files given; "" is auto
	fromStart bool
	poll      bool
}

func (c *tailCommand) doc() commandDoc {
	return commandDoc{
		name:     "tail",
		args:     "[FILE...]",
		synopsis: "follow live log files across rotation and record findings as they are written",
		help: `Follows the files given, or the [[sources]] of the configuration, and
commits what they add about every 200 ms, with the position (device, inode,
fingerprint, offset) in the same transaction: after a crash or restart it
resumes where it stopped, and 'lamers scan' over the same files (the live
one or its rotated generations, also compressed) never counts a line twice.

Rotation is followed whatever its kind: rename and create (lines a writer
still appends to the renamed file are read until it has been idle for
tail.rotated_idle), copytruncate (also when the file refills past the old
size before it is noticed; the copy next to it is read from the position),
BIND's own "versions" rolling, delete and recreate. A file that does not
exist yet or cannot be read is reported once and picked up when it can be.

A file never seen before is read from its end unless --from-start is given;
files that appear later are read from their start.

SIGTERM or SIGINT commits and exits 0. SIGHUP reopens every file and, when
no FILE was given, rereads the configuration's [[sources]].`,
	}
}

func (c *tailCommand) register(fs *flag.FlagSet) {
	fs.StringVar(&c.format, "format", "", "force the log `format` of files given on the command line (auto, bind, unbound, unbound-infra)")
	fs.BoolVar(&c.fromStart, "from-start", false, "read files never seen before from their start (default: from their end; tail.from_start)")
	fs.BoolVar(&c.poll, "poll", false, "poll the files instead of using inotify, for NFS (tail.poll)")
}

func (c *tailCommand) run(ctx context.Context, a *app, args []string) error {
	sources, err := c.sources(a.cfg, args)
	if err != nil {
		return err
	}
	opts, err := c.options(a)
	if err != nil {
		return err
	}
	db, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer db.Close(context.WithoutCancel(ctx))
	tl := ingest.NewTailer(db, sources, opts)
	hup, stopHangups := notifyHangup()
	defer stopHangups()
	if err := tl.Start(ctx); err != nil {
		tl.Close(ctx)
		return err
	}
	a.log.Info("tail: started", logKeySources, len(sources), logKeyFromStart, opts.FromStart, logKeyPoll, opts.Poll)
	for {
		select {
		case <-ctx.Done():
			return closeTailer(ctx, a, tl)
		case <-hup:
			a.log.Info("tail: SIGHUP: reopening files")
			if len(args) == 0 {
				sources = reloadSources(a, sources)
			}
			if err := tl.Reload(ctx, sources); err != nil {
				a.log.Error("tail: reload", logKeyErr, err)
			}
		}
	}
}

// sources returns the files given, or the configured sources.
func (c *tailCommand) sources(cfg Config, args []string) ([]ingest.Source, error) {
	f := parser.Auto
	if c.format != "" {
		var err error
		if f, err = parser.ParseFormat(c.format); err != nil {
			return nil, usagef("tail: --format: %v", err)
		}
	}
	if len(args) == 0 {
		sources, err := configSources(cfg)
		if err == nil && len(sources) == 0 {
			err = usagef("tail: no files given and no [[sources]] in the configuration")
		}
		return sources, err
	}
	out := make([]ingest.Source, 0, len(args))
	for _, p := range args {
		if p == "-" {
			return nil, usagef("tail: cannot follow standard input (pipe it to 'lamers scan -')")
		}
		out = append(out, ingest.Source{Path: p, Format: f})
	}
	return out, nil
}

// configSources returns the configuration's [[sources]].
func configSources(cfg Config) ([]ingest.Source, error) {
	var out []ingest.Source
	for i, s := range cfg.Sources {
		f, err := s.format()
		if err != nil {
			return nil, fmt.Errorf("config: sources[%d].format: %w", i, err)
		}
		out = append(out, ingest.Source{Path: s.Path, Format: f})
	}
	return out, nil
}

// options are the tailer's options from the configuration and flags.
func (c *tailCommand) options(a *app) (ingest.TailOptions, error) {
	opts := ingest.DefaultTailOptions()
	in, err := a.cfg.ingestOptions(parser.Auto)
	if err != nil {
		return opts, err
	}
	opts.Location, opts.IgnoreServers = in.Location, in.IgnoreServers
	opts.FromStart = c.fromStart || a.cfg.Tail.FromStart
	opts.Poll = c.poll || a.cfg.Tail.Poll
	opts.RotatedIdle = time.Duration(a.cfg.Tail.RotatedIdle)
	opts.Logger = a.log
	return opts, nil
}

// reloadSources rereads the configuration's [[sources]] on SIGHUP, keeping
// the old ones when it cannot.
func reloadSources(a *app, old []ingest.Source) []ingest.Source {
	cfg, err := loadConfig(&a.globals, a.getenv)
	if err == nil {
		var s []ingest.Source
		if s, err = configSources(cfg); err == nil {
			return s
		}
	}
	a.log.Error("tail: reload configuration, keeping the old sources", logKeyErr, err)
	return old
}

// closeTailer makes the final commit after the graceful stop. The tailer
// bounds it itself and does not heed cancellation: nothing holds the abort
// stage, and a second signal exits at once (the store stays consistent).
func closeTailer(ctx context.Context, a *app, tl *ingest.Tailer) error {
	err := tl.Close(context.WithoutCancel(ctx))
	st := tl.Stats()
	a.log.Info("tail: stopped", logKeyLines, st.Lines, logKeyRecognised, st.Recognised,
		logKeyUnrecognised, st.Unrecognised, logKeyNewFindings, st.NewFindings)
	if err != nil {
		return fmt.Errorf("tail: final commit: %w", err)
	}
	return nil
}
