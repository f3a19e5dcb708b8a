package ingest

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lamers-dev/lamers/store"
)

// findingsOf returns the stored findings.
func findingsOf(t *testing.T, db *store.DB) []store.Finding {
	t.Helper()
	fs, err := db.Findings(context.Background(), store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// A forged year 9999 and Unbound's "[0]" are counted at the file's time,
// not stored as times that wrap (year 1816) or are empty, and the summary
// says how many lines that was.
func TestScanTimeWindow(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, filepath.Join(dir, "lamers.db"))
	log := filepath.Join(dir, "named.log")
	writeFile(t, log, ""+
		// BIND 9.18 lab bind9.log line, year forged
		"22-Nov-9999 02:01:50.284 lame-servers: info: lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53\n"+
		// the lab's own line
		"22-Nov-2026 02:01:50.284 lame-servers: info: lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53\n"+
		// Unbound 1.17.1 lab unbound.log line, epoch forged
		"[0] unbound[19034:0] error: SERVFAIL <www.refused.lab. A IN>: all servers for this domain failed, at zone refused.lab. from 127.53.3.1 got REFUSED\n")
	mtime := time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC)
	if err := os.Chtimes(log, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	st := scan(t, db, log)
	if st.TimeReplaced != 2 || st.Recognised != 3 {
		t.Errorf("stats: %d times replaced, %d recognised; want 2, 3", st.TimeReplaced, st.Recognised)
	}
	fs := findingsOf(t, db)
	if len(fs) != 2 {
		t.Fatalf("%d findings, want 2", len(fs))
	}
	for _, f := range fs {
		switch f.Zone {
		case "upref.lab.":
			if f.Count != 2 || !f.FirstSeen.Equal(time.Date(2026, 11, 22, 2, 1, 50, 284e6, time.UTC)) || !f.LastSeen.Equal(mtime) {
				t.Errorf("upref.lab.: count %d, first %v, last %v", f.Count, f.FirstSeen, f.LastSeen)
			}
		case "refused.lab.":
			if f.Count != 1 || !f.FirstSeen.Equal(mtime) || !f.LastSeen.Equal(mtime) {
				t.Errorf("refused.lab.: count %d, first %v, last %v", f.Count, f.FirstSeen, f.LastSeen)
			}
		default:
			t.Errorf("unexpected finding %+v", f)
		}
	}
}

// The tailer counts the replaced times of what it commits too.
func TestTailTimeWindow(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, filepath.Join(dir, "lamers.db"))
	log := filepath.Join(dir, "lame.log")
	w := openAppender(t, log, 0)
	tl, clk := stepped(t, db, false, log)
	tl.Step(context.Background())
	// BIND 9.18 lab bind9.log line, year forged
	w.f.WriteString("22-Nov-9999 02:01:50.284 lame-servers: info: lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53\n")
	tl.Step(context.Background())
	if got := tl.Stats().TimeReplaced; got != 1 {
		t.Errorf("Stats().TimeReplaced = %d, want 1", got)
	}
	fs := findingsOf(t, db)
	if len(fs) != 1 || !fs[0].FirstSeen.Equal(clk.now()) {
		t.Fatalf("findings %+v, want one first seen at %v", fs, clk.now())
	}
}
