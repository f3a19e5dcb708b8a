// Command lamers finds lame delegations in the logs of recursive resolvers
// (BIND 9, Unbound) and proves them with its own resolver. All wiring lives
// in this package; see README.md.
//
// main.go and signals.go hold the process: signals, the exit code. app.go
// parses the command line and hands each command (one type per command,
// in the file named after it) an app with its streams, configuration and
// logger; resolver.go builds the bundled resolver for the commands that
// probe.
package main

import (
	"context"
	"io"
	"os"
)

// runFunc is the signature of run: the whole command line with its streams
// and environment injected.
type runFunc func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error

func main() {
	os.Exit(runProcess(run, os.Args[1:]))
}

// runProcess is main's body: it runs the command line under the two-stage
// stop on SIGINT and SIGTERM and returns the exit code. Tests that re-execute
// the test binary call it with a scripted runFunc.
func runProcess(runFn runFunc, args []string) int {
	s := newStopper(context.Background(), os.Stderr, os.Exit)
	stopSignals := s.notify()
	defer stopSignals()
	err := runFn(s.context(), args, os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	return s.exitCode(err, os.Stderr)
}
