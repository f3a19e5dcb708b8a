package parser

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/lamers-dev/lamers/internal/golden"
)

// goldenReference is the fixed "now" of the golden runs: after the lab run
// of 2026-11-22, in the same year.
var goldenReference = time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)

// aggregate parses every line of path and renders the result totals and
// the observations counted per (source, evidence, zone, server#port).
func aggregate(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := New(Options{Location: time.UTC, Reference: goldenReference})
	counts := map[string]int{}
	var results [3]int
	total := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<22)
	var out []Observation
	for sc.Scan() {
		total++
		var r Result
		out, r = p.Parse(sc.Bytes(), out[:0])
		results[r]++
		for _, o := range out {
			k := fmt.Sprintf("%s %s %s %s", o.Source, o.Evidence, orDash(o.Zone), serverPort(o))
			if o.Repeat {
				k += " repeat" // the second line of an event (pair.go)
			}
			counts[k]++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# %s: lines %d recognised %d ignored %d unrecognised %d\n",
		filepath.Base(path), total, results[Recognised], results[Ignored], results[Unrecognised])
	fmt.Fprintf(&b, "# source evidence zone server#port count\n")
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s %d\n", k, counts[k])
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func serverPort(o Observation) string {
	return fmt.Sprintf("%s#%d", o.Server, o.Port)
}

// TestGolden runs the parser over every real log of the lab
// (testdata/lab, BIND 9.18.49 and Unbound 1.17.1) and compares the
// aggregate with testdata/golden/parser/<file>.golden. Run
// `go test ./parser -update` to rewrite the golden files.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "testdata", "lab", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no lab logs in testdata/lab: %v", err)
	}
	dir := filepath.Join("..", "testdata", "golden", "parser")
	var names []string
	for _, path := range files {
		name := filepath.Base(path)
		names = append(names, name+".golden")
		t.Run(name, func(t *testing.T) {
			golden.Check(t, filepath.Join(dir, name+".golden"), []byte(aggregate(t, path)))
		})
	}
	golden.Orphans(t, dir, names)
}
