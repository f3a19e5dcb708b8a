package bounce

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzBounce checks Parse's promises on any bytes: no panic, no error from
// an in-memory reader, Raw the message's first MaxRaw bytes at most, Size
// its length, strings valid UTF-8 on one line, enums in range, a token only
// when valid. The seeds are the samples of testdata/bounces and the corpus
// in testdata/fuzz/FuzzBounce.
func FuzzBounce(f *testing.F) {
	files, err := filepath.Glob(filepath.Join(samplesDir, "*.eml"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no samples in %s: %v", samplesDir, err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(bytes.NewReader(data), Options{Local: "lamers-bounces"})
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		if len(m.Raw) > MaxRaw || !bytes.Equal(m.Raw, data[:min(len(data), MaxRaw)]) {
			t.Fatalf("Raw is %d bytes, not the message's first %d", len(m.Raw), min(len(data), MaxRaw))
		}
		if m.Size != int64(len(data)) || m.Truncated != (len(data) > MaxRaw) {
			t.Fatalf("Size %d Truncated %v for %d bytes", m.Size, m.Truncated, len(data))
		}
		if int(m.Class) >= len(classes) || int(m.Format) >= len(formats) || int(m.TokenSource) >= len(sources) {
			t.Fatalf("enum out of range: %d %d %d", m.Class, m.Format, m.TokenSource)
		}
		if (m.Token == "") != (m.TokenSource == SourceNone) || m.Unsubscribe && m.Token == "" {
			t.Fatalf("token %q from %s, unsubscribe %v", m.Token, m.TokenSource, m.Unsubscribe)
		}
		if m.Recipients == nil || len(m.Recipients) > recipients {
			t.Fatalf("%d recipients (nil: %v)", len(m.Recipients), m.Recipients == nil)
		}
		if strings.ContainsAny(m.Problem, "\r\n") {
			t.Fatalf("problem %q is not one line", m.Problem)
		}
		checkStrings(t, m)
	})
}
