package resolver_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

const (
	module  = "github.com/lamers-dev/lamers"
	sqlite3 = "github.com/mattn/go-sqlite3"
)

// deps lists the packages pkg imports, directly or not, itself included
// (go list -deps), without test files.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	var stderr bytes.Buffer
	cmd := exec.Command(goTool, "list", "-deps", "-json=ImportPath", pkg)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, stderr.String())
	}
	var paths []string
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct{ ImportPath string }
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		paths = append(paths, p.ImportPath)
	}
	if !slices.Contains(paths, pkg) {
		t.Fatalf("go list -deps %s does not list the package itself: %v", pkg, paths)
	}
	return paths
}

// isStore reports whether path is package store or one below it.
func isStore(path string) bool {
	return path == module+"/store" || strings.HasPrefix(path, module+"/store/")
}

// The layering the project keeps: resolver imports no package of lamers
// but the leaf internal/dnsname (the names it shares with the parser),
// parser none that leads to the database, and neither links SQLite (cgo),
// so that what is built on them (notify's contact checks, a parser fuzz
// target) builds without a C compiler.
func TestImports(t *testing.T) {
	for _, p := range deps(t, module+"/resolver") {
		if strings.HasPrefix(p, module+"/") && p != module+"/resolver" && p != module+"/internal/dnsname" || p == sqlite3 {
			t.Errorf("resolver imports %s", p)
		}
	}
	for _, p := range deps(t, module+"/parser") {
		if isStore(p) || p == sqlite3 {
			t.Errorf("parser imports %s", p)
		}
	}
	// The check sees what it looks for: verify is built on store.
	if got := deps(t, module+"/resolver/verify"); !slices.ContainsFunc(got, isStore) || !slices.Contains(got, sqlite3) {
		t.Errorf("resolver/verify: store and %s not among %v", sqlite3, got)
	}
}
