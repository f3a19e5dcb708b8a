package ingest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	// fingerprintMax is the most bytes of the first line that identify a stream.
	fingerprintMax = 4096
	// tailHashLen is how many bytes before a checkpoint's offset are hashed
	// to confirm that a file holds the checkpoint's content.
	tailHashLen = 4096
)

// content is one input: a plain file, a gzip file, or spooled standard input.
type content struct {
	name       string // as given on the command line, for messages
	path       string // file to open
	gzip       bool
	final      bool // no more bytes will be appended: consume a last partial line
	dev, inode uint64
	size       int64 // on-disk size, for progress
	mtime      time.Time
	cleanup    func()
	read       atomic.Int64 // on-disk bytes read by the current pass, for progress
}

var gzipMagic = []byte{0x1f, 0x8b}

// errGzipTruncated reports a compressed stream that ends before its end
// marker and trailer: a .gz file copied while gzip was writing it, or cut
// by a full disk. Its last line may be cut too ("#53" read as "#5"), so
// the content is an error, and its partial last line is never parsed.
var errGzipTruncated = errors.New("gzip: file truncated (the compressed data ends early)")

// openRegular opens path for reading after making sure it is a regular
// file: opening a FIFO waits for a writer, and reading one takes bytes from
// it that no re-read finds again. O_NONBLOCK keeps a path swapped for a
// FIFO after the Stat from waiting; the descriptor's own Stat refuses it.
// (On a regular file O_NONBLOCK changes nothing.)
func openRegular(path string) (*os.File, os.FileInfo, error) {
	fi, err := os.Stat(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			pe.Op = "open" // what the caller asked for
		}
		return nil, nil, err
	}
	if err := checkRegular(path, fi); err != nil {
		return nil, nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	if fi, err = f.Stat(); err == nil {
		err = checkRegular(path, fi)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// checkRegular refuses what is not a regular file, naming what it is.
func checkRegular(path string, fi os.FileInfo) error {
	m := fi.Mode()
	switch {
	case m.IsRegular():
		return nil
	case m.IsDir():
		return fmt.Errorf("%s: is a directory", path)
	case m&os.ModeNamedPipe != 0:
		return fmt.Errorf("%s: not a regular file but a pipe (feed it to 'lamers scan -' instead)", path)
	case m&os.ModeSocket != 0:
		return fmt.Errorf("%s: not a regular file but a socket", path)
	case m&os.ModeDevice != 0:
		return fmt.Errorf("%s: not a regular file but a device", path)
	}
	return fmt.Errorf("%s: not a regular file", path)
}

// openContent stats and classifies path. Compression is detected from the
// magic bytes, not the file name.
func openContent(path string) (*content, error) {
	f, fi, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c := &content{name: path, path: path, size: fi.Size(), mtime: fi.ModTime()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		c.dev, c.inode = uint64(st.Dev), st.Ino
	}
	var magic [2]byte
	n, _ := io.ReadFull(f, magic[:])
	if n == 2 && bytes.Equal(magic[:], gzipMagic) {
		c.gzip, c.final = true, true
	}
	return c, nil
}

// spoolStdin copies r into a temporary file so that the stream can be
// verified against checkpoints and re-read after a conflict like any file.
// It stops when ctx is done, also while r blocks (a pipe whose writer is
// silent): the copy is then left to fail on its next write.
func spoolStdin(ctx context.Context, r io.Reader, tmpDir string) (*content, error) {
	f, err := os.CreateTemp(tmpDir, "lamers-stdin-*")
	if err != nil {
		return nil, fmt.Errorf("spool standard input: %w", err)
	}
	name := f.Name()
	remove := func() { os.Remove(name) }
	copied := make(chan error, 1)
	go func() {
		_, err := io.Copy(f, ctxReader{ctx, r})
		copied <- err
	}()
	select {
	case err = <-copied:
	case <-ctx.Done():
		err = context.Cause(ctx)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		remove()
		return nil, fmt.Errorf("spool standard input: %w", err)
	}
	c, err := openContent(name)
	if err != nil {
		remove()
		return nil, err
	}
	c.name, c.final, c.dev, c.inode, c.mtime = "-", true, 0, 0, time.Now()
	c.cleanup = remove
	return c, nil
}

// ctxReader stops reading once its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, context.Cause(r.ctx)
	}
	return r.r.Read(p)
}

