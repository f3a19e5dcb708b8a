// Package golden compares test output with expected files under testdata/,
// the idiom of the Go tree's own golden tests (cmd/gofmt, go/doc): the test
// always compares, and only a person rewrites the files, by running the
// tests with -update and reading the diff before committing it.
//
// Importing the package registers the -update flag once for the test
// binary; a test package must not register its own.
package golden

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ instead of comparing with them")

// Updating reports whether the tests run with -update.
func Updating() bool { return *update }

// rewriting reports whether the tests run with -update. Under CI=true it
// fails t instead: a CI job that rewrote the golden files would pass every
// comparison.
func rewriting(t testing.TB) bool {
	t.Helper()
	if !*update {
		return false
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("golden: -update is refused under CI=true, where it would make every comparison pass; rewrite the files outside CI and commit them")
	}
	return true
}

// Check compares got with the file at path. With -update it writes got to
// path (creating its directory) instead; under CI=true -update fails the
// test. A missing file fails the test: a golden comparison without its
// golden file must not pass.
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if rewriting(t) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatalf("golden: %v", err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatalf("golden: %v", err)
		}
		t.Logf("golden: wrote %s", path)
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden: %v (go test -update creates it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("golden: output differs from %s (go test -update rewrites it):\n%s", path, Diff(string(want), string(got)))
	}
}

// Orphans fails t for every regular file in dir whose name is not in names:
// a golden file whose input is gone is a comparison that silently stopped
// running. With -update it removes them instead (refused under CI=true, as
// for Check). dir must exist.
func Orphans(t testing.TB, dir string, names []string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("golden: %v", err)
	}
	for _, e := range ents {
		if !e.Type().IsRegular() || slices.Contains(names, e.Name()) {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if rewriting(t) {
			if err := os.Remove(path); err != nil {
				t.Fatalf("golden: %v", err)
			}
			t.Logf("golden: removed %s", path)
			continue
		}
		t.Errorf("golden: %s belongs to no input any more (go test -update removes it)", path)
	}
}

// Diff shows where want and got differ, line by line: the line counts, the
// two lines before the first difference, and the next three lines of each
// ("-" only in want, "+" only in got, "  " the same).
func Diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	i := 0
	for i < len(w) && i < len(g) && w[i] == g[i] {
		i++
	}
	if i == len(w) && i == len(g) {
		return "(no difference)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "first difference at line %d (want %d lines, got %d)\n", i+1, len(w), len(g))
	from := max(i-2, 0)
	for k := from; k < i; k++ {
		fmt.Fprintf(&b, "  %s\n", w[k])
	}
	for k := i; k < i+3 && (k < len(w) || k < len(g)); k++ {
		switch {
		case k < len(w) && k < len(g) && w[k] == g[k]:
			fmt.Fprintf(&b, "  %s\n", w[k])
			continue
		case k < len(w):
			fmt.Fprintf(&b, "- %s\n", w[k])
		}
		if k < len(g) {
			fmt.Fprintf(&b, "+ %s\n", g[k])
		}
	}
	return b.String()
}
