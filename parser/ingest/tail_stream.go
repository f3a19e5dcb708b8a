package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"syscall"
	"time"

	"github.com/nxadm/tail"

	"github.com/lamers-dev/lamers/parser"
	"github.com/lamers-dev/lamers/store"
)

// errReplaced reports that a followed file no longer holds the content its
// stream was reading: it was truncated (copytruncate), possibly refilled past
// the old offset, or overwritten.
var errReplaced = errors.New("content replaced (truncated or overwritten)")

// stream is one content being followed through one pinned file descriptor:
// the file a source path names now, or a rotated-away inode that is drained
// until it has been idle for a while. Its position has the same meaning as
// a Scanner's: offset after the last complete line, hash of the bytes
// before it, under the fingerprint of the first line.
type stream struct {
	t      *Tailer
	src    Source
	f      *os.File
	c      *content // reads through the descriptor (see fdPath)
	fdPath string
	dev    uint64
	ino    uint64

	fp   []byte           // nil until the first line is complete
	base store.Checkpoint // as last committed or resumed
	seen int64            // MaxCheckpointID when base was looked up

	pos      int64              // content consumed (≥ base.Offset)
	marks    []store.PrefixMark // prefix marks up to pos (prefix.go)
	nextMark int64              // where the next one is due
	tail     []byte             // hash of the bytes before pos, when tailOK
	tailOK   bool
	lines    int64
	window   []byte // the raw bytes before pos (≥ min(pos, tailHashLen)), when windowOK
	windowOK bool

	p     *parser.Parser
	agg   *aggregate
	seq   int64 // observations added to agg, its seq numbers
	st    Stats // of the lines consumed since base
	n     int   // lines consumed since base
	since time.Time

	startAtEnd bool // first sight for tail: skip the existing content

	lastGrowth time.Time
	size       int64

	nx        *tail.Tail // nxadm/tail on a dup of f, for the current file only
	nxDup     *os.File
	restartNX bool // nxadm/tail must be re-anchored at pos
	resynced  bool // the last commit lost a race and went back to the store's checkpoint
	lrBuf     []byte
	obs       []parser.Observation
}

// openStream pins the file at path.
func (t *Tailer) openStream(src Source, startAtEnd bool) (*stream, error) {
	f, fi, err := openRegular(src.Path)
	if err != nil {
		return nil, err
	}
	// A read probe: a file that can be opened but not read (EIO, EISDIR)
	// is reported now rather than on every pass.
	var probe [2]byte
	n, err := f.ReadAt(probe[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		f.Close()
		return nil, err
	}
	if n == 2 && bytes.Equal(probe[:], gzipMagic) {
		f.Close()
		return nil, fmt.Errorf("%s: compressed file (use lamers scan)", src.Path)
	}
	s := &stream{t: t, src: src, f: f, startAtEnd: startAtEnd, lastGrowth: t.now(), size: fi.Size()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.dev, s.ino = uint64(st.Dev), st.Ino
	}
	s.fdPath = src.Path
	if t.procFD {
		s.fdPath = fmt.Sprintf("/proc/self/fd/%d", f.Fd())
	}
	s.c = &content{name: src.Path, path: s.fdPath, dev: s.dev, inode: s.ino, size: fi.Size(), mtime: fi.ModTime()}
	s.resetParser(nil)
	return s, nil
}

func (s *stream) resetParser(state []byte) error {
	s.p = parser.New(parser.Options{Format: s.src.Format, Location: s.t.opts.Location, Reference: s.t.now(), TransientQName: true,
		IgnoreServers: s.t.opts.IgnoreServers})
	s.agg = newAggregate()
	s.st = Stats{}
	s.n = 0
	if len(state) > 0 {
		if err := s.p.Restore(state); err != nil {
			return fmt.Errorf("checkpoint %d: %w", s.base.ID, err)
		}
	}
	return nil
}

// fileFingerprint reads the fingerprint of what the descriptor holds now.
func (s *stream) fileFingerprint() ([]byte, bool, error) {
	return Fingerprint(io.NewSectionReader(s.f, 0, fingerprintMax), false)
}

// hashBefore returns the hash of the up to tailHashLen bytes before off as
// the file holds them now, and those bytes; ok is false when the file is
// shorter.
func (s *stream) hashBefore(off int64) (h, raw []byte, ok bool, err error) {
	start := max(off-tailHashLen, 0)
	buf := make([]byte, off-start)
	n, err := s.f.ReadAt(buf, start)
	if n < len(buf) {
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, nil, false, err
		}
		return nil, nil, false, nil
	}
	return hashBytes(buf), buf, true, nil
}

func (s *stream) tailHash() []byte {
	if !s.tailOK {
		w := s.window
		if len(w) > tailHashLen {
			w = w[len(w)-tailHashLen:]
		}
		s.tail, s.tailOK = hashBytes(w), true
	}
	return s.tail
}

