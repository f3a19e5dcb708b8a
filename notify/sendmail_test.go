package notify

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

	"github.com/google/go-cmp/cmp"
)

// fakeSendmail writes a sendmail stand-in into a new directory: it
// records its arguments (one a line) and, when read is true, its
// standard input, runs the shell lines then, and exits with code.
func fakeSendmail(t *testing.T, read bool, then string, code int) (path, dir string) {
	t.Helper()
	dir = t.TempDir()
	path = filepath.Join(dir, "sendmail")
	script := "#!/bin/sh\nd=$(dirname \"$0\")\nprintf '%s\\n' \"$@\" > \"$d/argv\"\n"
	if read {
		script += "cat > \"$d/stdin\"\n"
	}
	script += then + "\nexit " + strconv.Itoa(code) + "\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path, dir
}

// TestSendmail: the exit statuses of sysexits.h, the command line, and
// the message on standard input with LF line ends.
func TestSendmail(t *testing.T) {
	w := newTestWriter(t, "", testSettings)
	for _, c := range []struct {
		name   string
		then   string
		code   int
		res    Result
		detail string
		err    bool
	}{
		{"sent", "", 0, ResultSent, "exit 0", false},
		// Postfix's sendmail exits 75 when postdrop cannot queue.
		{"tempfail", "echo 'sendmail: fatal: queue file write error' >&2", 75, ResultDeferred,
			"exit 75 (EX_TEMPFAIL): sendmail: fatal: queue file write error", false},
		{"nouser", "", 67, ResultRejected, "exit 67 (EX_NOUSER)", false},
		{"nohost", "", 68, ResultRejected, "exit 68 (EX_NOHOST)", false},
		{"other", "", 1, ResultDeferred, "exit 1", false},
		{"config", "echo 'bad main.cf' >&2", 78, ResultDeferred, "exit 78 (EX_CONFIG): bad main.cf", true},
		{"usage", "", 64, ResultDeferred, "exit 64 (EX_USAGE)", true},
		// Postfix's sendmail exits 77 when postdrop may not be run.
		{"noperm", "", 77, ResultDeferred, "exit 77 (EX_NOPERM)", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			path, dir := fakeSendmail(t, true, c.then, c.code)
			s := NewSendmail(path)
			if err := s.Open(context.Background()); err != nil {
				t.Fatal(err)
			}
			l := letterTo(t, w, "hostmaster@example.com")
			d := s.Send(context.Background(), l)
			if d.Result != c.res || d.Detail != c.detail || (d.Err != nil) != c.err || d.Code != 0 {
				t.Errorf("Send = %+v, want %v %q (err %v)", d, c.res, c.detail, c.err)
			}
			// 64, 77 and 78 say the setting is wrong: the run ends.
			if errors.Is(d.Err, ErrRelaySetting) != c.err {
				t.Errorf("Send's Err %v: matches ErrRelaySetting %v, want %v", d.Err, !c.err, c.err)
			}
			argv, err := os.ReadFile(filepath.Join(dir, "argv"))
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"-f", l.EnvelopeFrom, "-i", "--", l.To}
			if got := strings.Split(strings.TrimSuffix(string(argv), "\n"), "\n"); !cmp.Equal(got, want) {
				t.Errorf("argv %q, want %q", got, want)
			}
			stdin, err := os.ReadFile(filepath.Join(dir, "stdin"))
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(stdin, []byte("\r")) {
				t.Error("the message has CR line ends")
			}
			checkReceived(t, stdin, l)
		})
	}
}

