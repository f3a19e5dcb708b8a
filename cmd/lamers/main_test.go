package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// labTime is the modification time given to copied fixtures: lines without
// a timestamp (bind9-bare.log, bind9-notime.log) and dump_infra entries
// take the file's time.
var labTime = time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)

// envExec=1 makes the test binary main(): tests run lamers as a
// subprocess (to kill it, to send it signals) through it.
const envExec = "LAMERS_TEST_EXEC"

// TestMain lets a test run the lamers binary as a subprocess: the test
// binary itself, with envExec=1, is main(); with envExec=stop it is main
// running the scripted command of TestStopStages.
func TestMain(m *testing.M) {
	switch os.Getenv(envExec) {
	case "1":
		main()
		return
	case "stop":
		os.Exit(runProcess(stopScriptRun, os.Args[1:]))
	}
	os.Exit(m.Run())
}

// lamersProc starts `lamers args…` as a subprocess.
func lamersProc(t *testing.T, env map[string]string, stderr io.Writer, args ...string) *exec.Cmd {
	t.Helper()
	cmd, err := startLamers(env, stderr, args...)
	if err != nil {
		t.Fatal(err)
	}
	return cmd
}

// startLamers starts `lamers args…` as a subprocess with the variables env
// added to the environment and its stderr to stderr. (lamersProc fails the
// test instead; this one may run on any goroutine.)
func startLamers(env map[string]string, stderr io.Writer, args ...string) (*exec.Cmd, error) {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), envExec+"=1")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout = io.Discard
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start lamers %s: %w", strings.Join(args, " "), err)
	}
	return cmd, nil
}

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
