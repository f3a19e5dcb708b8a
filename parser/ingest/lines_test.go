package ingest

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

type lineOut struct {
	line     string
	overlong bool
	off      int64
}

func readAll(t *testing.T, lr *lineReader) ([]lineOut, error) {
	t.Helper()
	var out []lineOut
	for {
		line, overlong, err := lr.next()
		if err != nil {
			return out, err
		}
		off, _ := lr.boundary()
		out = append(out, lineOut{string(line), overlong, off})
	}
}

func TestLineReader(t *testing.T) {
	long := strings.Repeat("x", maxLine+10)
	tests := []struct {
		name    string
		in      string
		final   bool
		want    []lineOut
		wantErr error
		wantOff int64 // boundary after the last call
	}{
		{"complete lines", "a\nbb\n", false, []lineOut{{"a", false, 2}, {"bb", false, 5}}, io.EOF, 5},
		{"crlf", "a\r\nb\r\n", false, []lineOut{{"a", false, 3}, {"b", false, 6}}, io.EOF, 6},
		{"partial last line of a growing file", "a\nb", false, []lineOut{{"a", false, 2}}, errIncomplete, 2},
		{"partial last line of a final file", "a\nb", true, []lineOut{{"a", false, 2}, {"b", false, 3}}, io.EOF, 3},
		{"empty lines", "\n\n", false, []lineOut{{"", false, 1}, {"", false, 2}}, io.EOF, 2},
		{"nul and invalid utf-8 are bytes", "a\x00\xff\n", false, []lineOut{{"a\x00\xff", false, 4}}, io.EOF, 4},
		{"overlong line is skipped but counted", "a\n" + long + "\nb\n", false,
			[]lineOut{{"a", false, 2}, {"", true, int64(2 + len(long) + 1)}, {"b", false, int64(2 + len(long) + 3)}}, io.EOF, int64(2 + len(long) + 3)},
		{"unfinished overlong line stays unread", "a\n" + long, false, []lineOut{{"a", false, 2}}, errIncomplete, 2},
		{"unfinished overlong line of a final file", "a\n" + long, true, []lineOut{{"a", false, 2}, {"", true, int64(2 + len(long))}}, io.EOF, int64(2 + len(long))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// One byte at a time exercises every refill path.
			for _, r := range []io.Reader{strings.NewReader(tt.in), iotest.HalfReader(strings.NewReader(tt.in))} {
				lr, err := newLineReader(r, 0, 0, tt.final)
				if err != nil {
					t.Fatal(err)
				}
				got, err := readAll(t, lr)
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if len(got) != len(tt.want) {
					t.Fatalf("got %d lines, want %d", len(got), len(tt.want))
				}
				for i := range got {
					if got[i] != tt.want[i] {
						t.Errorf("line %d = %q/%v/%d, want %q/%v/%d", i, trunc(got[i].line), got[i].overlong, got[i].off, trunc(tt.want[i].line), tt.want[i].overlong, tt.want[i].off)
					}
				}
				if off, _ := lr.boundary(); off != tt.wantOff {
					t.Errorf("boundary = %d, want %d", off, tt.wantOff)
				}
			}
		})
	}
}

func trunc(s string) string {
	if len(s) > 20 {
		return s[:20] + "…"
	}
	return s
}

// The tail hash at a boundary must equal the hash content.tailHashes
// computes from the file, however the reader got there.
func TestLineReaderTailHashMatchesContent(t *testing.T) {
	var b bytes.Buffer
	for i := range 3000 {
		b.WriteString(strings.Repeat("y", i%50))
		b.WriteString("\n")
	}
	data := b.Bytes()
	lr, err := newLineReader(bytes.NewReader(data), 0, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; ; n++ {
		if _, _, err := lr.next(); err != nil {
			break
		}
		off, tail := lr.boundary()
		start := max(off-tailHashLen, 0)
		if want := hashBytes(data[start:off]); !bytes.Equal(tail, want) {
			t.Fatalf("line %d: tail hash at %d differs from the content's", n, off)
		}
	}
	// Resuming with history gives the same hashes.
	const resumeAt = 20000
	cut := int64(bytes.LastIndexByte(data[:resumeAt], '\n') + 1)
	hist := min(cut, tailHashLen)
	lr, err = newLineReader(bytes.NewReader(data[cut-hist:]), cut, int(hist), false)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := lr.next(); err != nil {
		t.Fatal(err)
	}
	off, tail := lr.boundary()
	if want := hashBytes(data[max(off-tailHashLen, 0):off]); !bytes.Equal(tail, want) {
		t.Fatalf("after resume: tail hash at %d differs", off)
	}
}
