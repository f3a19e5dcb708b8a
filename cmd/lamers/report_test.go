package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

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
	if r.code != 0 || strings.ContainsRune(r.stdout+r.stderr, 0x1b) {
		t.Fatalf("scan: exit %d, want 0 and no raw escape: %q %q", r.code, r.stdout, r.stderr)
	}
	// The unrecognised line is shown as a sample, escaped.
	if want := `lame server \x1b[31mresolving garbage`; !strings.Contains(r.stdout, want) {
		t.Errorf("scan output lacks the escaped sample %q: %q", want, r.stdout)
	}
	r = lamers(t, env, nil, "report")
	if r.code != 0 || strings.ContainsRune(r.stdout+r.stderr, 0x1b) {
		t.Fatalf("report: exit %d, want 0 and no raw escape: %q %q", r.code, r.stdout, r.stderr)
	}
	// The zone keeps BIND's escape of the ESC octet.
	if want := `evil\027lab.`; !strings.Contains(r.stdout, want) {
		t.Errorf("report lacks the zone %q: %q", want, r.stdout)
	}
}
