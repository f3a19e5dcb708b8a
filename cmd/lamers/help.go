package main

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

// help answers `lamers help [COMMAND]`.
func help(w io.Writer, args []string) error {
	if len(args) == 0 {
		printHelp(w)
		return nil
	}
	c := findCommand(args[0])
	if c == nil {
		return usagef("unknown command %q", args[0])
	}
	printCommandHelp(w, c)
	return nil
}

func printHelp(w io.Writer) {
	fmt.Fprint(w, `lamers finds lame delegations in resolver logs and proves them with its own resolver.

Usage:
  lamers [--config FILE] [--db PATH] [--log-level L] <command> [flags] [arguments]

Commands:
`)
	for _, c := range commands() {
		d := c.doc()
		fmt.Fprintf(w, "  %-8s %s\n", d.name, d.synopsis)
	}
	fmt.Fprint(w, `
Run 'lamers help <command>' or 'lamers <command> --help' for a command's flags.
`)
}

func printCommandHelp(w io.Writer, c command) {
	d := c.doc()
	fmt.Fprintf(w, "Usage: lamers %s [flags] %s\n\n%s\n", d.name, d.args, d.synopsis)
	if d.help != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(d.help))
	}
	fs := flag.NewFlagSet(d.name, flag.ContinueOnError)
	var g globalFlags
	g.register(fs)
	c.register(fs)
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