// TestSendmailKilled: killed at the timeout after reading the message,
// sendmail may have queued it (unknown); killed before reading all of it,
// it cannot have (deferred).
func TestSendmailKilled(t *testing.T) {
	w := newTestWriter(t, "", testSettings)
	t.Run("after reading", func(t *testing.T) {
		path, _ := fakeSendmail(t, true, "exec sleep 30", 0)
		s := &Sendmail{Path: path, Timeout: 300 * time.Millisecond}
		start := time.Now()
		d := s.Send(context.Background(), letterTo(t, w, "hostmaster@example.com"))
		if d.Result != ResultUnknown || !strings.Contains(d.Detail, "killed") || d.Err != nil {
			t.Errorf("Send = %+v", d)
		}
		if time.Since(start) > 20*time.Second {
			t.Errorf("Send took %v", time.Since(start))
		}
	})
	t.Run("before reading", func(t *testing.T) {
		path, _ := fakeSendmail(t, false, "exec sleep 30", 0)
		s := &Sendmail{Path: path, Timeout: 300 * time.Millisecond}
		l := letterTo(t, w, "hostmaster@example.com")
		l.Text = strings.Repeat("A line of a long message.\n", 40000) // more than a pipe holds
		d := s.Send(context.Background(), l)
		if d.Result != ResultDeferred || !strings.Contains(d.Detail, "killed") {
			t.Errorf("Send = %+v", d)
		}
	})
	t.Run("stopped", func(t *testing.T) {
		path, _ := fakeSendmail(t, true, "exec sleep 30", 0)
		s := &Sendmail{Path: path, Timeout: time.Minute}
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		d := s.Send(ctx, letterTo(t, w, "hostmaster@example.com"))
		if d.Result != ResultUnknown || d.Err == nil {
			t.Errorf("Send = %+v", d)
		}
		if d := s.Send(ctx, letterTo(t, w, "hostmaster@example.com")); d.Result != ResultDeferred || d.Err == nil {
			t.Errorf("Send after the end = %+v", d)
		}
	})
}

// TestSendmailOpen: a path that cannot be run stops the run at Open.
func TestSendmailOpen(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, want string }{
		{"sendmail", "not an absolute path"},
		{filepath.Join(dir, "missing"), "no such file"},
		{dir, "not a regular file"},
		{plain, "not executable"},
	} {
		err := NewSendmail(c.path).Open(context.Background())
		if err == nil || !strings.HasPrefix(err.Error(), "notify: sendmail_path") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Open(%s): %v, want %q", c.path, err, c.want)
		}
		if !errors.Is(err, ErrRelaySetting) {
			t.Errorf("Open(%s): %v does not match ErrRelaySetting", c.path, err)
		}
	}
	// A binary that vanishes after Open: the run stops.
	d := NewSendmail(filepath.Join(dir, "missing")).Send(context.Background(), letterTo(t, newTestWriter(t, "", testSettings), "a@example.com"))
	if d.Result != ResultDeferred || !errors.Is(d.Err, ErrRelaySetting) {
		t.Errorf("Send = %+v, want deferred, Err matching ErrRelaySetting", d)
	}
	// A letter that is not sendable never reaches the binary.
	path, pdir := fakeSendmail(t, true, "", 0)
	l := letterTo(t, newTestWriter(t, "", testSettings), "a@example.com")
	l.To = "a@example.com\r\nBcc: victim@example.org"
	if d := NewSendmail(path).Send(context.Background(), l); d.Result != ResultDeferred || d.Err == nil {
		t.Errorf("Send of a bad letter = %+v", d)
	}
	if _, err := os.Stat(filepath.Join(pdir, "argv")); err == nil {
		t.Error("sendmail ran for a bad letter")
	}
}

// A wrong sendmail_path, or a sendmail that says its setting is wrong, ends
// a sending run with ErrRelaySetting: nothing is recorded for a path that
// cannot be run, the first message deferred for EX_CONFIG, and no other
// message handed over.
func TestSendmailSettingEndsRun(t *testing.T) {
	config, _ := fakeSendmail(t, true, "echo 'postdrop: fatal: bad main.cf' >&2", 78)
	for _, c := range []struct {
		name, path string
		want       []string // the outbox
	}{
		{"missing", filepath.Join(t.TempDir(), "sendmail"), nil},
		{"relative", "sbin/sendmail", nil},
		{"EX_CONFIG", config, []string{"hostmaster@a.example deferred"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			tn := newTestNotifier(t, nil)
			seed(t, tn.db, spec{zone: "a.example.", server: "192.0.2.1", confirmed: 9 * day},
				spec{zone: "b.example.", server: "192.0.2.2", confirmed: 8 * day})
			tn.Transport, tn.TransportName = NewSendmail(c.path), "sendmail"
			tn.Composer = newTestWriter(t, "", testSettings)
			_, err := tn.Run(context.Background(), Options{Send: true})
			if !errors.Is(err, ErrRelaySetting) || !strings.HasPrefix(err.Error(), "notify: relay: ") {
				t.Errorf("Run = %v, want the relay setting named", err)
			}
			var got []string
			for _, row := range outbox(t, tn.db) {
				got = append(got, strings.Join(strings.Fields(row)[:2], " "))
			}
			if !cmp.Equal(got, c.want) {
				t.Errorf("outbox %q, want %q", got, c.want)
			}
		})
	}
}
