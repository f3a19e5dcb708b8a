package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

const (
	readChunk = 1 << 20
	// maxLine is the longest line handed to the parser. Longer lines are
	// counted and skipped: no resolver writes a lame-server line that long.
	maxLine = 2 << 20
)

// lineReader splits content into lines and tracks the content offset after
// each one. It keeps the tailHashLen bytes before the current position in
// its buffer so that a checkpoint's tail hash can be taken at any line
// boundary.
type lineReader struct {
	r     io.Reader
	buf   []byte
	start int   // next unread byte in buf
	end   int   // end of valid data in buf
	off   int64 // content offset of buf[start]
	eof   bool
	err   error
	final bool // consume a last line without newline at EOF

	skipping bool // inside an overlong line
	skipOff  int64
	skipTail []byte
}

// newLineReader reads lines from r, which starts history bytes before
// offset: those bytes are kept as the context of the first tail hash and
// are not returned as lines.
func newLineReader(r io.Reader, offset int64, history int, final bool) (*lineReader, error) {
	return newLineReaderBuf(nil, r, offset, history, final)
}

// lineBufSize is the size of a lineReader's buffer.
const lineBufSize = maxLine + tailHashLen + 2*readChunk

// newLineReaderBuf is newLineReader reusing buf (of lineBufSize bytes) when
// it is not nil: a tailer reads the same file many times.
func newLineReaderBuf(buf []byte, r io.Reader, offset int64, history int, final bool) (*lineReader, error) {
	if len(buf) != lineBufSize {
		buf = make([]byte, lineBufSize)
	}
	lr := &lineReader{r: r, buf: buf, off: offset, final: final}
	if history > 0 {
		if _, err := io.ReadFull(r, lr.buf[:history]); err != nil {
			return nil, fmt.Errorf("read before offset %d: %w", offset, err)
		}
		lr.start, lr.end = history, history
	}
	return lr, nil
}

// errIncomplete reports that the content ends in a line that is not
// finished yet; it is left for the next run.
var errIncomplete = errors.New("incomplete last line")

// next returns the next line without its line ending. overlong is set for a
// line longer than maxLine (its content is not returned). At the end of the
// content next returns io.EOF, or errIncomplete when a partial last line of
// a non-final file remains; boundary then tells where it starts.
func (lr *lineReader) next() (line []byte, overlong bool, err error) {
	for {
		if i := bytes.IndexByte(lr.buf[lr.start:lr.end], '\n'); i >= 0 {
			line = lr.buf[lr.start : lr.start+i]
			lr.start += i + 1
			lr.off += int64(i + 1)
			if lr.skipping || i > maxLine {
				lr.skipping = false
				return nil, true, nil
			}
			return trimCR(line), false, nil
		}
		if lr.eof {
			if lr.err != nil {
				// A read error ends the content: whatever follows the
				// last complete line (a compressed stream cut inside a
				// line) is never taken for a line.
				return nil, false, lr.err
			}
			if lr.start == lr.end && !lr.skipping {
				return nil, false, io.EOF
			}
			if !lr.final {
				return nil, false, errIncomplete
			}
			line = lr.buf[lr.start:lr.end]
			lr.off += int64(lr.end - lr.start)
			lr.start = lr.end
			if lr.skipping || len(line) > maxLine {
				lr.skipping = false
				return nil, true, nil
			}
			return trimCR(line), false, nil
		}
		if lr.end-lr.start >= maxLine {
			// Too long: remember where it started (a growing file must not
			// be checkpointed inside it), then drop bytes up to its end.
			if !lr.skipping {
				lr.skipping = true
				lr.skipOff, lr.skipTail = lr.off, lr.tailHash()
			}
			lr.off += int64(lr.end - lr.start)
			lr.start = lr.end
		}
		lr.fill()
	}
}

// boundary returns the offset after the last complete line and the hash of
// the bytes before it: where a checkpoint may be taken.
func (lr *lineReader) boundary() (int64, []byte) {
	if lr.skipping {
		return lr.skipOff, lr.skipTail
	}
	return lr.off, lr.tailHash()
}

func trimCR(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\r' {
		return b[:n-1]
	}
	return b
}

// fill reads more data, first moving the unread bytes (and the
// tailHashLen bytes before them) to the front of the buffer.
func (lr *lineReader) fill() {
	if keep := lr.start - tailHashLen; keep > 0 && lr.end+readChunk > len(lr.buf) {
		copy(lr.buf, lr.buf[keep:lr.end])
		lr.start -= keep
		lr.end -= keep
	}
	n, err := io.ReadAtLeast(lr.r, lr.buf[lr.end:lr.end+readChunk], 1)
	lr.end += n
	if err != nil {
		lr.eof = true
		if !errors.Is(err, io.EOF) {
			lr.err = err
		}
	}
}

// tailHash returns the hash of the up to tailHashLen bytes before the current
// offset.
func (lr *lineReader) tailHash() []byte {
	n := min(lr.start, tailHashLen)
	if int64(n) > lr.off {
		n = int(lr.off)
	}
	return hashBytes(lr.buf[lr.start-n : lr.start])
}
