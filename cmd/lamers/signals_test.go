package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// stopScriptCommand follows the stop contract (see command) and says on
// stdout which stage it has reached, so that the test sends each signal at
// a known point. Its script is its one argument:
//
//	finish  stop at the first signal and return nil
//	abort   after the first signal hold the abort stage until the second
//	unheld  after the first signal go on without holding anything
//	stuck   hold the abort stage and go on after it is cancelled
//
// "Going on" is reading standard input, which the test keeps open: the
// child stays until a signal ends it, and never outlives the test.
type stopScriptCommand struct{}

func (c *stopScriptCommand) doc() commandDoc { return commandDoc{name: "stop-script"} }

func (c *stopScriptCommand) register(fs *flag.FlagSet) {}

func (c *stopScriptCommand) run(ctx context.Context, a *app, args []string) error {
	fmt.Fprintln(a.stdout, "ready")
	<-ctx.Done()
	fmt.Fprintln(a.stdout, "graceful")
	switch args[0] {
	case "finish":
		return nil
	case "unheld":
		io.Copy(io.Discard, a.stdin)
		return errors.New("stdin closed")
	}
	abort, release := a.stop.hold()
	defer release()
	fmt.Fprintln(a.stdout, "holding")
	<-abort.Done()
	fmt.Fprintln(a.stdout, "aborted")
	if args[0] == "stuck" {
		io.Copy(io.Discard, a.stdin)
	}
	return context.Cause(abort)
}

// stopScriptRun is the runFunc of the child process: the script command
// on an app built as run builds it, from the context main passes.
func stopScriptRun(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	a := newApp(ctx, stdin, stdout, stderr, getenv)
	a.configure(DefaultConfig())
	return (&stopScriptCommand{}).run(ctx, a, args)
}

// The two-stage stop, in a real process receiving real signals: the test
// binary re-executed as main (TestMain, LAMERS_TEST_EXEC=stop).
func TestStopStages(t *testing.T) {
	type step struct {
		sig  syscall.Signal
		want string // the stages the child then reports, in order, "" for none
	}
	tests := []struct {
		name   string
		script string
		steps  []step
		code   int
		stderr string // substring
	}{
		{"one signal: graceful stop, exit 0", "finish",
			[]step{{syscall.SIGTERM, "graceful"}}, 0, ""},
		{"second signal cancels the held abort stage: 128+SIGINT", "abort",
			[]step{{syscall.SIGINT, "graceful holding"}, {syscall.SIGINT, "aborted"}}, 130,
			"lamers: second interrupt signal received: aborting\n"},
		{"second signal with nothing held exits at once: 128+SIGTERM", "unheld",
			[]step{{syscall.SIGTERM, "graceful"}, {syscall.SIGTERM, ""}}, 143,
			"lamers: terminated signal received again: exiting at once\n"},
		{"the code is the last signal's", "unheld",
			[]step{{syscall.SIGINT, "graceful"}, {syscall.SIGTERM, ""}}, 143, "exiting at once"},
		{"third signal exits at once", "stuck",
			[]step{{syscall.SIGINT, "graceful holding"}, {syscall.SIGINT, "aborted"}, {syscall.SIGINT, ""}}, 130,
			"lamers: interrupt signal received again: exiting at once\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stderr := runStopScript(t, tt.script, func(sig func(syscall.Signal), wait func(string)) {
				wait("ready")
				for _, s := range tt.steps {
					sig(s.sig)
					for _, stage := range strings.Fields(s.want) {
						wait(stage)
					}
				}
			})
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstderr: %s", code, tt.code, stderr)
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderr, stderr)
			}
		})
	}
}

// runStopScript runs the script in a child process, lets drive send its
// signals and wait for its stages, and returns its exit code (-1 when a
// signal killed it: the stop was not handled) and stderr.
func runStopScript(t *testing.T, script string, drive func(sig func(syscall.Signal), wait func(string))) (int, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], script)
	cmd.Env = append(os.Environ(), "LAMERS_TEST_EXEC=stop")
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		for sc := bufio.NewScanner(out); sc.Scan(); {
			lines <- sc.Text()
		}
	}()
	wait := func(stage string) {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok || l != stage {
				cmd.Process.Kill()
				t.Fatalf("child reported %q (open: %v), want %q\nstderr: %s", l, ok, stage, stderr.String())
			}
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("child did not report %q within 20s\nstderr: %s", stage, stderr.String())
		}
	}
	drive(func(sig syscall.Signal) { cmd.Process.Signal(sig) }, wait)
	// The child ends now: read its stdout to the end, then reap it.
	deadline := time.After(20 * time.Second)
drain:
	for {
		select {
		case _, ok := <-lines:
			if !ok {
				break drain
			}
		case <-deadline:
			cmd.Process.Kill() // its stdout closes; the exit code is -1
		}
	}
	if err := waitTimeout(cmd, 20*time.Second); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("child: %v\nstderr: %s", err, stderr.String())
		}
	}
	return cmd.ProcessState.ExitCode(), stderr.String()
}
