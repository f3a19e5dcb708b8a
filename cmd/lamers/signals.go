package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// stopper is the two-stage stop of the process. The first SIGINT or
// SIGTERM cancels the graceful stage, the second cancels the abort stage
// when some work holds it, and a third — or a second while nothing holds
// the abort stage — exits at once with 128+signal. What a command does at
// each stage is the contract documented on command.
type stopper struct {
	graceful, abort         context.Context
	stopGraceful, stopAbort context.CancelCauseFunc
	stderr                  io.Writer
	exit                    func(code int) // os.Exit in main

	mu        sync.Mutex
	received  int            // stop signals so far
	holds     int            // work under way that the abort stage cancels
	abortedBy syscall.Signal // the signal that cancelled the abort stage, 0 if none
}

// stopSignal is the cause of a cancelled stage: the signal that ended it.
type stopSignal struct {
	sig   syscall.Signal
	count int // 1 for the graceful stage, 2 for the abort stage
}

func (e *stopSignal) Error() string {
	if e.count == 1 {
		return fmt.Sprintf("%v signal received", e.sig)
	}
	return fmt.Sprintf("second %v signal received: aborting", e.sig)
}

// newStopper returns the stages derived from parent; the abort stage also
// ends the graceful one. exit is called for the last stage.
func newStopper(parent context.Context, stderr io.Writer, exit func(int)) *stopper {
	s := &stopper{stderr: stderr, exit: exit}
	s.abort, s.stopAbort = context.WithCancelCause(parent)
	s.graceful, s.stopGraceful = context.WithCancelCause(s.abort)
	return s
}

type stopperKey struct{}

// context returns the graceful stage carrying s: what main passes to run.
func (s *stopper) context() context.Context {
	return context.WithValue(s.graceful, stopperKey{}, s)
}

// stopperFrom returns the stopper ctx carries. Without one (run called by a
// test), ctx is the graceful stage and the abort stage only ends with it.
func stopperFrom(ctx context.Context) *stopper {
	if s, ok := ctx.Value(stopperKey{}).(*stopper); ok {
		return s
	}
	return newStopper(ctx, io.Discard, func(int) {})
}

// notify delivers SIGINT and SIGTERM to s until the returned function is
// called.
func (s *stopper) notify() (stop func()) {
	ch := make(chan os.Signal, 3)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case sig := <-ch:
				s.receive(sig.(syscall.Signal))
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(ch)
		close(done)
	}
}

// receive moves the stop one stage on.
func (s *stopper) receive(sig syscall.Signal) {
	s.mu.Lock()
	s.received++
	n, held := s.received, s.holds > 0
	if n == 2 && held {
		s.abortedBy = sig
	}
	s.mu.Unlock()
	switch {
	case n == 1:
		s.stopGraceful(&stopSignal{sig: sig, count: 1})
	case n == 2 && held:
		s.stopAbort(&stopSignal{sig: sig, count: 2})
	default:
		fmt.Fprintf(s.stderr, "lamers: %v signal received again: exiting at once\n", sig)
		s.exit(128 + int(sig))
	}
}

// hold returns the abort stage for work that the second signal cancels at
// once (network exchanges in flight, such as an SMTP transaction or a
// probe round finished after the first signal), and the function to call
// when that work is over. While nothing is held, a second signal exits at
// once.
func (s *stopper) hold() (context.Context, func()) {
	s.mu.Lock()
	s.holds++
	s.mu.Unlock()
	return s.abort, sync.OnceFunc(func() {
		s.mu.Lock()
		s.holds--
		s.mu.Unlock()
	})
}

// exitCode is exitCode for what run returned, except that a run whose
// abort stage was cancelled exits with 128+signal, as a process killed by
// the signal would.
func (s *stopper) exitCode(err error, stderr io.Writer) int {
	code := exitCode(err, stderr)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.abortedBy != 0 {
		return 128 + int(s.abortedBy)
	}
	return code
}

// notifyHangup delivers SIGHUP (reopen files, reread the configuration)
// until the returned function is called.
func notifyHangup() (<-chan os.Signal, func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	return ch, func() { signal.Stop(ch) }
}
