package ingest

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lamers-dev/lamers/store"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func openDB(t *testing.T, path string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(context.Background()) })
	return db
}

// lameLines returns n distinct BIND 9.18 lame-server lines (the format of
// the lab's bind9.log) spread over zones and servers.
func lameLines(from, n int) string {
	var b strings.Builder
	for i := from; i < from+n; i++ {
		fmt.Fprintf(&b, "22-Nov-2026 02:%02d:%02d.%03d lame-servers: info: lame server resolving 'www%d.z%d.example' (in 'z%d.example'?): 192.0.2.%d#53\n",
			(i/60)%60, i%60, i%1000, i, i%97, i%97, 1+i%13)
	}
	return b.String()
}

// totals sums the counts of every finding: the number of events stored.
func totals(t *testing.T, db *store.DB) (sum int64, byFinding map[string]int64) {
	t.Helper()
	fs, err := db.Findings(context.Background(), store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	byFinding = map[string]int64{}
	for _, f := range fs {
		sum += f.Count
		byFinding[f.Zone+"|"+f.Bucket+"|"+f.Server.String()] += f.Count
	}
	return sum, byFinding
}

func scan(t *testing.T, db *store.DB, paths ...string) Stats {
	t.Helper()
	sc := NewScanner(db, Options{Location: time.UTC})
	var st Stats
	for _, p := range paths {
		if err := sc.ScanFile(context.Background(), p, &st); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func appendFile(t *testing.T, path, data string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(data); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func gzipTo(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	zw.Write(data)
	zw.Close()
	f.Close()
}

// The rotation life of one log file, as logrotate with delaycompress
// does it: every step adds exactly the lines that are new.
func TestScanExactlyOnce(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, filepath.Join(dir, "lamers.db"))
	log := filepath.Join(dir, "named.log")

	writeFile(t, log, lameLines(0, 1000))
	if st := scan(t, db, log); st.Lines != 1000 || st.Recognised != 1000 {
		t.Fatalf("first scan: %+v", st)
	}
	step := func(name string, want int64, paths ...string) {
		t.Helper()
		scan(t, db, paths...)
		if got, _ := totals(t, db); got != want {
			t.Fatalf("%s: %d events stored, want %d", name, got, want)
		}
	}
	step("rescan", 1000, log)
	appendFile(t, log, lameLines(1000, 500))
	step("append", 1500, log)
	// A half-written line is left for later...
	appendFile(t, log, strings.TrimSuffix(lameLines(1500, 1), "\n"))
	step("partial line", 1500, log)
	// ...and read once finished.
	appendFile(t, log, "\n")
	step("finished line", 1501, log)
	os.Rename(log, log+".0")
	step("renamed", 1501, log+".0")
	appendFile(t, log+".0", lameLines(1501, 10)) // a writer still holding the old file
	writeFile(t, log, lameLines(5000, 20))
	step("late lines and new file", 1531, log+".0", log)
	gzipTo(t, log+".0", log+".1.gz")
	os.Remove(log + ".0")
	step("gzipped", 1531, log+".1.gz", log)
	// All of them together, in any order, still add nothing.
	step("everything again", 1531, log, log+".1.gz")
	// A copytruncated file with new content is new content.
	writeFile(t, log, lameLines(9000, 7))
	step("copytruncate", 1538, log)
}

// Logs without timestamps start with the same lines after every restart of
// named: content identity must not rest on the first line alone.
func TestScanSameFirstLineDifferentContent(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, filepath.Join(dir, "lamers.db"))
	head := "managed-keys-zone: loaded serial 0\nall zones loaded\nrunning\n"
	a, b := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
	writeFile(t, a, head+"lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53\n")
	// b does not continue a (a's content is not a prefix of b's): it is a
	// different stream. (A file that does continue another's content is,
	// by construction, that content with lines appended.)
	writeFile(t, b, head+"REFUSED unexpected RCODE resolving 'www.refused.lab/A/IN': 127.53.3.1#53\nlame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53\n")
	scan(t, db, a, b)
	if got, _ := totals(t, db); got != 3 {
		t.Fatalf("%d events stored, want 3", got)
	}
	scan(t, db, b, a)
	if got, _ := totals(t, db); got != 3 {
		t.Fatalf("after rescan: %d events stored, want 3", got)
	}
}

// Two scans of the same file into one database at the same time, as two
// cron jobs would: no "database is locked", no line twice.
func TestScanConcurrent(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "lamers.db")
	log := filepath.Join(dir, "named.log")
	writeFile(t, log, lameLines(0, 20000))
	other := filepath.Join(dir, "other.log")
	writeFile(t, other, lameLines(20000, 20000))
	db1, db2 := openDB(t, path), openDB(t, path)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for _, db := range []*store.DB{db1, db2} {
		for _, f := range []string{log, other} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sc := NewScanner(db, Options{Location: time.UTC, BatchLines: 1000})
				var st Stats
				errs <- sc.ScanFile(context.Background(), f, &st)
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := totals(t, db1); got != 40000 {
		t.Fatalf("%d events stored, want 40000", got)
	}
}

// A scan killed with SIGKILL at any moment and run again ends with the
// same counts as one clean pass. The child (TestMain, -ingest.child=scan)
// announces each commit on its stdout, and the test kills it at chosen
// points of its work: before it has committed anything, just before a
// commit (the kill lands before, inside or after the transaction), just
// after one (in the middle of parsing the next batch). After every kill
// the database holds exactly the events of the lines its checkpoint
// covers.
func TestScanSIGKILL(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "named.log")
	writeFile(t, log, lameLines(0, 200000))
	fi, err := os.Stat(log)
	if err != nil {
		t.Fatal(err)
	}
	clean := openDB(t, filepath.Join(dir, "clean.db"))
	scan(t, clean, log)
	wantSum, want := totals(t, clean)

	killed := filepath.Join(dir, "killed.db")
	child := func() *exec.Cmd {
		return exec.Command(os.Args[0], "-test.run=^$", "-ingest.child=scan",
			"-ingest.child-db="+killed, "-ingest.child-files="+log, "-ingest.child-batch=2000")
	}
	// 100 batches of 2,000 lines; the kill points use up fewer than 40.
	kills := []struct {
		after string // the announcement to wait for: "" kills at once
		n     int    // the how-manieth of it
	}{
		{"", 0}, {"committed", 1}, {"commit", 3}, {"committed", 10}, {"commit", 7}, {"committed", 15},
	}
	short := 0 // kills that left a checkpoint short of the end
	for i, k := range kills {
		cmd := child()
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		seen := 0
		sc := bufio.NewScanner(stdout)
		for k.after != "" && seen < k.n && sc.Scan() {
			if strings.Fields(sc.Text())[0] == k.after {
				seen++
			}
		}
		if seen < k.n {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("kill %d: the child ended after %d of %d %q announcements: %v\n%s", i, seen, k.n, k.after, sc.Err(), stderr.String())
		}
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("kill %d: the child did not die by SIGKILL (%v): the kill interrupted nothing\n%s", i, err, stderr.String())
		}
		off, lines := checkpointOf(t, killed, fi)
		stored := int64(0)
		if lines > 0 {
			db := openDB(t, killed)
			stored, _ = totals(t, db)
			db.Close(context.Background())
		}
		t.Logf("kill %d after %d %q: checkpoint at byte %d of %d, line %d; %d events stored", i, seen, k.after, off, fi.Size(), lines, stored)
		if stored != lines {
			t.Fatalf("kill %d: %d events stored, but the checkpoint covers %d lines (one event each)", i, stored, lines)
		}
		if off > 0 && off < fi.Size() {
			short++
		}
	}
	if short == 0 {
		t.Fatal("no kill left a checkpoint short of the end: the kills interrupted no scan in progress")
	}
	if out, err := child().CombinedOutput(); err != nil {
		t.Fatalf("final run: %v\n%s", err, out)
	}
	db := openDB(t, killed)
	gotSum, got := totals(t, db)
	if gotSum != wantSum {
		t.Fatalf("after kills: %d events, want %d", gotSum, wantSum)
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if got[k] != want[k] {
			t.Errorf("%s: %d, want %d", k, got[k], want[k])
		}
	}
}

