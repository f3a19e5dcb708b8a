package bounce

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/lamers-dev/lamers/internal/testio"
)

const bigSize = 50 << 20

// bigMessages are 50 MB messages of the shapes that could make a parser
// hold them whole: a huge returned message, one line without an end, a huge
// base64 text part, a huge header field, a huge text bounce quoting near
// misses of a Message-ID.
func bigMessages() map[string]func() io.Reader {
	stream := func(head, line, tail string) func() io.Reader {
		return func() io.Reader {
			return io.MultiReader(strings.NewReader(head),
				testio.Repeat(line, bigSize), strings.NewReader(tail))
		}
	}
	report := dsn(oneFailed, "Message-ID: <lamers.cejbgfavcylrqgi2dmob@example.net>\n")
	head := strings.TrimSuffix(report, "--B--\n") + "--B\nContent-Type: message/rfc822\n\nSubject: lame\n\n"
	return map[string]func() io.Reader{
		"returned-lines": stream(head, "a 76 character line of the returned message, quoted-printable or not, xxxxx\n", "\n--B--\n"),
		"one-line":       stream("From: MAILER-DAEMON@x.example\nSubject: failure notice\n\n<gone@example.org>: 550 user unknown\n", strings.Repeat("z", 4096), ""),
		"base64-part": stream(strings.TrimSuffix(report, "--B--\n")+"--B\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\n",
			"VGhlIG1haWwgc3lzdGVtIGlzIHNvcnJ5IHRvIGluZm9ybSB5b3UgdGhhdCB5b3VyIG1lc3NhZ2Ug\n", "\n--B--\n"),
		"header-line": stream("Subject: ", strings.Repeat("h", 4096), "\n\nbody\n"),
		"text-near-misses": stream("From: MAILER-DAEMON@x.example\nSubject: failure notice\n\n<gone@example.org>: 550 user unknown\n\n",
			"see lamers.example.net or lamers.aaaaaaaaaaaaaaaaaaaa.x\n", "Message-ID: <lamers.cejbgfavcylrqgi2dmob@example.net>\n"),
	}
}

// allocated returns the bytes allocated by f (runtime.MemStats.TotalAlloc,
// which bounds the heap f can have held at any moment).
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestBigMessageMemory parses 50 MB messages streamed from a generator and
// checks that Parse allocated at most 8 MiB in all, and read everything.
// It measures memory, not time.
func TestBigMessageMemory(t *testing.T) {
	for name, open := range bigMessages() {
		t.Run(name, func(t *testing.T) {
			var m *Message
			var err error
			n := allocated(func() { m, err = Parse(open(), Options{}) })
			if err != nil {
				t.Fatal(err)
			}
			if m.Size < bigSize || !m.Truncated || len(m.Raw) != MaxRaw {
				t.Errorf("Size %d Truncated %v Raw %d", m.Size, m.Truncated, len(m.Raw))
			}
			if n > 8<<20 {
				t.Errorf("Parse allocated %d bytes for a %d-byte message, want at most 8 MiB", n, m.Size)
			}
			t.Logf("%s: %d bytes allocated, class %s, token %q, problem %q", name, n, m.Class, m.Token, m.Problem)
		})
	}
}

// BenchmarkParse parses every sample of testdata/bounces; msgs/s is the
// figure to compare with the 500 messages/s the bounce pipe must sustain.
func BenchmarkParse(b *testing.B) {
	files, err := filepath.Glob(filepath.Join(samplesDir, "*.eml"))
	if err != nil || len(files) == 0 {
		b.Fatalf("no samples: %v", err)
	}
	var msgs [][]byte
	size := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		msgs = append(msgs, data)
		size += len(data)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		for _, data := range msgs {
			if _, err := Parse(bytes.NewReader(data), Options{Local: "lamers-bounces"}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*len(msgs))/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkParseBig parses a 50 MB message (a DSN returning a 50 MB
// message) streamed from a generator. alloc-B/op is runtime.MemStats'
// TotalAlloc per parse; peak-RSS-MB is the process's VmHWM (Linux), a true
// figure when this benchmark runs alone (-bench ParseBig).
func BenchmarkParseBig(b *testing.B) {
	open := bigMessages()["returned-lines"]
	b.SetBytes(bigSize)
	var total uint64
	for b.Loop() {
		total += allocated(func() {
			if _, err := Parse(open(), Options{}); err != nil {
				b.Fatal(err)
			}
		})
	}
	b.ReportMetric(float64(total)/float64(b.N), "alloc-B/op")
	if hwm := peakRSS(); hwm > 0 {
		b.ReportMetric(float64(hwm)/(1<<20), "peak-RSS-MB")
	}
}

// peakRSS returns the process's peak resident set size from
// /proc/self/status, 0 where there is none.
func peakRSS() int64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}
