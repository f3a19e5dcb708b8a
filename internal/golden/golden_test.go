package golden

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// recorder is a testing.TB that records what Check reports. Its Fatalf
// ends the goroutine as testing.T's does, so Check runs in its own.
type recorder struct {
	testing.TB
	errors, fatals, logs []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.fatals = append(r.fatals, fmt.Sprintf(format, args...))
	runtime.Goexit()
}

func (r *recorder) Logf(format string, args ...any) {
	r.logs = append(r.logs, fmt.Sprintf(format, args...))
}

// check runs Check against a recorder with -update set to updating.
func check(t *testing.T, updating bool, path string, got []byte) *recorder {
	t.Helper()
	saved := *update
	*update = updating
	defer func() { *update = saved }()
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Check(r, path, got)
	}()
	<-done
	return r
}

func TestCheck(t *testing.T) {
	t.Setenv("CI", "")
	dir := t.TempDir()
	want := "zone server\nupref.lab. 127.53.4.1\n"
	path := filepath.Join(dir, "report.golden")
	if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
		t.Fatal(err)
	}

	if r := check(t, false, path, []byte(want)); len(r.errors)+len(r.fatals) != 0 {
		t.Errorf("equal output: errors %q, fatals %q", r.errors, r.fatals)
	}

	r := check(t, false, path, []byte("zone server\nupref.lab. 127.53.4.2\n"))
	if len(r.errors) != 1 || !hasLine(r.errors[0], "-", `"upref.lab. 127.53.4.1"`) || !hasLine(r.errors[0], "+", `"upref.lab. 127.53.4.2"`) {
		t.Errorf("different output: errors %q, want one with the changed line as -want +got", r.errors)
	}

	missing := filepath.Join(dir, "missing", "x.golden")
	if r := check(t, false, missing, []byte(want)); len(r.fatals) != 1 || !strings.Contains(r.fatals[0], "-update") {
		t.Errorf("missing file: fatals %q, want one naming -update", r.fatals)
	}

	if r := check(t, true, missing, []byte(want)); len(r.errors)+len(r.fatals) != 0 {
		t.Errorf("-update: errors %q, fatals %q", r.errors, r.fatals)
	}
	if b, err := os.ReadFile(missing); err != nil || string(b) != want {
		t.Errorf("-update wrote %q, %v; want %q", b, err, want)
	}

	t.Setenv("CI", "true")
	if r := check(t, true, path, []byte("changed\n")); len(r.fatals) != 1 || !strings.Contains(r.fatals[0], "CI=true") {
		t.Errorf("-update under CI=true: fatals %q, want a refusal", r.fatals)
	}
	if b, _ := os.ReadFile(path); string(b) != want {
		t.Errorf("-update under CI=true rewrote the file: %q", b)
	}
}

// hasLine reports whether report has a line starting with mark that
// contains s.
func hasLine(report, mark, s string) bool {
	for _, l := range strings.Split(report, "\n") {
		if strings.HasPrefix(l, mark) && strings.Contains(l, s) {
			return true
		}
	}
	return false
}
