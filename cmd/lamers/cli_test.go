package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCLI(t *testing.T) {
	env := testEnv(t)
	dir := t.TempDir()
	log := copyFixture(t, dir, "bind9.log")
	tests := []struct {
		name     string
		args     []string
		wantCode int
		stdout   string // substring
		stderr   string // substring
	}{
		{"no command", nil, 2, "", "Commands:"},
		{"help", []string{"help"}, 0, "Commands:", ""},
		{"unknown command", []string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{"scan help", []string{"scan", "--help"}, 0, "Usage: lamers scan", ""},
		{"help scan", []string{"help", "scan"}, 0, "--format", ""},
		{"report help", []string{"report", "-h"}, 0, "--since", ""},
		{"version help", []string{"version", "--help"}, 0, "Usage: lamers version", ""},
		{"scan without files", []string{"scan"}, 2, "", "no files given"},
		{"scan missing file", []string{"scan", filepath.Join(dir, "nope.log")}, 2, "files: 0", "no such file"},
		{"flags after positional arguments", []string{"scan", log, "--format", "auto", "--no-progress"}, 0, "lines read: 188", ""},
		{"global flag after the command", []string{"report", "--db", env["LAMERS_DB"], "--format", "csv"}, 0, "zone,qname,server", ""},
		{"bad report format", []string{"report", "--format", "xml"}, 2, "", `"xml" is not one of table, json, csv`},
		{"bad since", []string{"report", "--since", "yesterday"}, 2, "", "--since"},
		{"bad status", []string{"report", "--status", "broken"}, 2, "", "--status"},
		{"report filters by zone", []string{"report", "--zone", "UPREF.lab"}, 0, "upref.lab.", ""},
		{"bad scan format", []string{"scan", "--format", "nope", log}, 2, "", "--format"},
		{"version", []string{"version"}, 0, "sqlite 3.", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := lamers(t, env, nil, tt.args...)
			if r.code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.wantCode, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout, tt.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tt.stdout, r.stdout)
			}
			if !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderr, r.stderr)
			}
		})
	}
}

// Standard input is ingested exactly once too.
func TestScanStdin(t *testing.T) {
	env := testEnv(t)
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "lab", "bind9.log"))
	if err != nil {
		t.Fatal(err)
	}
	r := lamers(t, env, strings.NewReader(string(data)), "scan", "-")
	if r.code != 0 || !strings.Contains(r.stdout, "lines read: 188") {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = lamers(t, env, strings.NewReader(string(data)), "scan", "-")
	if !strings.Contains(r.stdout, "lines read: 0\n") || !strings.Contains(r.stdout, "already ingested by earlier runs: 188") {
		t.Fatalf("second scan of the same input:\n%s", r.stdout)
	}
}

// Attacker-influenced text never reaches the terminal raw.
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
	if strings.ContainsRune(r.stdout+r.stderr, 0x1b) {
		t.Fatalf("raw escape in scan output: %q", r.stdout)
	}
	r = lamers(t, env, nil, "report")
	if strings.ContainsRune(r.stdout, 0x1b) || r.code != 0 {
		t.Fatalf("raw escape in report: %q", r.stdout)
	}
}
