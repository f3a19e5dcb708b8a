package main

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lamers-dev/lamers/store"
)

// stream is what one output stream of a command must be: exactly a text
// (exactly, empty), or a text that holds each of some substrings
// (containing). A row must state both of its streams: the zero stream
// fails the row, so that none can pass by saying nothing.
type stream struct {
	exact    *string
	contains []string
}

func exactly(s string) stream          { return stream{exact: &s} }
func empty() stream                    { return exactly("") }
func containing(subs ...string) stream { return stream{contains: subs} }

// check reports how got, the output on the stream named name, differs
// from s.
func (s stream) check(t *testing.T, name, got string) {
	t.Helper()
	switch {
	case s.exact != nil:
		if got != *s.exact {
			t.Errorf("%s = %q, want %q", name, got, *s.exact)
		}
	case len(s.contains) == 0:
		t.Errorf("the row states nothing about %s (use exactly, empty or containing)", name)
	default:
		for _, sub := range s.contains {
			if sub == "" {
				t.Errorf("the row's %s substrings include \"\", which every output contains", name)
			} else if !strings.Contains(got, sub) {
				t.Errorf("%s lacks %q:\n%s", name, sub, got)
			}
		}
	}
}

// usageText is what a usage error prints on stderr.
func usageText(msg string) stream {
	return exactly("lamers: " + msg + "\nRun 'lamers help' for usage.\n")
}

func TestCLI(t *testing.T) {
	env := testEnv(t)
	dir := t.TempDir()
	log := copyFixture(t, dir, "bind9.log")
	missing := filepath.Join(dir, "nope.log")
	emptySummary := "files: 0\nlines read: 0\nlines recognised: 0\nlame-looking lines not understood: 0\nfindings: 0 new, 0 updated\n"
	tests := []struct {
		name           string
		args           []string
		wantCode       int
		stdout, stderr stream
	}{
		{"no command", nil, 2, empty(), containing("Usage:\n  lamers [--config FILE]", "Commands:\n  scan ")},
		{"help", []string{"help"}, 0, containing("Usage:\n  lamers [--config FILE]", "Commands:\n  scan "), empty()},
		{"unknown command", []string{"frobnicate"}, 2, empty(), usageText(`unknown command "frobnicate"`)},
		{"scan help", []string{"scan", "--help"}, 0, containing("Usage: lamers scan [flags] FILE... | -\n", "--no-progress"), empty()},
		{"help scan", []string{"help", "scan"}, 0, containing("Usage: lamers scan [flags] FILE... | -\n", "--format"), empty()},
		{"report help", []string{"report", "-h"}, 0, containing("Usage: lamers report [flags]", "--since"), empty()},
		{"version help", []string{"version", "--help"}, 0, containing("Usage: lamers version [flags]", "smoke test"), empty()},
		{"scan without files", []string{"scan"}, 2, empty(), usageText("scan: no files given (use - for standard input)")},
		{"scan missing file", []string{"scan", missing}, 2, exactly(emptySummary),
			exactly("lamers: scan " + missing + ": open " + missing + ": no such file or directory\nlamers: scan: 1 of 1 inputs failed\n")},
		{"flags after positional arguments", []string{"scan", log, "--format", "auto", "--no-progress"}, 0,
			exactly("files: 1\nlines read: 188\nlines recognised: 176\nlame-looking lines not understood: 0\nfindings: 11 new, 0 updated\n"), empty()},
		{"global flag after the command", []string{"report", "--db", env["LAMERS_DB"], "--format", "csv"}, 0,
			containing("zone,qname,server,port,server_names,sources,observed,count,first_seen,last_seen,status,reason,rounds,last_probed\n",
				",www.servfail.lab.,127.53.4.1,53,,bind,servfail,18,2026-11-22T02:01:50Z,2026-11-22T02:02:23Z,new,,0,\n"), empty()},
		{"bad report format", []string{"report", "--format", "xml"}, 2, empty(), usageText(`report: --format: "xml" is not one of table, json, csv`)},
		{"bad since", []string{"report", "--since", "yesterday"}, 2, empty(),
			usageText(`report: --since: "yesterday" is not a date, an RFC 3339 time or a duration`)},
		{"bad status", []string{"report", "--status", "broken"}, 2, empty(),
			usageText(`report: --status: "broken" is not one of new, suspect, lame, unresponsive, ok, fixed, stale, inconclusive`)},
		{"report filters by zone", []string{"report", "--zone", "UPREF.lab"}, 0,
			exactly("ZONE        SERVER      NS  STATUS  REASON  ROUNDS  COUNT  OBSERVED       LAST SEEN\n" +
				"upref.lab.  127.53.4.1  -   new     -       0       18     lame_referral  2026-11-22 02:02\n"), empty()},
		{"bad scan format", []string{"scan", "--format", "nope", log}, 2, empty(),
			usageText(`scan: --format: parser: unknown log format "nope" (valid: auto, bind, unbound, unbound-infra)`)},
		{"version", []string{"version"}, 0, containing("lamers ", "\ngo1.", "\nsqlite 3."), empty()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := lamers(t, env, nil, tt.args...)
			if r.code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.wantCode, r.stdout, r.stderr)
			}
			tt.stdout.check(t, "stdout", r.stdout)
			tt.stderr.check(t, "stderr", r.stderr)
		})
	}
}

// Attacker-influenced text never reaches the terminal raw: not the sample
// of a line that was not understood, not a name stored in the database.
func TestReportTableEscapes(t *testing.T) {
	env := testEnv(t)
	dir := t.TempDir()
	log := filepath.Join(dir, "evil.log")
	line := "lame server resolving 'www.evil\\027lab' (in 'evil\\027lab'?): 192.0.2.1#53\n" +
		"lame server \x1b[31mresolving garbage\n"
	if err := os.WriteFile(log, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	r := lamers(t, env, nil, "scan", log)
	if r.code != 0 || !strings.Contains(r.stdout, "  first: "+log+": lame server \\x1b[31mresolving garbage\n") {
		t.Fatalf("scan: exit %d, want 0 and the line not understood shown escaped:\n%s%s", r.code, r.stdout, r.stderr)
	}
	if strings.ContainsRune(r.stdout+r.stderr, 0x1b) {
		t.Fatalf("raw escape in scan output: %q", r.stdout)
	}
	// The parser keeps BIND's escapes, so no log line stores a raw control
	// character; a finding committed directly to the store does.
	db, err := store.Open(context.Background(), env["LAMERS_DB"])
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2026, 11, 22, 2, 1, 50, 0, time.UTC)
	_, err = db.Commit(context.Background(), store.Batch{
		Base: store.Checkpoint{Fingerprint: []byte("cli_test")},
		Next: store.Checkpoint{Offset: 1, Lines: 1, Path: "forged"},
		Counts: []store.Count{{Zone: "raw\x1b[2J.example.", QName: "www\a.raw\x1b[2J.example.", Server: netip.MustParseAddr("192.0.2.2"),
			Port: 53, Source: "bind", Evidence: "lame_referral", Day: "2026-11-22", N: 1, First: ts, Last: ts}},
	})
	if err := errors.Join(err, db.Close(context.Background())); err != nil {
		t.Fatal(err)
	}
	r = lamers(t, env, nil, "report")
	if r.code != 0 || strings.ContainsRune(r.stdout, 0x1b) || !strings.Contains(r.stdout, "raw\\x1b[2J.example. ") ||
		!strings.Contains(r.stdout, "evil\\027lab. ") {
		t.Fatalf("report: exit %d, want 0 and both findings with their names escaped, no raw escape: %q", r.code, r.stdout)
	}
}
