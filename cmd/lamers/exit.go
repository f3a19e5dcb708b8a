package main

import (
	"errors"
	"fmt"
	"io"
)

// Exit codes, as README.md's "Commands" section documents them; a process
// stopped by a signal exits 128+signal (see command).
const (
	exitOK      = 0
	exitFound   = 1 // a command-specific "yes" (check: a lame server)
	exitFailure = 2 // usage error or failure
	// exitTempFail is EX_TEMPFAIL of sysexits.h: bounce could not store the
	// message, and the MTA that piped it keeps it and tries again.
	exitTempFail = 75
)

// tempFail makes err exit with exitTempFail.
func tempFail(err error) error {
	return &exitError{code: exitTempFail, err: err}
}

// exitError carries a specific exit code, with or without a message.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageError marks a command-line mistake.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// exitCode maps the error returned by run to the process exit code and
// prints it as one line on stderr.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	code := exitFailure
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
		if ee.err == nil {
			return code
		}
	}
	fmt.Fprintf(stderr, "lamers: %s\n", escapeTerminal(err.Error()))
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintln(stderr, "Run 'lamers help' for usage.")
	}
	return code
}
