package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"time"

	"github.com/lamers-dev/lamers/store"
)

// command is one subcommand: a small type whose fields are its flags.
//
// The stop contract. ctx, given to run, is the graceful stage: the first
// SIGINT or SIGTERM cancels it. A command then takes no new unit of work
// (a batch of lines, a finding to probe, a message to send), finishes the
// current one or abandons it where nothing is half stored, flushes what it
// holds (checkpoints, the final commit) and returns. It returns nil when
// what it did is kept and a rerun continues from there (scan, verify, and
// a daemon's stop, which is its normal end): the process exits 0. It
// returns an error when its answer would mislead (check has no verdict).
//
// Work that must outlive the first signal but be cancelled by the second —
// a network exchange in flight, such as an SMTP transaction — runs under
// the context of app.stop.hold and releases it when done: the second
// signal cancels that context, the command returns at once, and the
// process exits 128+signal. What is stored stays consistent because every
// commit is one SQLite transaction. A second signal while nothing is held,
// or a third, exits at once with 128+signal (the status a shell shows for
// a process killed by that signal).
type command interface {
	// doc describes the command for the help texts.
	doc() commandDoc
	// register adds the command's flags, bound to its fields, to fs.
	register(fs *flag.FlagSet)
	// run runs the command on its positional arguments once a's
	// configuration and logger are set.
	run(ctx context.Context, a *app, args []string) error
}

// configFailer is a command that says what a configuration that cannot
// be loaded makes of it (bounce: a temporary failure for the MTA).
type configFailer interface {
	configFailed(err error) error
}

// commandDoc is what the help texts say about a command.
type commandDoc struct {
	name     string
	args     string // positional arguments for the usage line
	synopsis string
	help     string // paragraphs after the usage line
}

// commands returns a new instance of every command, in the order of the
// help text.
func commands() []command {
	return []command{&scanCommand{}, &tailCommand{}, &reportCommand{}, &checkCommand{}, &verifyCommand{}, &notifyCommand{}, &suppressCommand{}, &bounceCommand{}, &digestCommand{}, &runCommand{}, &versionCommand{}}
}

func findCommand(name string) command {
	for _, c := range commands() {
		if c.doc().name == name {
			return c
		}
	}
	return nil
}

// app is what every command receives: its streams, the environment, the
// stop stages and the configuration and logger built from them.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	globals        globalFlags
	stop           *stopper

	cfg Config
	log *slog.Logger

	// mailer builds what notify composes and sends letters with
	// (newMailer; tests replace it).
	mailer func(cfg NotifyConfig, send bool) (*mailer, error)
	// dnsPort is the port the resolver queries; 0 means 53. Tests serve a
	// private tree on loopback on another port.
	dnsPort uint16
	// now is the end of a digest's period (time.Now; tests move it).
	now func() time.Time
}

// newApp returns the app of one run: the streams and environment given,
// the stop stages ctx carries (stopperFrom).
func newApp(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) *app {
	return &app{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv, stop: stopperFrom(ctx), mailer: newMailer,
		now: time.Now}
}

// configure sets the configuration and the logger it asks for.
func (a *app) configure(cfg Config) {
	a.cfg = cfg
	a.log = newLogger(a.stderr, cfg.LogLevel)
}

// openStore opens the configured database.
func (a *app) openStore(ctx context.Context, opts ...store.OpenOption) (*store.DB, error) {
	return store.Open(ctx, a.cfg.DB, opts...)
}

// openStoreReadOnly opens the configured database for a command that
// writes nothing: it works on a file the user may only read.
func (a *app) openStoreReadOnly(ctx context.Context) (*store.DB, error) {
	return store.OpenReadOnly(ctx, a.cfg.DB)
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	a := newApp(ctx, stdin, stdout, stderr, getenv)
	fs := flag.NewFlagSet("lamers", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	a.globals.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printHelp(stdout)
			return nil
		}
		return usagef("%v", err)
	}
	rest := fs.Args()
	if len(rest) == 0 {
		printHelp(stderr)
		return &exitError{code: exitFailure}
	}
	name := rest[0]
	if name == "help" {
		return help(stdout, rest[1:])
	}
	c := findCommand(name)
	if c == nil {
		return usagef("unknown command %q", name)
	}
	return a.runCommand(ctx, c, rest[1:])
}

// runCommand parses the command's flags, loads the configuration and runs
// the command.
func (a *app) runCommand(ctx context.Context, c command, args []string) error {
	pos, helped, err := a.parseCommandLine(c, args)
	if err != nil || helped {
		return err
	}
	cfg, err := loadConfig(&a.globals, a.getenv)
	if err != nil {
		if f, ok := c.(configFailer); ok {
			return f.configFailed(err)
		}
		return err
	}
	a.configure(cfg)
	return c.run(ctx, a, pos)
}

// parseCommandLine parses the global and the command's flags, which may
// stand before, between or after its positional arguments ("--" ends
// them), and returns the positional arguments. It answers --help itself
// and says so in helped.
func (a *app) parseCommandLine(c command, args []string) (pos []string, helped bool, err error) {
	name := c.doc().name
	fs := flag.NewFlagSet("lamers "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	a.globals.register(fs)
	c.register(fs)
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				printCommandHelp(a.stdout, c)
				return nil, true, nil
			}
			return nil, false, usagef("%s: %v", name, err)
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			pos = append(pos, rest...) // everything after "--" is positional
			return pos, false, nil
		}
		if len(rest) == 0 {
			return pos, false, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
