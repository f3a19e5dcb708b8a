package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"
)

// Exit statuses of sendmail (sysexits.h, as Postfix, Exim and sendmail use
// them).
const (
	exNoUser   = 67 // EX_NOUSER: the recipient does not exist
	exNoHost   = 68 // EX_NOHOST: the recipient's domain does not exist
	exTempFail = 75 // EX_TEMPFAIL: try again later
)

// DefaultSendmailTimeout bounds one run of sendmail.
const DefaultSendmailTimeout = 2 * time.Minute

// maxStderr bounds what is kept of sendmail's standard error.
const maxStderr = 4096

// Sendmail is a Transport that runs the local sendmail program once per
// message: PATH -f SENDER -i -- RCPT, the message on its standard input
// with LF line ends. -f sets the envelope sender (the VERP address), -i
// keeps a line of a single "." from ending the message, and "--" ends the
// options, so that no recipient can be taken for one.
type Sendmail struct {
	path    string
	timeout time.Duration
}

var _ Transport = (*Sendmail)(nil)

// NewSendmail returns a Sendmail transport running path
// (notify.sendmail_path), each run bounded by timeout (0 is
// DefaultSendmailTimeout).
func NewSendmail(path string, timeout time.Duration) (*Sendmail, error) {
	if path == "" {
		return nil, errors.New("notify: notify.sendmail_path: not set")
	}
	if timeout < 0 {
		return nil, fmt.Errorf("notify: sendmail: negative timeout %v", timeout)
	}
	if timeout == 0 {
		timeout = DefaultSendmailTimeout
	}
	return &Sendmail{path: path, timeout: timeout}, nil
}

// Open checks that the program exists and may be run.
func (s *Sendmail) Open(context.Context) error {
	fi, err := os.Stat(s.path)
	if err != nil {
		return fmt.Errorf("notify: notify.sendmail_path: %w", err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("notify: notify.sendmail_path %s: not an executable file", s.path)
	}
	return nil
}

// Send runs sendmail for l. Exit status 0 is ResultSent; 67 (EX_NOUSER)
// and 68 (EX_NOHOST) ResultRejected; 75 (EX_TEMPFAIL) and any other status
// ResultDeferred. When sendmail is killed — by the timeout, ctx, or a
// signal — after it was given the whole message, the result is
// ResultUnknown: it may have queued the message; before that, it is
// ResultDeferred.
func (s *Sendmail) Send(ctx context.Context, l *Letter) Delivery {
	raw, err := prepare(ctx, "sendmail", l)
	if err != nil {
		return stopped(err)
	}
	raw = bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n"))

	tctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	cmd := exec.CommandContext(tctx, s.path, "-f", l.EnvelopeFrom, "-i", "--", l.To)
	cmd.WaitDelay = time.Second // children that keep stderr open do not hold Wait
	stderr := &limitedBuffer{max: maxStderr}
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return s.cannotRun(err)
	}
	if err := cmd.Start(); err != nil {
		return s.cannotRun(err)
	}
	_, werr := stdin.Write(raw)
	if cerr := stdin.Close(); werr == nil {
		werr = cerr
	}
	written := werr == nil
	err = cmd.Wait()

	var exit *exec.ExitError
	switch {
	case err == nil:
		return Delivery{Result: ResultSent, Detail: detail("sendmail exited 0")}
	case errors.As(err, &exit) && exit.ExitCode() >= 0:
		code := exit.ExitCode()
		d := Delivery{Result: ResultDeferred, Code: code, Detail: detail("sendmail exited %d: %s", code, stderr.String())}
		if code == exNoUser || code == exNoHost {
			d.Result = ResultRejected
		}
		return d
	case errors.As(err, &exit): // killed by a signal
		why := exit.String()
		switch {
		case ctx.Err() != nil:
			why = ctx.Err().Error()
		case tctx.Err() != nil:
			why = fmt.Sprintf("timeout after %v", s.timeout)
		}
		d := Delivery{Result: ResultDeferred, Code: -1, Detail: detail("sendmail killed (%s) before it had the whole message: %s", why, stderr.String())}
		if written {
			d.Result = ResultUnknown
			d.Detail = detail("sendmail killed (%s) after it had the message: %s", why, stderr.String())
		}
		if ctx.Err() != nil {
			d.Err = fmt.Errorf("notify: sendmail: send %s: %w", l.MessageID, ctx.Err())
		}
		return d
	default: // Wait's own failure: the outcome is sendmail's, and unknown
		d := Delivery{Result: ResultDeferred, Code: -1, Detail: detail("sendmail: %v", err)}
		if written {
			d.Result = ResultUnknown
		}
		return d
	}
}

// cannotRun is the Delivery of a sendmail that could not be started.
func (s *Sendmail) cannotRun(err error) Delivery {
	err = fmt.Errorf("notify: sendmail: run %s: %w", s.path, err)
	return Delivery{Result: ResultDeferred, Code: -1, Detail: oneLine(err.Error()), Err: err}
}

// Close does nothing: each message has a run of its own.
func (s *Sendmail) Close(context.Context) error { return nil }

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	buf bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string { return b.buf.String() }
