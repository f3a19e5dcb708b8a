package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// DefaultSendmailTimeout bounds one run of the sendmail binary.
const DefaultSendmailTimeout = time.Minute

// sendmailWaitDelay is how long Send waits for the binary's output after
// killing it at the timeout (a child it forked may hold the pipes).
const sendmailWaitDelay = 2 * time.Second

// Sendmail hands letters to a local sendmail binary (Postfix, Exim and
// others provide one): "PATH -f SENDER -i -- RCPT" with the message on its
// standard input, LF line ends. -f sets the envelope sender (the VERP
// address), -i keeps a line of a single dot from ending the message, and
// "--" keeps a recipient from being read as an option.
type Sendmail struct {
	// Path is notify.sendmail_path, an absolute path.
	Path string
	// Timeout bounds each run; DefaultSendmailTimeout when zero.
	Timeout time.Duration
}

// NewSendmail returns the sendmail transport for path.
func NewSendmail(path string) *Sendmail {
	return &Sendmail{Path: path, Timeout: DefaultSendmailTimeout}
}

// Open checks that Path is an executable file, so that a wrong path stops
// the run before its first message: its error matches ErrRelaySetting.
func (s *Sendmail) Open(ctx context.Context) error {
	if !filepath.IsAbs(s.Path) {
		return badSetting(fmt.Errorf("notify: sendmail_path %s: not an absolute path", quoteText(s.Path)))
	}
	fi, err := os.Stat(s.Path)
	switch {
	case err != nil:
		return badSetting(fmt.Errorf("notify: sendmail_path: %w", err))
	case !fi.Mode().IsRegular():
		return badSetting(fmt.Errorf("notify: sendmail_path %s: not a regular file", quoteText(s.Path)))
	case fi.Mode().Perm()&0o111 == 0:
		return badSetting(fmt.Errorf("notify: sendmail_path %s: not executable", quoteText(s.Path)))
	}
	return nil
}

// Close does nothing: every Send runs the binary anew.
func (s *Sendmail) Close(ctx context.Context) error { return nil }

// The exit statuses of sendmail that Send tells apart (BSD sysexits.h).
const (
	exUsage  = 64
	exNoUser = 67
	exNoHost = 68
	exNoPerm = 77
	exConfig = 78
)

// sysexits names the exit statuses of sysexits.h, for Detail.
var sysexits = map[int]string{
	64: "EX_USAGE", 65: "EX_DATAERR", 66: "EX_NOINPUT", 67: "EX_NOUSER", 68: "EX_NOHOST",
	69: "EX_UNAVAILABLE", 70: "EX_SOFTWARE", 71: "EX_OSERR", 72: "EX_OSFILE", 73: "EX_CANTCREAT",
	74: "EX_IOERR", 75: "EX_TEMPFAIL", 76: "EX_PROTOCOL", 77: "EX_NOPERM", 78: "EX_CONFIG",
}

// Send runs sendmail for l and maps its exit status: 0 sent; 67
// (EX_NOUSER) and 68 (EX_NOHOST) rejected; 75 (EX_TEMPFAIL) and any other
// status deferred — 64, 77 and 78 (usage, permission, configuration) also
// set Err, matching ErrRelaySetting, as every later message would fail
// alike; so does a binary that is gone or not permitted to run. Killed (by the
// timeout, ctx or anything else) after the whole message was written to
// it: unknown, it may have queued it; before that: deferred.
func (s *Sendmail) Send(ctx context.Context, l *Letter) Delivery {
	if ctx.Err() != nil {
		return Delivery{Result: ResultDeferred, Detail: "not handed over: stopped", Err: ctx.Err()}
	}
	data, err := l.bytes()
	if err != nil {
		return Delivery{Result: ResultDeferred, Detail: oneLine(err.Error()), Err: fmt.Errorf("notify: sendmail: %w", err)}
	}
	data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultSendmailTimeout
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(rctx, s.Path, "-f", l.EnvelopeFrom, "-i", "--", l.To)
	cmd.WaitDelay = sendmailWaitDelay
	out := &headBuffer{max: 4096}
	cmd.Stdout, cmd.Stderr = out, out
	stdin, err := cmd.StdinPipe()
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		err = fmt.Errorf("notify: sendmail: run %s: %w", quoteText(s.Path), err)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			err = badSetting(err)
		}
		return Delivery{Result: ResultDeferred, Detail: oneLine(err.Error()), Err: err}
	}
	_, werr := stdin.Write(data)
	if cerr := stdin.Close(); werr == nil {
		werr = cerr
	}
	written := werr == nil
	err = cmd.Wait()
	d := s.delivery(err, written, out.String())
	if ctx.Err() != nil && d.Err == nil {
		d.Err = ctx.Err()
	} else if rctx.Err() != nil && d.Result != ResultSent {
		d.Detail = oneLine(fmt.Sprintf("killed after %v: %s", timeout, d.Detail))
	}
	return d
}

// delivery maps sendmail's end: err from Wait, whether the whole message
// was written, and the start of its output.
func (s *Sendmail) delivery(err error, written bool, output string) Delivery {
	detail := func(status string) string {
		if output == "" {
			return oneLine(status)
		}
		return oneLine(status + ": " + output)
	}
	if err == nil {
		return Delivery{Result: ResultSent, Detail: detail("exit 0")}
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		// The output could not be read (WaitDelay ran out): its status is
		// not known.
		if written {
			return Delivery{Result: ResultUnknown, Detail: detail(err.Error())}
		}
		return Delivery{Result: ResultDeferred, Detail: detail(err.Error())}
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		status := "killed by " + ws.Signal().String()
		if written {
			return Delivery{Result: ResultUnknown, Detail: detail(status + " after reading the message")}
		}
		return Delivery{Result: ResultDeferred, Detail: detail(status + " before reading the whole message")}
	}
	code := ee.ExitCode()
	status := fmt.Sprintf("exit %d", code)
	if name, ok := sysexits[code]; ok {
		status += " (" + name + ")"
	}
	switch code {
	case exNoUser, exNoHost:
		return Delivery{Result: ResultRejected, Detail: detail(status)}
	case exUsage, exNoPerm, exConfig:
		return Delivery{Result: ResultDeferred, Detail: detail(status),
			Err: badSetting(fmt.Errorf("notify: sendmail %s: %s: %s", quoteText(s.Path), status, oneLine(output)))}
	default: // EX_TEMPFAIL (75) and the rest
		return Delivery{Result: ResultDeferred, Detail: detail(status)}
	}
}

// headBuffer keeps the first max bytes written to it and drops the rest.
type headBuffer struct {
	b   bytes.Buffer
	max int
}

func (h *headBuffer) Write(p []byte) (int, error) {
	if room := h.max - h.b.Len(); room > 0 {
		h.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (h *headBuffer) String() string { return h.b.String() }
