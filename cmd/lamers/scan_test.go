package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/lamers-dev/lamers/internal/golden"
)

// Every real log of the lab, scanned alone into a fresh database: the
// findings it produces.
func TestScanLabGolden(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join("..", "..", "testdata", "lab"))
	if err != nil || len(entries) == 0 {
		t.Fatalf("lab logs: %d, %v", len(entries), err)
	}
	for _, e := range entries {
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
			golden.Check(t, filepath.Join("..", "..", "testdata", "golden", "scan", e.Name()+".json"), []byte(rep.stdout))
		})
	}
}

// The scan summary counts what was read but not stored: evidence against
// scan.ignore_servers, kinds past 16 per finding, times outside the window.
func TestScanSummaryCounts(t *testing.T) {
	env := testEnv(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "lamers.toml")
	if err := os.WriteFile(conf, []byte("[scan]\nignore_servers = [\"192.0.2.53\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env["LAMERS_CONFIG"] = conf
	var b strings.Builder
	// BIND 9.18 resolver.c add_bad() under "forward first": the forwarder
	// timed out
	b.WriteString("22-Nov-2026 02:01:50.000 lame-servers: info: timed out resolving 'www.example.com/A/IN': 192.0.2.53#53\n")
	// the lab's bind9.log line with a forged year
	b.WriteString("22-Nov-9999 02:01:50.284 lame-servers: info: lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53\n")
	// 20 unassigned rcode numbers on one finding (resolver.c add_bad() form)
	for i := range 20 {
		b.WriteString("22-Nov-2026 02:01:51.000 lame-servers: info: " + strconv.Itoa(30+i) + " unexpected RCODE resolving 'v.victim.example/A/IN': 192.0.2.9#53\n")
	}
	log := filepath.Join(dir, "named.log")
	if err := os.WriteFile(log, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(log, labTime, labTime); err != nil {
		t.Fatal(err)
	}
	r := lamers(t, env, nil, "scan", log)
	if r.code != 0 {
		t.Fatalf("scan: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"lines recognised: 22\n",
		"evidence against ignored servers (scan.ignore_servers), not stored: 1\n",
		"events of evidence kinds past 16 per finding, not stored: 4\n",
		"lines with a time before 2000, over ten years old or in the future, counted at the file's time: 1\n",
		"findings: 2 new, 0 updated\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, r.stdout)
		}
	}
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
