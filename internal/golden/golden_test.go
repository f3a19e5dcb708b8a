package golden

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// recorder is a testing.TB that records failures instead of reporting
// them; Fatalf ends the calling goroutine, as the real one does.
type recorder struct {
	testing.TB
	errors []string
	fatal  bool
}

func (r *recorder) Helper()             {}
func (r *recorder) Logf(string, ...any) {}
func (r *recorder) Errorf(f string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(f, args...))
}
func (r *recorder) Fatalf(f string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(f, args...))
	r.fatal = true
	runtime.Goexit()
}

// record runs f with a recorder on its own goroutine (Fatalf ends it).
func record(t *testing.T, f func(tb testing.TB)) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r
}

func withUpdate(t *testing.T, on bool) {
	old := *update
	*update = on
	t.Cleanup(func() { *update = old })
}

func TestCheck(t *testing.T) {
	t.Setenv("CI", "")
	dir := t.TempDir()
	path := filepath.Join(dir, "out.golden")
	withUpdate(t, false)

	r := record(t, func(tb testing.TB) { Check(tb, path, []byte("a\n")) })
	if !r.fatal || !strings.Contains(r.errors[0], "go test -update creates it") {
		t.Fatalf("missing golden file: fatal %v, errors %q; want a fatal error", r.fatal, r.errors)
	}

	withUpdate(t, true)
	if r := record(t, func(tb testing.TB) { Check(tb, filepath.Join(dir, "sub", "out.golden"), []byte("a\nb\n")) }); len(r.errors) != 0 {
		t.Fatalf("-update: %q", r.errors)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "sub", "out.golden")); err != nil || string(b) != "a\nb\n" {
		t.Fatalf("-update wrote %q, %v", b, err)
	}

	withUpdate(t, false)
	path = filepath.Join(dir, "sub", "out.golden")
	if r := record(t, func(tb testing.TB) { Check(tb, path, []byte("a\nb\n")) }); len(r.errors) != 0 {
		t.Errorf("same content: %q", r.errors)
	}
	r = record(t, func(tb testing.TB) { Check(tb, path, []byte("a\nc\n")) })
	if r.fatal || len(r.errors) != 1 || !strings.Contains(r.errors[0], "- b\n+ c\n") {
		t.Errorf("different content: fatal %v, errors %q; want one error showing the line", r.fatal, r.errors)
	}
}

func TestOrphans(t *testing.T) {
	t.Setenv("CI", "")
	dir := t.TempDir()
	for _, n := range []string{"kept.json", "gone.json"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "subdir"), 0o755); err != nil {
		t.Fatal(err)
	}
	withUpdate(t, false)
	r := record(t, func(tb testing.TB) { Orphans(tb, dir, []string{"kept.json"}) })
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], "gone.json") {
		t.Errorf("errors %q, want one about gone.json", r.errors)
	}
	withUpdate(t, true)
	if r := record(t, func(tb testing.TB) { Orphans(tb, dir, []string{"kept.json"}) }); len(r.errors) != 0 {
		t.Errorf("-update: %q", r.errors)
	}
	if _, err := os.Stat(filepath.Join(dir, "gone.json")); !os.IsNotExist(err) {
		t.Errorf("-update left gone.json: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "kept.json")); err != nil {
		t.Errorf("-update removed kept.json: %v", err)
	}
}

// Under CI=true -update fails instead of rewriting or removing anything.
func TestUpdateRefusedInCI(t *testing.T) {
	t.Setenv("CI", "true")
	dir := t.TempDir()
	path := filepath.Join(dir, "out.golden")
	if err := os.WriteFile(path, []byte("a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	withUpdate(t, true)
	r := record(t, func(tb testing.TB) { Check(tb, path, []byte("changed\n")) })
	if !r.fatal || !strings.Contains(r.errors[0], "CI=true") {
		t.Errorf("Check: fatal %v, errors %q; want a fatal refusal", r.fatal, r.errors)
	}
	r = record(t, func(tb testing.TB) { Orphans(tb, dir, nil) })
	if !r.fatal || !strings.Contains(r.errors[0], "CI=true") {
		t.Errorf("Orphans: fatal %v, errors %q; want a fatal refusal", r.fatal, r.errors)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "a\n" {
		t.Errorf("the golden file is now %q, %v; want it untouched", b, err)
	}
}

func TestDiff(t *testing.T) {
	tests := []struct{ want, got, diff string }{
		{"a\nb\n", "a\nb\n", "(no difference)"},
		{"1\n2\n3\n4\n", "1\n2\n3\nx\n", "first difference at line 4 (want 5 lines, got 5)\n  2\n  3\n- 4\n+ x\n  \n"},
		{"a\n", "a\nb\n", "first difference at line 2 (want 2 lines, got 3)\n  a\n- \n+ b\n+ \n"},
	}
	for _, tt := range tests {
		if got := Diff(tt.want, tt.got); got != tt.diff {
			t.Errorf("Diff(%q, %q) =\n%s\nwant\n%s", tt.want, tt.got, got, tt.diff)
		}
	}
}
