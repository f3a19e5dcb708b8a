package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/lamers-dev/lamers/parser"
	"github.com/lamers-dev/lamers/parser/ingest"
)

func tailCommand() *command {
	var (
		format    string
		fromStart bool
		poll      bool
	)
	return &command{
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
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&format, "format", "", "force the log `format` of files given on the command line (auto, bind, unbound, unbound-infra)")
			fs.BoolVar(&fromStart, "from-start", false, "read files never seen before from their start (default: from their end; tail.from_start)")
			fs.BoolVar(&poll, "poll", false, "poll the files instead of using inotify, for NFS (tail.poll)")
		},
		run: func(ctx context.Context, a *app, args []string) error {
			var forced *parser.Format
			if format != "" {
				f, err := parser.ParseFormat(format)
				if err != nil {
					return usagef("tail: --format: %v", err)
				}
				forced = &f
			}
			sources, err := tailSources(a.cfg, args, forced)
			if err != nil {
				return err
			}
			if len(sources) == 0 {
				return usagef("tail: no files given and no [[sources]] in the configuration")
			}
			loc, err := a.cfg.location()
			if err != nil {
				return err
			}
			idle, err := a.cfg.Tail.rotatedIdle()
			if err != nil {
				return err
			}
			ignore, err := a.cfg.ignoreServers()
			if err != nil {
				return err
			}
			db, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer db.Close(context.WithoutCancel(ctx))

			opts := ingest.DefaultTailOptions()
			opts.Location = loc
			opts.FromStart = fromStart || a.cfg.Tail.FromStart
			opts.Poll = poll || a.cfg.Tail.Poll
			opts.RotatedIdle = idle
			opts.Logger = a.log
			opts.IgnoreServers = ignore
			tl := ingest.NewTailer(db, sources, opts)

			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			if err := tl.Start(ctx); err != nil {
				tl.Close(ctx)
				return err
			}
			a.log.Info("tail: started", logKeySources, len(sources), logKeyFromStart, opts.FromStart, logKeyPoll, opts.Poll)
		loop:
			for {
				select {
				case <-ctx.Done():
					break loop
				case <-hup:
					a.log.Info("tail: SIGHUP: reopening files")
					if len(args) == 0 {
						cfg, err := loadConfig(&a.globals, a.getenv)
						if err != nil {
							a.log.Error("tail: reload configuration, keeping the old sources", logKeyErr, err)
						} else if s, err := tailSources(cfg, nil, nil); err != nil {
							a.log.Error("tail: reload configuration, keeping the old sources", logKeyErr, err)
						} else {
							sources = s
						}
					}
					if err := tl.Reload(ctx, sources); err != nil {
						a.log.Error("tail: reload", logKeyErr, err)
					}
				}
			}
			err = tl.Close(context.WithoutCancel(ctx))
			st := tl.Stats()
			a.log.Info("tail: stopped", logKeyLines, st.Lines, logKeyRecognised, st.Recognised,
				logKeyUnrecognised, st.Unrecognised, logKeyNewFindings, st.NewFindings)
			if err != nil {
				return fmt.Errorf("tail: final commit: %w", err)
			}
			return nil
		},
	}
}

// tailSources returns the files given, or the configured sources.
func tailSources(cfg Config, args []string, forced *parser.Format) ([]ingest.Source, error) {
	var out []ingest.Source
	if len(args) > 0 {
		for _, p := range args {
			if p == "-" {
				return nil, usagef("tail: cannot follow standard input (pipe it to 'lamers scan -')")
			}
			f := parser.Auto
			if forced != nil {
				f = *forced
			}
			out = append(out, ingest.Source{Path: p, Format: f})
		}
		return out, nil
	}
	for i, s := range cfg.Sources {
		f, err := s.format()
		if err != nil {
			return nil, fmt.Errorf("config: sources[%d].format: %w", i, err)
		}
		out = append(out, ingest.Source{Path: s.Path, Format: f})
	}
	return out, nil
}