// checkpointOf returns the offset and line count of the furthest
// checkpoint of the file fi in the database at path (0, 0 when there is
// none, or no database yet).
func checkpointOf(t *testing.T, path string, fi os.FileInfo) (off, lines int64) {
	t.Helper()
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return 0, 0
	}
	db := openDB(t, path)
	defer db.Close(context.Background())
	st := fi.Sys().(*syscall.Stat_t)
	cps, err := db.CheckpointsByInode(context.Background(), st.Dev, st.Ino)
	if err != nil {
		t.Fatal(err)
	}
	for _, cp := range cps {
		if cp.Offset > off {
			off, lines = cp.Offset, cp.Lines
		}
	}
	return off, lines
}

// Ten thousand random names under one zone, logged by BIND's reason lines
// (which carry no zone) against one server, are one finding; names under
// another zone stay apart so that verification can attribute each.
func TestScanZonelessIsBounded(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, filepath.Join(dir, "lamers.db"))
	log := filepath.Join(dir, "named.log")
	var b strings.Builder
	for i := range 10000 {
		// BIND 9.18 B2 form (lab bind9.log), random-subdomain names.
		fmt.Fprintf(&b, "22-Nov-2026 02:01:50.268 lame-servers: info: REFUSED unexpected RCODE resolving 'r%08x.victim.example/A/IN': 192.0.2.53#53\n", uint32(i)*2654435761)
	}
	b.WriteString("22-Nov-2026 02:01:51.000 lame-servers: info: REFUSED unexpected RCODE resolving 'www.other.example/A/IN': 192.0.2.53#53\n")
	writeFile(t, log, b.String())
	scan(t, db, log)
	fs, err := db.Findings(context.Background(), store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 2 {
		t.Fatalf("%d findings, want 2", len(fs))
	}
	for _, f := range fs {
		switch f.Bucket {
		case "victim.example.":
			if f.Count != 10000 || f.Zone != "" {
				t.Errorf("victim.example.: %+v", f)
			}
		case "other.example.":
			if f.Count != 1 {
				t.Errorf("other.example.: %+v", f)
			}
		default:
			t.Errorf("unexpected bucket %q", f.Bucket)
		}
	}
}
