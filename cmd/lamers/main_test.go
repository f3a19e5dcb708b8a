package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMain lets a test run the lamers binary as a subprocess: the test
// binary itself, with LAMERS_TEST_EXEC=1, is main(); with
// LAMERS_TEST_EXEC=stop it is main running the scripted command of
// TestStopStages.
func TestMain(m *testing.M) {
	switch os.Getenv("LAMERS_TEST_EXEC") {
	case "1":
		main()
		return
	case "stop":
		os.Exit(runProcess(stopScriptRun, os.Args[1:]))
	}
	os.Exit(m.Run())
}

var update = flag.Bool("update", false, "rewrite the golden files")

// labTime is the modification time given to copied fixtures: lines without
// a timestamp (bind9-bare.log, bind9-notime.log) and dump_infra entries
// take the file's time.
var labTime = time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)

type result struct {
	code           int
	stdout, stderr string
}

// lamers runs the command line in-process with a private environment.
func lamers(t *testing.T, env map[string]string, stdin io.Reader, args ...string) result {
	t.Helper()
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	var out, errb bytes.Buffer
	getenv := func(k string) string { return env[k] }
	err := run(context.Background(), args, stdin, &out, &errb, getenv)
	code := exitCode(err, &errb)
	return result{code, out.String(), errb.String()}
}

func testEnv(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	// An empty configuration file keeps /etc/lamers/lamers.toml out.
	if err := os.WriteFile(filepath.Join(dir, "empty.toml"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"LAMERS_DB":       filepath.Join(dir, "lamers.db"),
		"LAMERS_CONFIG":   filepath.Join(dir, "empty.toml"),
		"LAMERS_TIMEZONE": "UTC",
	}
}

// copyFixture copies a lab log into dir with a fixed modification time.
func copyFixture(t *testing.T, dir, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "lab", name))
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, name)
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(dst, labTime, labTime); err != nil {
		t.Fatal(err)
	}
	return dst
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("..", "..", "testdata", "golden", name)
	if *update {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./cmd/lamers -update rewrites it):\n%s", name, lineDiff(string(want), string(got)))
	}
}

// lineDiff shows the first differing lines.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return "line " + strconv.Itoa(i+1) + ":\n- " + a + "\n+ " + b
		}
	}
	return ""
}
