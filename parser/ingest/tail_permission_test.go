package ingest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lamers-dev/lamers/store"
)

// Inputs of tailChild.
const (
	envTailDB    = "LAMERS_TEST_TAIL_DB"
	envTailFiles = "LAMERS_TEST_TAIL_FILES" // comma-separated
)

// tailChild is the subprocess of TestTailPermissionDenied: a Tailer of the
// files envTailFiles into the database envTailDB with its loops running,
// logging JSON to standard output (commits too), until its standard input
// ends.
func tailChild() error {
	ctx := context.Background()
	db, err := store.Open(ctx, os.Getenv(envTailDB))
	if err != nil {
		return err
	}
	defer db.Close(ctx)
	out := json.NewEncoder(os.Stdout)
	opts := DefaultTailOptions()
	opts.CheckInterval, opts.FlushInterval = 20*time.Millisecond, 20*time.Millisecond
	opts.Location = time.UTC
	opts.Logger = slog.New(slog.NewJSONHandler(os.Stdout, nil))
	opts.OnCommit = func(c TailCommit) {
		out.Encode(map[string]any{"msg": "commit", logKeyPath: c.Path, logKeyLines: c.Lines})
	}
	var srcs []Source
	for _, p := range strings.Split(os.Getenv(envTailFiles), ",") {
		srcs = append(srcs, Source{Path: p})
	}
	tl := NewTailer(db, srcs, opts)
	if err := tl.Start(ctx); err != nil {
		return err
	}
	io.Copy(io.Discard, os.Stdin)
	return tl.Close(ctx)
}

// A file that cannot be read gives one clear error, the other file goes
// on, and the file is read from its start once it is readable.
//
// Tests run as root, for whom a 0600 file is readable. So the tailer runs in
// a subprocess (this test binary, copied where anyone may execute it) with
// its privileges dropped to nobody through SysProcAttr.Credential.
func TestTailPermissionDenied(t *testing.T) {
	if os.Getuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true: this test must run as root (it drops privileges to nobody)")
		}
		t.Skip("needs root to drop privileges to nobody: run go test as root (sudo -E go test ./parser/ingest/)")
	}
	const nobody = 65534
	dir := t.TempDir()
	for d := dir; d != filepath.Dir(os.TempDir()) && d != "/"; d = filepath.Dir(d) {
		if fi, err := os.Stat(d); err == nil && fi.Mode().Perm()&0o005 != 0o005 && strings.HasPrefix(d, os.TempDir()+"/") {
			os.Chmod(d, fi.Mode().Perm()|0o755)
		}
	}
	os.Chmod(dir, 0o755)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "ingest.test")
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	dbDir := filepath.Join(dir, "db")
	os.Mkdir(dbDir, 0o755)
	os.Chown(dbDir, nobody, nobody)
	denied, ok := filepath.Join(dir, "denied.log"), filepath.Join(dir, "ok.log")
	writeFile(t, denied, lameLines(0, 5))
	os.Chmod(denied, 0o600) // root's: nobody may not read it
	writeFile(t, ok, "")

	cmd := childCmd(bin, childTail, envTailDB+"="+filepath.Join(dbDir, "lamers.db"), envTailFiles+"="+denied+","+ok)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	events := make(chan map[string]any, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				events <- m
			}
		}
		close(events)
	}()
	errorsLogged := 0
	// next waits for the helper's next event matching f.
	next := func(what string, f func(map[string]any) bool) {
		t.Helper()
		timeout := time.After(20 * time.Second)
		for {
			select {
			case m, open := <-events:
				if !open {
					t.Fatalf("helper ended before %s:\n%s", what, stderr.String())
				}
				if m["msg"] == "tail: cannot read file" {
					errorsLogged++
				}
				if f(m) {
					return
				}
			case <-timeout:
				t.Fatalf("no %s within 20s", what)
			}
		}
	}
	next("permission error", func(m map[string]any) bool {
		return m["msg"] == "tail: cannot read file" && m[logKeyPath] == denied && strings.Contains(fmt.Sprint(m[logKeyErr]), "permission denied")
	})
	next("the readable file followed", func(m map[string]any) bool {
		return m["msg"] == "tail: following" && m[logKeyPath] == ok
	})
	appendFile(t, ok, lameLines(100, 3))
	next("commit of the readable file", func(m map[string]any) bool {
		return m["msg"] == "commit" && m[logKeyPath] == ok && m[logKeyLines] == 3.0
	})
	os.Chmod(denied, 0o644)
	next("commit of the fixed file", func(m map[string]any) bool {
		return m["msg"] == "commit" && m[logKeyPath] == denied && m[logKeyLines] == 5.0
	})
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v\n%s", err, stderr.String())
	}
	if errorsLogged != 1 {
		t.Errorf("the permission error was logged %d times, want once", errorsLogged)
	}
}
