package notify_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lamers-dev/lamers/notify"
)

// fakeSendmail is a sendmail the test writes: it records its arguments
// (one a line) in argv and its standard input in stdin, writes the file
// stderr (if any) to its standard error, and exits with status. sleep,
// when not "", is how long it waits: before reading its input when early
// is set, after it otherwise (exec, so that the timeout kills the sleep).
type fakeSendmail struct {
	status int
	stderr string
	sleep  string
	early  bool
}

func (f fakeSendmail) install(t *testing.T) (path, dir string) {
	t.Helper()
	dir = t.TempDir()
	script := "#!/bin/sh\n" +
		"dir=$(dirname \"$0\")\n" +
		"printf '%s\\n' \"$@\" > \"$dir/argv\"\n"
	read := "cat > \"$dir/stdin\"\n"
	var wait string
	if f.sleep != "" {
		wait = "exec sleep " + f.sleep + "\n"
	}
	if f.early {
		script += wait + read
	} else {
		if f.stderr != "" {
			script += "printf '%s' '" + f.stderr + "' >&2\n"
		}
		script += read
		if wait != "" {
			script += wait
		}
	}
	script += "exit " + strconv.Itoa(f.status) + "\n"
	path = filepath.Join(dir, "sendmail")
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path, dir
}

func sendmail(t *testing.T, path string, timeout time.Duration) *notify.Sendmail {
	t.Helper()
	s, err := notify.NewSendmail(path, timeout)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSendmail(t *testing.T) {
	path, dir := fakeSendmail{}.install(t)
	s := sendmail(t, path, 0)
	// A recipient that looks like an option stays a recipient after "--".
	l := letterTo(t, "-oQ/tmp@example.com")
	d := s.Send(t.Context(), l)
	if d.Result != notify.ResultSent || d.Code != 0 || d.Err != nil || d.Detail != "sendmail exited 0" {
		t.Errorf("delivery %+v, want sent", d)
	}
	argv, err := os.ReadFile(filepath.Join(dir, "argv"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "-f\n" + l.EnvelopeFrom + "\n-i\n--\n-oQ/tmp@example.com\n"; string(argv) != want {
		t.Errorf("arguments:\n%s\nwant:\n%s", argv, want)
	}
	stdin, err := os.ReadFile(filepath.Join(dir, "stdin"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(stdin, []byte("\r")) {
		t.Error("CR in the message given to sendmail: it wants LF line ends")
	}
	checkMessage(t, bytes.ReplaceAll(stdin, []byte("\n"), []byte("\r\n")), l)
	if err := s.Close(t.Context()); err != nil {
		t.Error(err)
	}
}

// Exit statuses map to results (sysexits.h).
func TestSendmailExit(t *testing.T) {
	tests := []struct {
		status int
		result notify.Result
	}{
		{67, notify.ResultRejected}, // EX_NOUSER
		{68, notify.ResultRejected}, // EX_NOHOST
		{75, notify.ResultDeferred}, // EX_TEMPFAIL
		{69, notify.ResultDeferred}, // EX_UNAVAILABLE
		{1, notify.ResultDeferred},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.status), func(t *testing.T) {
			// Postfix's sendmail writes such a line before EX_NOUSER.
			path, _ := fakeSendmail{status: tt.status, stderr: "sendmail: fatal: gone@example.com:\n\tUser unknown\x1b[0m"}.install(t)
			d := sendmail(t, path, 0).Send(t.Context(), letterTo(t, "gone@example.com"))
			want := "sendmail exited " + strconv.Itoa(tt.status) + ": sendmail: fatal: gone@example.com:; ?User unknown?[0m"
			if d.Result != tt.result || d.Code != tt.status || d.Err != nil || d.Detail != want {
				t.Errorf("delivery %+v, want %s, %d, %q", d, tt.result, tt.status, want)
			}
		})
	}
}

// A sendmail killed after it had the whole message may have queued it:
// unknown; one killed before: deferred.
func TestSendmailTimeout(t *testing.T) {
	t.Run("after the message", func(t *testing.T) {
		path, dir := fakeSendmail{sleep: "30"}.install(t)
		start := time.Now()
		d := sendmail(t, path, 300*time.Millisecond).Send(t.Context(), letterTo(t, "hostmaster@example.com"))
		if d.Result != notify.ResultUnknown || d.Code != -1 || d.Err != nil || !strings.Contains(d.Detail, "timeout after 300ms") {
			t.Errorf("delivery %+v, want unknown after the timeout", d)
		}
		if time.Since(start) > 10*time.Second {
			t.Errorf("Send took %v", time.Since(start))
		}
		if _, err := os.Stat(filepath.Join(dir, "stdin")); err != nil {
			t.Errorf("the fake did not read the message: %v", err)
		}
	})
	t.Run("before the message", func(t *testing.T) {
		path, _ := fakeSendmail{sleep: "30", early: true}.install(t)
		l := letterTo(t, "hostmaster@example.com")
		l.Text = strings.Repeat("A line of a message too long for a pipe's buffer.\n", 20000) // 1 MB
		d := sendmail(t, path, 300*time.Millisecond).Send(t.Context(), l)
		if d.Result != notify.ResultDeferred || d.Code != -1 || !strings.Contains(d.Detail, "before it had the whole message") {
			t.Errorf("delivery %+v, want deferred", d)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		path, _ := fakeSendmail{sleep: "30"}.install(t)
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		d := sendmail(t, path, time.Minute).Send(ctx, letterTo(t, "hostmaster@example.com"))
		if d.Result != notify.ResultUnknown || !errors.Is(d.Err, context.DeadlineExceeded) {
			t.Errorf("delivery %+v, want unknown with the context's error", d)
		}
	})
}

func TestSendmailCannotRun(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "sendmail")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ path, want string }{
		{filepath.Join(dir, "none"), "notify.sendmail_path: stat"},
		{notExec, "not an executable file"},
		{dir, "not an executable file"},
	} {
		s, err := notify.NewSendmail(tt.path, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Open(t.Context()); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Open(%s): %v, want an error with %q", tt.path, err, tt.want)
		}
		if d := s.Send(t.Context(), letterTo(t, "hostmaster@example.com")); d.Result != notify.ResultDeferred || d.Err == nil {
			t.Errorf("Send(%s): %+v, want deferred with an error", tt.path, d)
		}
	}
	if _, err := notify.NewSendmail("", 0); err == nil || !strings.Contains(err.Error(), "notify.sendmail_path") {
		t.Errorf("NewSendmail(\"\"): %v", err)
	}
}

// A letter with hostile header text never reaches sendmail.
func TestSendmailRefusesHostileLetter(t *testing.T) {
	path, dir := fakeSendmail{}.install(t)
	l := letterTo(t, "hostmaster@example.com")
	l.Subject = "x\r\nBcc: victim@example.org"
	if d := sendmail(t, path, 0).Send(t.Context(), l); d.Result != notify.ResultDeferred || d.Err == nil {
		t.Errorf("delivery %+v", d)
	}
	if _, err := os.Stat(filepath.Join(dir, "argv")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("sendmail ran: %v", err)
	}
}
