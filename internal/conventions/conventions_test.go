package conventions

import (
	"bytes"
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// moduleRoot is the directory holding go.mod above the package directory.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found")
		}
		dir = parent
	}
}

// walk calls f for every file of the repository: those git tracks or
// would track (git ls-files), or, where there is no git checkout (a source
// archive), every regular file but .git's. It returns how many.
func walk(t *testing.T, f func(path, rel string)) int {
	t.Helper()
	root := moduleRoot(t)
	cmd := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	cmd.Dir = root
	if out, err := cmd.Output(); err == nil {
		n := 0
		for _, rel := range strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00") {
			path := filepath.Join(root, rel)
			if fi, err := os.Lstat(path); err == nil && fi.Mode().IsRegular() {
				f(path, rel)
				n++
			}
		}
		return n
	}
	n := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Name() == ".git" {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(root, path)
			f(path, rel)
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// outside are texts that name what lives outside the repository: the
// machine the project was built on and the notes kept next to it. They are
// assembled here so that this file does not contain them.
var outside = []string{
	"/" + "work/",
	"../" + "shared",
	"shared/" + "reference",
	"DESIGN" + ".md",
	"DESIGN" + " §",
	"reference/" + "log-formats",
	"reference/" + "lame-verification",
	"reference/" + "dependencies",
	"reference/" + "mail-and-bounces",
	"reference/" + "dsn-samples",
}

func TestNoPathOutsideTheRepository(t *testing.T) {
	files := walk(t, func(path, rel string) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Error(err)
			return
		}
		for _, s := range outside {
			if i := bytes.Index(b, []byte(s)); i >= 0 {
				line := bytes.Count(b[:i], []byte("\n")) + 1
				t.Errorf("%s:%d names %q: cite an RFC, an upstream source or docs/ instead", rel, line, s)
			}
		}
	})
	if files < 100 {
		t.Fatalf("only %d files walked: the walk does not see the repository", files)
	}
}

func TestExamplesHaveOutput(t *testing.T) {
	examples := 0
	walk(t, func(path, rel string) {
		if !strings.HasSuffix(path, "_test.go") || strings.Contains(rel, "testdata"+string(filepath.Separator)) {
			return
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			t.Error(err)
			return
		}
		for _, ex := range doc.Examples(f) {
			examples++
			if ex.Output == "" && !ex.EmptyOutput {
				t.Errorf("%s: Example%s has no // Output: comment, so go test compiles it but never runs it", rel, ex.Name)
			}
		}
		// doc.Examples skips examples it cannot use; count the functions
		// too, so that none escapes.
		for _, d := range f.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && strings.HasPrefix(fn.Name.Name, "Example") {
				examples--
			}
		}
	})
	if examples != 0 {
		t.Errorf("%d Example functions that go/doc does not see as examples (misnamed?)", -examples)
	}
}
