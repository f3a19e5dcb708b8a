package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// truncatedGzip returns content compressed and cut after its first cut
// bytes of content, the way a .gz file looks that was copied while gzip
// was still writing it, or whose write hit a full disk: the deflate data
// so far (a sync flush puts every byte written into it), no final block,
// no trailer.
func truncatedGzip(t *testing.T, content string, cut int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write([]byte(content[:cut])); err != nil {
		t.Fatal(err)
	}
	if err := zw.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A .gz file cut in the middle of its last line (issue 15 item 2): the
// cut line "… 192.0.2.13#53" reads "… 192.0.2.13#5". The file is an error,
// the cut line is never parsed (no finding on port 5), and when the whole
// file is scanned later, the real line is counted once.
func TestScanTruncatedGzip(t *testing.T) {
	for _, tc := range []struct {
		name string
		cut  func(content string) int // content bytes kept
		// lines stored from the truncated file: the complete ones
		want int64
	}{
		// "…#53\n" cut to "…#5": a phantom finding on port 5 if parsed.
		{"in the port", func(c string) int { return len(c) - len("3\n") }, 99},
		// Cut in the first line: not even a fingerprint.
		{"in the first line", func(string) int { return 30 }, 0},
		// Cut right after a newline: the lines before are complete.
		{"after a newline", func(c string) int { return strings.LastIndexByte(c[:len(c)-1], '\n') + 1 }, 99},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			db := openDB(t, filepath.Join(dir, "lamers.db"))
			content := lameLines(0, 100)
			gz := filepath.Join(dir, "named.log.1.gz")
			if err := os.WriteFile(gz, truncatedGzip(t, content, tc.cut(content)), 0o644); err != nil {
				t.Fatal(err)
			}
			sc := NewScanner(db, Options{Location: time.UTC})
			var st Stats
			err := sc.ScanFile(context.Background(), gz, &st)
			if err == nil || !strings.Contains(err.Error(), "truncated") {
				t.Fatalf("scan of the truncated file: error %v, want one saying it is truncated", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q is more than one line", err)
			}
			got, _ := totals(t, db)
			if got != tc.want {
				t.Errorf("after the truncated file: %d events stored, want %d (its complete lines)", got, tc.want)
			}
			for _, f := range findingsOf(t, db) {
				if f.Port != 53 {
					t.Errorf("finding %s %s#%d from the cut line", f.Zone, f.Server, f.Port)
				}
			}
			// The complete file, compressed as logrotate would.
			plain := filepath.Join(dir, "named.log.1")
			writeFile(t, plain, content)
			gzipTo(t, plain, gz)
			os.Remove(plain)
			scan(t, db, gz)
			if got, _ := totals(t, db); got != 100 {
				t.Errorf("after the complete file: %d events stored, want 100", got)
			}
		})
	}
}

// A FIFO among the files of a scan (issue 15 item 3): without a writer,
// opening it for reading would wait for ever; with one, reading its first
// bytes to look for gzip's magic took them from the writer. It is refused
// before it is opened, promptly, its bytes untouched, and the next file
// is scanned.
func TestScanRefusesFIFO(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, filepath.Join(dir, "lamers.db"))
	fifo := filepath.Join(dir, "named.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, "named.log")
	writeFile(t, log, lameLines(0, 10))

	scanFIFO := func(what string) {
		t.Helper()
		done := make(chan error, 1)
		go func() {
			var st Stats
			done <- NewScanner(db, Options{Location: time.UTC}).ScanFile(context.Background(), fifo, &st)
		}()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "not a regular file") {
				t.Errorf("%s: error %v, want one saying it is not a regular file", what, err)
			}
		case <-time.After(time.Minute): // a hang, not a measure of speed
			t.Fatalf("%s: the scan of a FIFO did not return", what)
		}
	}
	scanFIFO("no writer")

	// A writer and its pending bytes: the test holds both ends (O_RDWR
	// does not wait on Linux, fifo(7)).
	rw, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rw.Close()
	const pending = "22-Nov-2026 02:01:50.284 lame-servers: info: lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53\n"
	if _, err := rw.WriteString(pending); err != nil {
		t.Fatal(err)
	}
	scanFIFO("a writer")
	buf := make([]byte, len(pending)+10)
	n, err := rw.Read(buf)
	if err != nil || string(buf[:n]) != pending {
		t.Errorf("the FIFO holds %q (%v), want the %d bytes written", buf[:n], err, len(pending))
	}

	if st := scan(t, db, log); st.Lines != 10 {
		t.Errorf("the file after the FIFO: %d lines read, want 10", st.Lines)
	}
}

// Standard input that never ends (a pipe whose writer waits) does not hold
// a scan past its context: the first SIGINT or SIGTERM stops it.
func TestScanReaderStops(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, filepath.Join(dir, "lamers.db"))
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		var st Stats
		done <- NewScanner(db, Options{Location: time.UTC, TempDir: dir}).ScanReader(ctx, pr, &st)
	}()
	// Some input first, then silence.
	if _, err := pw.Write([]byte(lameLines(0, 3))); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("scan -: %v, want the context's error", err)
		}
	case <-time.After(time.Minute): // a hang, not a measure of speed
		t.Fatal("the scan of a silent standard input did not stop")
	}
	left, _ := filepath.Glob(filepath.Join(dir, "lamers-stdin-*"))
	if len(left) > 0 {
		t.Errorf("spool files left behind: %q", left)
	}
}