// openAt returns the decompressed content from offset on.
func (c *content) openAt(offset int64) (io.ReadCloser, error) {
	f, _, err := openRegular(c.path)
	if err != nil {
		return nil, err
	}
	c.read.Store(0)
	if !c.gzip {
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			f.Close()
			return nil, err
		}
		c.read.Store(offset)
		return &countingFile{File: f, n: &c.read}, nil
	}
	zr, err := gzip.NewReader(bufio.NewReaderSize(&countingFile{File: f, n: &c.read}, 256<<10))
	if err != nil {
		f.Close()
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, errGzipTruncated
		}
		return nil, fmt.Errorf("gzip: %w", err)
	}
	rc := &gzipFile{Reader: zr, f: f}
	if offset > 0 {
		if n, err := io.CopyN(io.Discard, zr, offset); err != nil {
			rc.Close()
			switch {
			case errors.Is(err, io.EOF):
				return nil, fmt.Errorf("content ends at byte %d before offset %d", n, offset)
			case errors.Is(err, errGzipTruncated):
				return nil, err
			}
			return nil, fmt.Errorf("gzip: %w", err)
		}
	}
	return rc, nil
}

// countingFile counts the bytes read from a file.
type countingFile struct {
	*os.File
	n *atomic.Int64
}

func (f *countingFile) Read(p []byte) (int, error) {
	n, err := f.File.Read(p)
	f.n.Add(int64(n))
	return n, err
}

type gzipFile struct {
	*gzip.Reader
	f *os.File
}

// Read is gzip.Reader's, with a stream that ends early reported as
// errGzipTruncated rather than io.ErrUnexpectedEOF, which readers of
// content (io.ReadFull, the line reader) would take for a short file.
func (g *gzipFile) Read(p []byte) (int, error) {
	n, err := g.Reader.Read(p)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = errGzipTruncated
	}
	return n, err
}

func (g *gzipFile) Close() error {
	g.Reader.Close()
	return g.f.Close()
}

// hashBytes is the fingerprint and tail hash function (128 bits of SHA-256).
func hashBytes(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:16]
}

// fingerprint returns the identity of c's content: the hash of its first
// line including the newline, or of its first fingerprintMax bytes when the
// line is longer. ok is false when the content has no complete first line
// yet (a plain file still being written).
func (c *content) fingerprint() (fp []byte, ok bool, err error) {
	rc, err := c.openAt(0)
	if err != nil {
		return nil, false, err
	}
	defer rc.Close()
	return Fingerprint(rc, c.final)
}

// Fingerprint returns the identity of the content whose first bytes r
// reads, as its checkpoints hold it (store.Checkpoint.Fingerprint): the
// hash of its first line including the newline, or of its first 4096
// bytes when the line is longer. ok is false when r holds no complete
// first line yet; final says the content will not grow (a compressed
// file), so that a first line without its newline counts.
func Fingerprint(r io.Reader, final bool) (fp []byte, ok bool, err error) {
	buf := make([]byte, fingerprintMax)
	n, err := io.ReadFull(r, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, false, err
	}
	buf = buf[:n]
	if i := bytes.IndexByte(buf, '\n'); i >= 0 {
		return hashBytes(buf[:i+1]), true, nil
	}
	if n == fingerprintMax || (final && n > 0) {
		return hashBytes(buf), true, nil
	}
	return nil, false, nil
}

// tailHashes reports, for each offset (ascending), the hash of the up to
// tailHashLen bytes before it, or nil when the content is shorter than the
// offset.
func (c *content) tailHashes(offsets []int64) ([][]byte, error) {
	out := make([][]byte, len(offsets))
	if !c.gzip {
		f, _, err := openRegular(c.path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		buf := make([]byte, tailHashLen)
		for i, off := range offsets {
			start := max(off-tailHashLen, 0)
			n, err := f.ReadAt(buf[:off-start], start)
			if int64(n) < off-start {
				if err != nil && !errors.Is(err, io.EOF) {
					return nil, err
				}
				continue
			}
			out[i] = hashBytes(buf[:n])
		}
		return out, nil
	}
	// One pass through the decompressed stream, keeping the last bytes.
	rc, err := c.openAt(0)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 256<<10)
	var pos int64
	window := make([]byte, 0, 2*tailHashLen)
	for i, off := range offsets {
		for pos < off {
			want := off - pos
			if want > 64<<10 {
				want = 64 << 10
			}
			chunk, err := br.Peek(int(min(want, int64(br.Size()))))
			if len(chunk) == 0 {
				if err == io.EOF {
					return out, nil
				}
				if errors.Is(err, errGzipTruncated) {
					return nil, err
				}
				if err != nil {
					return nil, fmt.Errorf("gzip: %w", err)
				}
			}
			window = append(window, chunk...)
			if len(window) > tailHashLen {
				window = append(window[:0], window[len(window)-tailHashLen:]...)
			}
			br.Discard(len(chunk))
			pos += int64(len(chunk))
		}
		if pos == off {
			w := window
			if int64(len(w)) > off {
				w = w[int64(len(w))-off:]
			}
			out[i] = hashBytes(w)
		}
	}
	return out, nil
}
