package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// output is what one output stream of a command must be: exactly a text,
// a text containing a part, or nothing. The zero value is no statement at
// all, and a table row that leaves a stream at it fails: every row says
// what both streams must be, so that every row can fail.
type output struct {
	how  outputCheck
	text string
}

type outputCheck int

const (
	unstated outputCheck = iota
	isExactly
	contains
	isEmpty
)

func exactly(s string) output { return output{isExactly, s} }
func holding(s string) output { return output{contains, s} }
func nothing() output         { return output{how: isEmpty} }

// check fails t unless got is what o states.
func (o output) check(t *testing.T, stream, got string) {
	t.Helper()
	switch o.how {
	case isExactly:
		if got != o.text {
			t.Errorf("%s = %q, want %q", stream, got, o.text)
		}
	case contains:
		if o.text == "" {
			t.Fatalf("%s: the row checks for an empty part, which every output holds", stream)
		}
		if !strings.Contains(got, o.text) {
			t.Errorf("%s lacks %q:\n%s", stream, o.text, got)
		}
	case isEmpty:
		if got != "" {
			t.Errorf("%s = %q, want nothing", stream, got)
		}
	default:
		t.Fatalf("the row states nothing about %s", stream)
	}
}

func TestCLI(t *testing.T) {
	env := testEnv(t)
	dir := t.TempDir()
	log := copyFixture(t, dir, "bind9.log")
	missing := filepath.Join(dir, "nope.log")
	const usageHint = "Run 'lamers help' for usage.\n"
	// The rows run in order on one database: the report rows read what
	// the scan row stored (bind9.log of the lab: BIND 9.18.49).
	tests := []struct {
		name           string
		args           []string
		wantCode       int
		stdout, stderr output
	}{
		{"no command", nil, 2, nothing(), holding("\nCommands:\n  scan ")},
		{"help", []string{"help"}, 0, holding("\nCommands:\n  scan "), nothing()},
		{"unknown command", []string{"frobnicate"}, 2, nothing(), exactly("lamers: unknown command \"frobnicate\"\n" + usageHint)},
		{"scan help", []string{"scan", "--help"}, 0, holding("Usage: lamers scan [flags] FILE... | -\n"), nothing()},
		{"help scan", []string{"help", "scan"}, 0, holding("\n  --format format\n"), nothing()},
		{"report help", []string{"report", "-h"}, 0, holding("\n  --since when\n"), nothing()},
		{"version help", []string{"version", "--help"}, 0, holding("Usage: lamers version [flags]"), nothing()},
		{"scan without files", []string{"scan"}, 2, nothing(), exactly("lamers: scan: no files given (use - for standard input)\n" + usageHint)},
		{"scan missing file", []string{"scan", missing}, 2,
			exactly("files: 0\nlines read: 0\nlines recognised: 0\nlame-looking lines not understood: 0\nfindings: 0 new, 0 updated\n"),
			exactly("lamers: scan " + missing + ": open " + missing + ": no such file or directory\nlamers: scan: 1 of 1 inputs failed\n")},
		{"flags after positional arguments", []string{"scan", log, "--format", "auto", "--no-progress"}, 0,
			holding("files: 1\nlines read: 188\n"), nothing()},
		{"global flag after the command", []string{"report", "--db", env["LAMERS_DB"], "--format", "csv"}, 0,
			holding("zone,qname,server,port,server_names,sources,observed,count,first_seen,last_seen,status,reason,rounds,last_probed,contact,contact_source,last_notified,needs_human,overflow\n"), nothing()},
		{"bad report format", []string{"report", "--format", "xml"}, 2, nothing(),
			exactly("lamers: report: --format: \"xml\" is not one of table, json, csv\n" + usageHint)},
		{"bad since", []string{"report", "--since", "yesterday"}, 2, nothing(),
			exactly("lamers: report: --since: \"yesterday\" is not a date, an RFC 3339 time or a duration\n" + usageHint)},
		{"bad status", []string{"report", "--status", "broken"}, 2, nothing(),
			holding("lamers: report: --status: \"broken\" is not one of new, suspect, lame,")},
		{"report filters by zone", []string{"report", "--zone", "UPREF.lab"}, 0,
			holding("\nupref.lab.  127.53.4.1  -   new "), nothing()},
		{"bad scan format", []string{"scan", "--format", "nope", log}, 2, nothing(),
			exactly("lamers: scan: --format: parser: unknown log format \"nope\" (valid: auto, bind, unbound, unbound-infra)\n" + usageHint)},
		{"version", []string{"version"}, 0, holding("\nsqlite 3."), nothing()},
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
