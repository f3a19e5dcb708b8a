// Package golden compares test output with expected output kept in files
// under testdata/, the idiom of the Go tree's cmd/gofmt and go/doc tests.
//
// A test renders what it produced and calls Check with the file that holds
// what it must produce. The comparison always runs; `go test -update`
// rewrites the files instead, for a person who then reads the diff before
// committing it. A missing file is a failure, never a pass, and -update is
// refused under CI=true, where it would make every comparison pass.
//
// The package registers the -update flag on the test binary's command line,
// once for every test package that imports it; it is imported by tests
// only.
package golden

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ instead of comparing with them")

// Check compares got with the contents of the file at path (relative to the
// test's package directory, or absolute). With -update it writes got to
// path, creating its directory, and the test passes; under CI=true -update
// fails the test instead. Otherwise a missing or unreadable file fails the
// test with the command that creates it, and a difference fails it with a
// diff of its lines (-want +got, quoted as Go strings: golden
// data may hold control characters).
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if os.Getenv("CI") == "true" {
			t.Fatalf("golden: -update under CI=true would pass every comparison; rewrite %s outside CI", path)
		}
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
		t.Fatalf("golden: %v (go test -update creates it; read it before committing)", err)
	}
	if diff := cmp.Diff(strings.Split(string(want), "\n"), strings.Split(string(got), "\n")); diff != "" {
		t.Errorf("golden: output differs from %s (-want +got; go test -update rewrites it):\n%s", path, diff)
	}
}
