package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
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
