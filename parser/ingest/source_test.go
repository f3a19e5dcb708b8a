package ingest

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestGenerations(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"lame.log", "lame.log.0", "lame.log.1.gz", "lame.log-20261122", "other.log", "lame.lo"} {
		writeFile(t, filepath.Join(dir, n), lameLines(0, 1))
	}
	if err := os.Mkdir(filepath.Join(dir, "lame.log.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "lame.log-20261122"), filepath.Join(dir, "lame.log.0"), filepath.Join(dir, "lame.log.1.gz")}
	if got := Generations(filepath.Join(dir, "lame.log")); !slices.Equal(got, want) {
		t.Errorf("Generations = %q, want %q", got, want)
	}
	if got := Generations(filepath.Join(dir, "missing", "lame.log")); got != nil {
		t.Errorf("Generations in a missing directory = %q", got)
	}
}

// IsGeneration names what Generations lists, whether the file exists or
// not: names of logrotate (lame.log.1, .1.gz, dateext) and of BIND's own
// "versions" rolling (lame.log.0).
func TestIsGeneration(t *testing.T) {
	const live = "/var/log/named/lame.log"
	for _, c := range []struct {
		path string
		want bool
	}{
		{"/var/log/named/lame.log.0", true},
		{"/var/log/named/lame.log.1.gz", true},
		{"/var/log/named/lame.log-20261122", true},
		{"/var/log/named/./lame.log.1", true},
		{"/var/log/named/lame.log", false},
		{"/var/log/named/lame.lo", false},
		{"/var/log/named/other.log", false},
		{"/var/log/named/old/lame.log.1", false},
		{"/var/log/lame.log.1", false},
	} {
		if got := IsGeneration(live, c.path); got != c.want {
			t.Errorf("IsGeneration(%q, %q) = %v, want %v", live, c.path, got, c.want)
		}
	}
}

// ScanSource reads a source's generations and live file once: run again it
// reads nothing and opens no compressed generation already read; lines
// appended, and a rotation, add exactly the new lines; a missing live file
// is an error that does not stop its generations.
func TestScanSource(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openDB(t, filepath.Join(dir, "lamers.db"))
	log := filepath.Join(dir, "named.log")
	writeFile(t, log+".1", lameLines(0, 100))
	gzipTo(t, log+".1", log+".2.gz")
	writeFile(t, log+".1", lameLines(100, 50)) // logrotate with delaycompress: .1 plain, .2.gz
	writeFile(t, log, lameLines(150, 30))
	sc := NewScanner(db, Options{Location: time.UTC})
	pass := func() Stats {
		t.Helper()
		var st Stats
		if err := sc.ScanSource(ctx, log, &st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	if st := pass(); st.Lines != 180 || st.Files != 3 {
		t.Fatalf("first pass: %d lines from %d files, want 180 from 3", st.Lines, st.Files)
	}
	if st := pass(); st.Lines != 0 || st.Files != 2 {
		t.Errorf("second pass: %d lines from %d files, want 0 from 2 (the gzip file skipped unopened)", st.Lines, st.Files)
	}
	appendFile(t, log, lameLines(180, 5))
	if st := pass(); st.Lines != 5 {
		t.Errorf("after an append: %d lines, want 5", st.Lines)
	}
	// Rotation: .1 is compressed to .2.gz (the old .2.gz dropped), the live
	// file becomes .1, a new live file starts.
	os.Remove(log + ".2.gz")
	gzipTo(t, log+".1", log+".2.gz")
	os.Rename(log, log+".1")
	writeFile(t, log, lameLines(185, 7))
	if st := pass(); st.Lines != 7 {
		t.Errorf("after a rotation: %d lines, want 7", st.Lines)
	}
	if sum, _ := totals(t, db); sum != 192 {
		t.Errorf("%d events stored, want 192", sum)
	}
	os.Remove(log)
	appendFile(t, log+".1", lameLines(192, 3)) // the daemon wrote to the old file before it reopened
	var st Stats
	err := sc.ScanSource(ctx, log, &st)
	if err == nil || !errors.Is(err, fs.ErrNotExist) || st.Lines != 3 {
		t.Errorf("missing live file: %v, %d lines; want a not-exist error and the 3 lines of .1", err, st.Lines)
	}
}
