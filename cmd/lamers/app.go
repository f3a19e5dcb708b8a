package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	"github.com/lamers-dev/lamers/store"
)

// globalFlags are accepted before the command and, for convenience, after
// it too.
type globalFlags struct {
	config   string
	db       string
	logLevel string
}

func (g *globalFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&g.config, "config", g.config, "configuration `file` (TOML; default $LAMERS_CONFIG or "+defaultConfigPath+" when it exists)")
	fs.StringVar(&g.db, "db", g.db, "SQLite database `path` (default ./lamers.db, $LAMERS_DB)")
	fs.StringVar(&g.logLevel, "log-level", g.logLevel, "log `level`: debug, info, warn, error")
}

// app is what every command receives: its streams, the environment and
// the lazily built configuration, logger and database.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	globals        globalFlags

	cfg Config
	log *slog.Logger
}

// command is one subcommand: its own flag set, usage and run function.
type command struct {
	name     string
	args     string // positional arguments for the usage line
	synopsis string
	help     string // paragraphs after the flags' usage
	// flags registers the command's own flags; run receives the positional
	// arguments after flag parsing.
	flags func(fs *flag.FlagSet)
	run   func(ctx context.Context, a *app, args []string) error
}

// commands lists the registered commands. Only finished commands are here.
func commands() []*command {
	return []*command{scanCommand(), tailCommand(), reportCommand(), checkCommand(), verifyCommand(), versionCommand()}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
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
		if len(rest) > 1 {
			if c := findCommand(rest[1]); c != nil {
				printCommandHelp(stdout, c)
				return nil
			}
			return usagef("unknown command %q", rest[1])
		}
		printHelp(stdout)
		return nil
	}
	c := findCommand(name)
	if c == nil {
		return usagef("unknown command %q", name)
	}
	return a.runCommand(ctx, c, rest[1:])
}

func findCommand(name string) *command {
	for _, c := range commands() {
		if c.name == name {
			return c
		}
	}
	return nil
}

// runCommand parses the command's flags, which may stand before, between
// or after its positional arguments ("--" ends them), then loads the
// configuration and runs it.
func (a *app) runCommand(ctx context.Context, c *command, args []string) error {
	fs := flag.NewFlagSet("lamers "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	a.globals.register(fs)
	if c.flags != nil {
		c.flags(fs)
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				printCommandHelp(a.stdout, c)
				return nil
			}
			return usagef("%s: %v", c.name, err)
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			pos = append(pos, rest...) // everything after "--" is positional
			break
		}
		if len(rest) == 0 {
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	cfg, err := loadConfig(&a.globals, a.getenv)
	if err != nil {
		return err
	}
	a.cfg = cfg
	lvl, _ := parseLogLevel(cfg.LogLevel)
	a.log = slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: lvl}))
	return c.run(ctx, a, pos)
}

// openStore opens the configured database.
func (a *app) openStore(ctx context.Context) (*store.DB, error) {
	return store.Open(ctx, a.cfg.DB)
}

func printHelp(w io.Writer) {
	fmt.Fprint(w, `lamers finds lame delegations in resolver logs and proves them with its own resolver.

Usage:
  lamers [--config FILE] [--db PATH] [--log-level L] <command> [flags] [arguments]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.synopsis)
	}
	fmt.Fprint(w, `
Run 'lamers help <command>' or 'lamers <command> --help' for a command's flags.
`)
}

func printCommandHelp(w io.Writer, c *command) {
	fmt.Fprintf(w, "Usage: lamers %s [flags] %s\n\n%s\n", c.name, c.args, c.synopsis)
	if c.help != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(c.help))
	}
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	var g globalFlags
	g.register(fs)
	if c.flags != nil {
		c.flags(fs)
	}
	fmt.Fprintln(w, "\nFlags:")
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	slices.Sort(names)
	for _, n := range names {
		f := fs.Lookup(n)
		typ, usage := flag.UnquoteUsage(f)
		line := "  --" + n
		if typ != "" {
			line += " " + typ
		}
		fmt.Fprintf(w, "%s\n      %s", line, usage)
		if f.DefValue != "" && f.DefValue != "false" {
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(w)
	}
}
