package ingest

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// firstLines returns the first n lines of s.
func firstLines(s string, n int) string {
	i := 0
	for range n {
		i += strings.IndexByte(s[i:], '\n') + 1
	}
	return s[:i]
}

// A copy that is a prefix of content already ingested adds nothing (issue
// 11 item 3): what copytruncate leaves when tail had read a few lines past
// the copy, a snapshot copied before the live file grew, and standard input
// fed the start of a file already scanned.
func TestScanPrefixAddsNothing(t *testing.T) {
	full := lameLines(0, 1000) // about 140 KB
	for _, tc := range []struct {
		name  string
		lines int
	}{
		{"copytruncate: the copy lacks the last lines", 990},
		{"snapshot: half of the file", 500},
		{"a few lines, under 4 KiB", 10},
		{"a partial last line", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			db := openDB(t, filepath.Join(dir, "lamers.db"))
			log := filepath.Join(dir, "named.log")
			writeFile(t, log, full)
			scan(t, db, log)
			prefix := full[:len(full)-70] // cut inside the last line but one
			if tc.lines > 0 {
				prefix = firstLines(full, tc.lines)
			}
			copyPath := filepath.Join(dir, "named.log.1")
			writeFile(t, copyPath, prefix)
			st := scan(t, db, copyPath)
			if got, _ := totals(t, db); got != 1000 {
				t.Errorf("after the copy: %d events stored, want 1000", got)
			}
			if st.Lines != 0 || st.AlreadyIngested != int64(strings.Count(prefix, "\n")) {
				t.Errorf("copy: %d lines read, %d already ingested; want 0, %d", st.Lines, st.AlreadyIngested, strings.Count(prefix, "\n"))
			}
			// Compressed, and on standard input: the same content.
			gzipTo(t, copyPath, copyPath+".gz")
			scan(t, db, copyPath+".gz")
			sc := NewScanner(db, Options{Location: time.UTC, TempDir: dir})
			if tc.lines > 0 { // standard input is final: a partial last line is a line
				if err := sc.ScanReader(context.Background(), strings.NewReader(prefix), &st); err != nil {
					t.Fatal(err)
				}
			}
			if got, _ := totals(t, db); got != 1000 {
				t.Errorf("after the gzipped copy and standard input: %d events stored, want 1000", got)
			}
			// The live file goes on growing: only its new lines count.
			appendFile(t, log, lameLines(1000, 5))
			scan(t, db, log, copyPath)
			if got, _ := totals(t, db); got != 1005 {
				t.Errorf("after appending: %d events stored, want 1005", got)
			}
		})
	}
}

// A shorter file that shares its first kilobytes with content already
// ingested but then differs (a log without timestamps: named writes the
// same lines after every start) is new content, counted in full: it
// differs more than 4 KiB before its end (the limit of prefix marks).
func TestScanShorterButDifferent(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, filepath.Join(dir, "lamers.db"))
	var head strings.Builder
	for i := range 40 { // about 2.4 KB of start-up lines, the same every time
		head.WriteString("managed-keys-zone: loaded serial " + strings.Repeat("0", i%10) + "\n")
		head.WriteString("zone example/IN: loaded serial 1\n")
	}
	long := filepath.Join(dir, "named.log.0")
	writeFile(t, long, head.String()+lameLines(0, 100))
	short := filepath.Join(dir, "named.log")
	writeFile(t, short, head.String()+lameLines(500, 40))
	scan(t, db, long)
	st := scan(t, db, short)
	if st.Recognised != 40 {
		t.Errorf("the shorter, different file: %d lines recognised, want 40", st.Recognised)
	}
	if got, _ := totals(t, db); got != 140 {
		t.Errorf("%d events stored, want 140", got)
	}
}
