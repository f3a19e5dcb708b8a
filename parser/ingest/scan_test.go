package ingest

import (
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
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

// Inputs of scanChild.
const (
	envScanDB   = "LAMERS_TEST_SCAN_DB"
	envScanFile = "LAMERS_TEST_SCAN_FILE"
)

// scanChildBatch is the batch size of scanChild: 100 commits for the
// 200,000 lines of TestScanSIGKILL.
const scanChildBatch = 2000

// scanChild is the subprocess of TestScanSIGKILL: it scans the file
// envScanFile into the database envScanDB. After each commit it writes the
// checkpoint's offset to standard output and reads one byte from standard
// input before it goes on; at the end of its input it goes on freely.
func scanChild() error {
	ctx := context.Background()
	db, err := store.Open(ctx, os.Getenv(envScanDB))
	if err != nil {
		return err
	}
	defer db.Close(ctx)
	sink := &pacedSink{DB: db, out: os.Stdout, in: os.Stdin}
	var st Stats
	return NewScanner(sink, Options{Location: time.UTC, BatchLines: scanChildBatch}).ScanFile(ctx, os.Getenv(envScanFile), &st)
}

// pacedSink reports every commit on out and waits for a byte on in.
type pacedSink struct {
	*store.DB
	out    io.Writer
	in     io.Reader
	freely bool // in has ended
}

func (s *pacedSink) Commit(ctx context.Context, b store.Batch) (store.CommitResult, error) {
	res, err := s.DB.Commit(ctx, b)
	if err != nil {
		return res, err
	}
	if _, err := fmt.Fprintf(s.out, "%d\n", res.Checkpoint.Offset); err != nil {
		return res, err
	}
	if !s.freely {
		var ack [1]byte
		if _, err := s.in.Read(ack[:]); err != nil {
			s.freely = true
		}
	}
	return res, nil
}

// checkpointAt returns the furthest checkpoint stored in the database at
// dbPath for the file at path (zero when there is none): its offset and
// line count, and the events all findings hold.
func checkpointAt(t *testing.T, dbPath, path string) (off, lines, events int64) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	cps, err := db.CheckpointsByInode(ctx, uint64(st.Dev), st.Ino)
	if err != nil {
		t.Fatal(err)
	}
	for _, cp := range cps {
		if cp.Offset > off {
			off, lines = cp.Offset, cp.Lines
		}
	}
	events, _ = totals(t, db)
	return off, lines, events
}

// killedBySIGKILL fails t unless cmd, waited for, died by SIGKILL: a scan
// that ended on its own was not interrupted, and proves nothing.
func killedBySIGKILL(t *testing.T, cmd *exec.Cmd, what string, stderr fmt.Stringer) {
	t.Helper()
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("%s: the child ended with %v, not by SIGKILL\n%s", what, cmd.ProcessState, stderr)
	}
}

// A scan killed with SIGKILL at any moment and run again ends with the
// same counts as one clean pass.
func TestScanSIGKILL(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "named.log")
	writeFile(t, log, lameLines(0, 200000))
	fi, err := os.Stat(log)
	if err != nil {
		t.Fatal(err)
	}
	size := fi.Size()
	clean := openDB(t, filepath.Join(dir, "clean.db"))
	scan(t, clean, log)
	wantSum, want := totals(t, clean)

	killed := filepath.Join(dir, "killed.db")
	child := func() *exec.Cmd {
		return childCmd(os.Args[0], childScan, envScanDB+"="+killed, envScanFile+"="+log)
	}
	// Kill the child while it opens the database (after 0 commits), and
	// in the batch after its 1st, 2nd, 4th, 8th and 16th commit: the kill
	// lands while that batch is parsed or inside its transaction. Each run
	// resumes from the checkpoint the one before left.
	var last int64 // offset of the checkpoint after the previous kill
	for _, after := range []int{0, 1, 2, 4, 8, 16} {
		what := fmt.Sprintf("killed after %d commits", after)
		cmd := child()
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(stdout)
		var reported int64 // the offset the child's last reported commit stored
		for n := 1; n <= after; n++ {
			if !lines.Scan() {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("%s: the child reported %d commits and ended\n%s", what, n-1, stderr.String())
			}
			reported, _ = strconv.ParseInt(lines.Text(), 10, 64)
			if _, err := stdin.Write([]byte{1}); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		}
		cmd.Process.Kill()
		cmd.Wait()
		killedBySIGKILL(t, cmd, what, &stderr)
		got, covered, events := checkpointAt(t, killed, log)
		t.Logf("%s: checkpoint at byte %d of %d, line %d; %d events stored", what, got, size, covered, events)
		switch {
		case events != covered:
			// Every line of the log is one event: the counts and the
			// checkpoint are one transaction, whenever the kill came.
			t.Fatalf("%s: %d events stored, but the checkpoint covers %d lines", what, events, covered)
		case got < last || got < reported:
			t.Fatalf("%s: checkpoint at byte %d, before the %d committed earlier", what, got, max(last, reported))
		case after > 0 && (got <= last || got >= size):
			t.Fatalf("%s: checkpoint at byte %d, want one past the previous %d and short of the end %d", what, got, last, size)
		}
		last = got
	}
	if last == 0 || last >= size {
		t.Fatalf("no kill left a checkpoint short of the end (last at %d of %d)", last, size)
	}
	cmd := child()
	if out, err := cmd.CombinedOutput(); err != nil {
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
