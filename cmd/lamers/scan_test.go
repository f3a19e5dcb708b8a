package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lamers-dev/lamers/internal/golden"
)

// Every real log of the lab, scanned alone into a fresh database: the
// findings it produces.
func TestScanLabGolden(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join("..", "..", "testdata", "lab"))
	if err != nil || len(entries) == 0 {
		t.Fatalf("no lab logs in testdata/lab: %v", err)
	}
	goldenDir := filepath.Join("..", "..", "testdata", "golden", "scan")
	var names []string
	for _, e := range entries {
		names = append(names, e.Name()+".json")
		t.Run(e.Name(), func(t *testing.T) {
			env := testEnv(t)
			path := copyFixture(t, t.TempDir(), e.Name())
			r := lamers(t, env, nil, "scan", path)
			if r.code != 0 {
				t.Fatalf("scan: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout, "lame-looking lines not understood: 0\n") {
				t.Errorf("lines not understood:\n%s", r.stdout)
			}
			rep := lamers(t, env, nil, "report", "--format", "json")
			if rep.code != 0 {
				t.Fatalf("report: exit %d\n%s", rep.code, rep.stderr)
			}
			golden.Check(t, filepath.Join(goldenDir, e.Name()+".json"), []byte(rep.stdout))
		})
	}
	golden.Orphans(t, goldenDir, names)
}

// Standard input is ingested exactly once too.
func TestScanStdin(t *testing.T) {
	env := testEnv(t)
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "lab", "bind9.log"))
	if err != nil {
		t.Fatal(err)
	}
	r := lamers(t, env, strings.NewReader(string(data)), "scan", "-")
	if r.code != 0 || !strings.Contains(r.stdout, "lines read: 188") {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = lamers(t, env, strings.NewReader(string(data)), "scan", "-")
	if !strings.Contains(r.stdout, "lines read: 0\n") || !strings.Contains(r.stdout, "already ingested by earlier runs: 188") {
		t.Fatalf("second scan of the same input:\n%s", r.stdout)
	}
}