// identify computes the fingerprint once the first line is complete and
// finds the checkpoint the content continues.
func (s *stream) identify(ctx context.Context) error {
	if s.fp != nil {
		return nil
	}
	fp, ok, err := s.fileFingerprint()
	if err != nil || !ok {
		return err
	}
	r, err := resume(ctx, s.t.sink, s.c, fp)
	if err != nil || r.prefix {
		// A prefix of content read already: nothing to read until it
		// grows past it; identified again on the next pass.
		return err
	}
	base := r.base
	s.fp, s.base, s.seen = fp, base, r.seen
	s.marks, s.nextMark = slices.Clone(base.Marks), markAfter(base.Offset)
	s.pos, s.lines, s.tail, s.tailOK, s.windowOK = base.Offset, base.Lines, base.TailHash, true, false
	if base.ID == 0 {
		s.tail = hashBytes(nil)
	}
	if err := s.resetParser(base.State); err != nil {
		return err
	}
	if base.ID == 0 && s.startAtEnd {
		return s.skipToEnd(ctx)
	}
	return nil
}

// skipToEnd commits a checkpoint after the last complete line without
// counting anything: tail starts at the end of a file it has never seen.
func (s *stream) skipToEnd(ctx context.Context) error {
	fi, err := s.f.Stat()
	if err != nil {
		return err
	}
	end, err := lastLineEnd(s.f, fi.Size())
	if err != nil {
		return err
	}
	h, _, ok, err := s.hashBefore(end)
	if err != nil || !ok {
		return fmt.Errorf("read before offset %d: %v", end, err)
	}
	s.pos, s.tail, s.tailOK = end, h, true
	s.t.log.Info("tail: new file, starting at its end (use --from-start to read existing lines)",
		logKeyPath, s.src.Path, logKeyOffset, end)
	return s.commit(ctx, true)
}

// lastLineEnd returns the offset after the last newline before size.
func lastLineEnd(f *os.File, size int64) (int64, error) {
	buf := make([]byte, 64<<10)
	for end := size; end > 0; {
		start := max(end-int64(len(buf)), 0)
		n, err := f.ReadAt(buf[:end-start], start)
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return start + int64(i) + 1, nil
		}
		end = start
	}
	return 0, nil
}

// addLine parses one consumed line.
func (s *stream) addLine(line []byte, overlong bool) {
	s.n++
	s.lines++
	s.st.Lines++
	if s.since.IsZero() {
		s.since = s.t.now()
	}
	if overlong {
		s.st.Overlong++
		return
	}
	var res parser.Result
	c0 := s.p.Counts()
	s.p.SetLine(s.lines - 1) // its number in the content, as scan gives it
	s.obs, res = s.p.Parse(line, s.obs[:0])
	s.st.addCounts(c0, s.p.Counts())
	switch res {
	case parser.Recognised:
		s.st.Recognised++
	case parser.Unrecognised:
		s.st.Unrecognised++
		if s.st.FirstUnrecognised == "" {
			s.st.FirstUnrecognised = string(line)
			s.st.FirstUnrecognisedFile = s.src.Path
		}
	}
	for i := range s.obs {
		s.seq++
		s.agg.add(&s.obs[i], s.seq)
	}
}

// full reports whether the pending batch must be committed before more
// lines are read.
func (s *stream) full() bool {
	return s.n >= s.t.opts.BatchLines || s.agg.len() >= s.t.opts.BatchKeys
}

// catchUp reads the complete lines between the position and the end of the
// file with the Scanner's line reader. It returns errReplaced when the file
// no longer holds the content before the position.
func (s *stream) catchUp(ctx context.Context) (read bool, err error) {
	if err := s.identify(ctx); err != nil || s.fp == nil {
		return false, err
	}
	fi, err := s.f.Stat()
	if err != nil {
		return false, err
	}
	if fi.Size() != s.size {
		s.size, s.lastGrowth = fi.Size(), s.t.now()
	}
	if fi.Size() < s.pos {
		return false, errReplaced
	}
	if fi.Size() == s.pos || s.full() {
		return false, nil
	}
	s.p.SetReference(s.t.now())
	history := min(s.pos, tailHashLen)
	if s.lrBuf == nil {
		s.lrBuf = make([]byte, lineBufSize)
	}
	lr, err := newLineReaderBuf(s.lrBuf, io.NewSectionReader(s.f, s.pos-history, 1<<62), s.pos, int(history), false)
	if err != nil {
		return false, errReplaced // shorter than the position now
	}
	if !bytes.Equal(lr.tailHash(), s.tailHash()) {
		return false, errReplaced
	}
	for !s.full() {
		line, overlong, err := lr.next()
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, errIncomplete) {
				break
			}
			return read, err
		}
		s.addLine(line, overlong)
		read = true
		s.pos, s.tail = lr.boundary()
		s.tailOK, s.windowOK = true, false
		s.mark()
	}
	// A partial overlong line moves the boundary back to its start.
	s.pos, s.tail = lr.boundary()
	s.tailOK, s.windowOK = true, false
	return read, nil
}

// consume takes one line delivered by nxadm/tail (without its newline, end =
// offset after it). It reports false when the line does not continue the
// position exactly: nxadm/tail re-read the file from the start after a
// rename, resumed at a stale offset after a truncation it missed, or the
// content changed; the caller then re-verifies and re-anchors.
func (s *stream) consume(text string, end int64) (bool, error) {
	if end <= s.pos {
		return true, nil // already read by a catch-up pass
	}
	n := int64(len(text)) + 1
	if s.fp == nil || end-n != s.pos || s.full() {
		return false, nil
	}
	if !s.windowOK {
		h, raw, ok, err := s.hashBefore(s.pos)
		if err != nil {
			return false, err
		}
		if !ok || !bytes.Equal(h, s.tailHash()) {
			return false, nil
		}
		s.window, s.windowOK = append(s.window[:0], raw...), true
	}
	if len(s.window) > 64<<10 {
		s.window = append(s.window[:0], s.window[len(s.window)-tailHashLen:]...)
	}
	s.window = append(s.window, text...)
	s.window = append(s.window, '\n')
	line := s.window[len(s.window)-int(n) : len(s.window)-1]
	s.pos, s.tailOK = end, false
	s.lastGrowth = s.t.now()
	s.addLine(trimCR(line), len(line) > maxLine)
	s.mark()
	return true, nil
}

// mark takes a prefix mark at the position when one is due.
func (s *stream) mark() {
	if s.pos >= s.nextMark {
		s.marks = append(s.marks, store.PrefixMark{Offset: s.pos, Lines: s.lines, Hash: s.tailHash()})
		s.nextMark = markAfter(s.pos)
	}
}

// verify checks that the file still holds the content read: the same first
// line and the same bytes before the position. Run before every commit, it
// keeps lines read from a copytruncated and refilled file out of the store.
func (s *stream) verify() error {
	fp, ok, err := s.fileFingerprint()
	if err != nil {
		return err
	}
	if !ok || !bytes.Equal(fp, s.fp) {
		return errReplaced
	}
	h, _, ok, err := s.hashBefore(s.pos)
	if err != nil {
		return err
	}
	if !ok || !bytes.Equal(h, s.tailHash()) {
		return errReplaced
	}
	return nil
}

// changed reports whether the file's first line is no longer the one the
// stream identified it by: copytruncate refilled it to (or past) the old
// position before a catch-up saw it shorter.
func (s *stream) changed() bool {
	if s.fp == nil {
		return false
	}
	fp, ok, err := s.fileFingerprint()
	return err == nil && (!ok || !bytes.Equal(fp, s.fp))
}

// pending reports whether lines were consumed since the last commit.
func (s *stream) pending() bool { return s.fp != nil && s.pos != s.base.Offset }

// commit writes the pending batch with its checkpoint. On a conflict with
// another writer (a scan of the same content) it goes back to the stored
// checkpoint and drops what it had read since: that will be read again.
func (s *stream) commit(ctx context.Context, force bool) error {
	if !force && !s.pending() {
		return nil
	}
	if err := s.verify(); err != nil {
		return err
	}
	s.st.ExtraKinds += parts{s.agg}.capKinds()
	b := store.Batch{
		Base:      s.base,
		SeenMaxID: s.seen,
		Next: store.Checkpoint{
			Offset: s.pos, TailHash: s.tailHash(), Lines: s.lines, State: s.p.State(),
			Dev: s.dev, Inode: s.ino, Path: s.src.Path, Marks: slices.Clone(s.marks),
		},
		Counts: parts{s.agg}.counts(),
	}
	if b.Base.ID == 0 {
		b.Base.Fingerprint = s.fp
	}
	res, err := s.t.sink.Commit(ctx, b)
	if errors.Is(err, store.ErrConflict) {
		s.t.log.Debug("tail: checkpoint moved by another writer, resuming from it", logKeyPath, s.src.Path, logKeyErr, err)
		return s.resync(ctx)
	}
	if err != nil {
		return err
	}
	s.base = res.Checkpoint
	st, n, since := s.st, s.n, s.since
	st.NewFindings = res.NewFindings
	st.CappedKinds = res.CappedEvents
	s.agg, s.st, s.n, s.since = newAggregate(), Stats{}, 0, time.Time{}
	s.t.committed(TailCommit{Path: s.src.Path, Lines: int64(n), Offset: s.pos, Since: since, Stats: st})
	return nil
}

// resync goes back to the furthest stored checkpoint this content continues.
func (s *stream) resync(ctx context.Context) error {
	s.fp = nil
	s.startAtEnd = false
	s.windowOK = false
	s.since = time.Time{}
	s.restartNX, s.resynced = true, true
	return s.identify(ctx)
}

func (s *stream) close() {
	s.stopNX()
	s.f.Close()
}
