package ingest

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"syscall"
	"time"

	"github.com/nxadm/tail"

	"github.com/lamers-dev/lamers/store"
)

// follower follows one source path.
type follower struct {
	t   *Tailer
	src Source

	firstSight bool // the next file opened is the first seen: start at its end
	cur        *stream
	old        []*stream // rotated away, drained until idle

	reported string // last state reported for the path ("-" none yet, "" following)
	scanner  *Scanner

	// The store's state as commits found it: while they fail (a full
	// disk), the next is tried at retryAt, after a back-off that doubles
	// from minBackoff to maxBackoff; the failure and the recovery are
	// logged once each.
	failing bool
	backoff time.Duration
	retryAt time.Time
}

// The back-off of commits while the store fails.
const (
	minBackoff = time.Second
	maxBackoff = time.Minute
)

// errBackingOff is commitStream's answer while the back-off runs.
var errBackingOff = errors.New("the store failed: waiting before the next commit")

// commitStream commits what s consumed, unless the store failed and the
// back-off has not run out. It logs a failure once, when commits start to
// fail, and once when they work again; errReplaced and errBackingOff are
// the caller's to handle.
func (f *follower) commitStream(ctx context.Context, s *stream) error {
	if f.failing && f.t.now().Before(f.retryAt) {
		return errBackingOff
	}
	err := s.commit(ctx, false)
	switch {
	case err == nil || errors.Is(err, errReplaced):
		if f.failing {
			f.failing = false
			f.t.log.Info("tail: commits work again", logKeyPath, f.src.Path, logKeyBackoff, f.backoff)
		}
	case !f.failing:
		f.failing, f.backoff = true, minBackoff
		f.t.logFailure(ctx, slog.LevelError, "tail: commit failed; retrying with a back-off of up to a minute, logged again when it works",
			logKeyPath, f.src.Path, logKeyErr, err)
	default:
		f.backoff = min(2*f.backoff, maxBackoff)
		f.t.log.Debug("tail: commit failed again", logKeyPath, f.src.Path, logKeyErr, err, logKeyBackoff, f.backoff)
	}
	if f.failing {
		f.retryAt = f.t.now().Add(f.backoff)
	}
	return err
}

func (t *Tailer) newFollower(src Source, firstSight bool) *follower {
	return &follower{
		t: t, src: src, firstSight: firstSight, reported: "-",
		scanner: NewScanner(t.sink, Options{Format: src.Format, Location: t.opts.Location}),
	}
}

// report logs a problem with the path once, and its end.
func (f *follower) report(err error) {
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	if msg == f.reported {
		return
	}
	switch {
	case err == nil:
		f.t.log.Info("tail: following", logKeyPath, f.src.Path)
	case errors.Is(err, fs.ErrNotExist):
		f.t.log.Info("tail: waiting for the file to appear", logKeyPath, f.src.Path)
	default:
		f.t.log.Error("tail: cannot read file", logKeyPath, f.src.Path, logKeyErr, err)
	}
	f.reported = msg
}

// siblings lists the rotated generations of the path (Generations).
func (f *follower) siblings() []string { return Generations(f.src.Path) }

func statIno(path string) (dev, ino uint64, ok bool) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, 0, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return uint64(st.Dev), st.Ino, true
}

// startup scans the rotated siblings that may hold lines no one read:
//   - those a tailer or scan started on (their inode, or their
//     fingerprint, has a checkpoint short of their end): lines written after
//     the last commit of a tailer that stopped, or copied by copytruncate
//     while it was down;
//   - those never seen but modified after the source's last commit: a file
//     created and rotated away while the tailer was down.
//
// Then it opens the path.
func (f *follower) startup(ctx context.Context) error {
	type sib struct {
		path  string
		mtime time.Time
	}
	var unseen []sib
	var last time.Time
	if dev, ino, ok := statIno(f.src.Path); ok {
		cps, err := f.t.sink.CheckpointsByInode(ctx, dev, ino)
		if err != nil {
			return fmt.Errorf("tail %s: %w", f.src.Path, err)
		}
		for _, cp := range cps {
			last = maxTime(last, cp.UpdatedAt)
		}
	}
	for _, p := range f.siblings() {
		unread, known, updated, err := f.unread(ctx, p)
		if err != nil {
			return fmt.Errorf("tail %s: %w", f.src.Path, err)
		}
		last = maxTime(last, updated)
		if known {
			f.firstSight = false
		}
		if unread {
			f.drain(ctx, p)
		}
		if !known {
			if fi, err := os.Stat(p); err == nil {
				unseen = append(unseen, sib{p, fi.ModTime()})
			}
		}
	}
	if !last.IsZero() {
		for _, s := range unseen {
			if s.mtime.After(last.Add(-time.Second)) {
				f.drain(ctx, s.path)
			}
		}
	}
	f.check(ctx)
	f.flushAll(ctx) // what was read at start is durable at once
	return nil
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// unread reports whether the rotated file p has content after its
// checkpoint, whether it has a checkpoint at all, and when that was last
// updated. A gzip file is compared by its trailer's length (modulo 2^32),
// so that archives already read are not decompressed again.
func (f *follower) unread(ctx context.Context, p string) (unread, known bool, updated time.Time, err error) {
	c, err := openContent(p)
	if err != nil {
		return false, false, updated, nil
	}
	if dev, ino, ok := statIno(p); ok && !c.gzip {
		cps, err := f.t.sink.CheckpointsByInode(ctx, dev, ino)
		if err != nil {
			return false, false, updated, err
		}
		for _, cp := range cps {
			updated = maxTime(updated, cp.UpdatedAt)
		}
		if len(cps) > 0 && c.size > slices.MaxFunc(cps, func(a, b store.Checkpoint) int { return cmp.Compare(a.Offset, b.Offset) }).Offset {
			unread, known = true, true
		}
	}
	fp, ok, err := c.fingerprint()
	if err != nil || !ok {
		return unread, known, updated, nil
	}
	cps, err := f.t.sink.CheckpointsByFingerprint(ctx, fp)
	if err != nil || len(cps) == 0 {
		return unread, known, updated, err
	}
	var end int64
	for _, cp := range cps {
		end = max(end, cp.Offset)
		updated = maxTime(updated, cp.UpdatedAt)
	}
	if !c.gzip {
		return unread || c.size > end, true, updated, nil
	}
	isize, ok := gzipISize(p)
	return unread || !ok || isize != uint32(end), true, updated, nil
}

// gzipISize returns the ISIZE field of a gzip file's trailer.
func gzipISize(p string) (uint32, bool) {
	fh, err := os.Open(p)
	if err != nil {
		return 0, false
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil || fi.Size() < 18 {
		return 0, false
	}
	var b [4]byte
	if _, err := fh.ReadAt(b[:], fi.Size()-4); err != nil {
		return 0, false
	}
	return binary.LittleEndian.Uint32(b[:]), true
}

// drain scans a rotated file from its checkpoint.
func (f *follower) drain(ctx context.Context, path string) {
	var st Stats
	if err := f.scanner.ScanFile(ctx, path, &st); err != nil {
		f.t.logFailure(ctx, slog.LevelWarn, "tail: read rotated file", logKeyPath, path, logKeyErr, err)
		return
	}
	if st.Lines > 0 {
		f.t.log.Info("tail: read lines left in a rotated file", logKeyPath, path, logKeyLines, st.Lines)
		f.t.committed(TailCommit{Path: path, Lines: st.Lines, Stats: st})
	}
}

// known reports whether a tailer or scan has read this source before:
// the file or a rotated sibling has a checkpoint by inode.
func (f *follower) known(ctx context.Context) bool {
	for _, p := range append([]string{f.src.Path}, f.siblings()...) {
		dev, ino, ok := statIno(p)
		if !ok {
			continue
		}
		if cps, err := f.t.sink.CheckpointsByInode(ctx, dev, ino); err == nil && len(cps) > 0 {
			return true
		}
	}
	return false
}

func (s *stream) same(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && uint64(st.Dev) == s.dev && st.Ino == s.ino
}

// check looks at the path, then reads every file to its end.
func (f *follower) check(ctx context.Context) {
	fi, err := os.Stat(f.src.Path)
	if err == nil {
		err = checkRegular(f.src.Path, fi)
	}
	switch {
	case err == nil:
		if f.cur != nil && f.cur.same(fi) {
			break
		}
		if f.cur != nil {
			f.rotated()
		}
		f.open(ctx)
	case errors.Is(err, fs.ErrNotExist):
		if f.cur != nil {
			f.rotated()
		}
		f.report(err)
	default:
		// A directory made unreadable: the open descriptors still work.
		f.report(err)
	}
	f.firstSight = false
	f.readAll(ctx)
	f.t.closeGraves(time.Second)
}

// open starts the stream of the file the path names now.
func (f *follower) open(ctx context.Context) {
	atEnd := f.firstSight && !f.known(ctx)
	s, err := f.t.openStream(f.src, atEnd)
	if err != nil {
		f.report(err)
		return
	}
	if err := s.identify(ctx); err != nil {
		f.t.logFailure(ctx, slog.LevelError, "tail: resume", logKeyPath, f.src.Path, logKeyErr, err)
	}
	if s.fp == nil {
		s.startAtEnd = false // nothing to skip: an empty file is read from its start
	}
	f.cur = s
	s.startNX()
	f.report(nil) // "following": from here on every line written is read
}

// rotated keeps the current file as a rotated one: the path names another
// file now, or none.
func (f *follower) rotated() {
	s := f.cur
	s.stopNX()
	s.lastGrowth = f.t.now()
	f.old = append(f.old, s)
	f.cur = nil
	f.t.log.Info("tail: file rotated, draining the old one", logKeyPath, f.src.Path, logKeyInode, s.ino)
}

// replaced handles a current file whose content changed in place
// (copytruncate): the lines not committed yet are in the copy, which is
// found by fingerprint among the siblings and scanned from the checkpoint;
// the file is read again from its start.
func (f *follower) replaced(ctx context.Context) {
	s := f.cur
	f.t.log.Info("tail: file truncated or overwritten, reading it from the start", logKeyPath, f.src.Path)
	s.stopNX()
	if s.fp != nil {
		f.drainCopies(ctx, s.fp)
	}
	s.close()
	f.cur = nil
	f.firstSight = false
	f.open(ctx)
}

// drainCopies scans the siblings whose content starts like fp.
func (f *follower) drainCopies(ctx context.Context, fp []byte) {
	found := false
	for _, p := range f.siblings() {
		c, err := openContent(p)
		if err != nil {
			continue
		}
		got, ok, err := c.fingerprint()
		if err != nil || !ok || string(got) != string(fp) {
			continue
		}
		found = true
		f.drain(ctx, p)
	}
	if !found {
		f.t.log.Warn("tail: no copy of the truncated content found next to it; lines written just before the truncation are read by the next scan of the copy",
			logKeyPath, f.src.Path)
	}
}

// readAll reads every stream to its end, committing full batches, and
// closes rotated streams that have been idle long enough.
func (f *follower) readAll(ctx context.Context) {
	if f.cur != nil {
		if f.cur.changed() || f.readStream(ctx, f.cur) {
			f.replaced(ctx)
			if f.cur != nil {
				f.readStream(ctx, f.cur)
			}
		}
		if s := f.cur; s != nil && (s.restartNX || s.nx == nil) {
			s.stopNX()
			s.startNX()
		}
	}
	keep := f.old[:0]
	for _, s := range f.old {
		if f.readStream(ctx, s) {
			f.t.log.Warn("tail: rotated file truncated; the rest is left to scan", logKeyPath, f.src.Path, logKeyInode, s.ino)
			s.close()
			continue
		}
		if f.t.now().Sub(s.lastGrowth) >= f.t.opts.RotatedIdle && !s.pending() {
			s.close()
			continue
		}
		keep = append(keep, s)
	}
	f.old = keep
}

// readStream catches s up; it reports whether its content was replaced.
func (f *follower) readStream(ctx context.Context, s *stream) (replaced bool) {
	for {
		_, err := s.catchUp(ctx)
		if errors.Is(err, errReplaced) {
			return true
		}
		if err != nil {
			f.t.logFailure(ctx, slog.LevelError, "tail: read", logKeyPath, s.src.Path, logKeyErr, err)
			return false
		}
		if !s.full() {
			return false
		}
		if err := f.commitStream(ctx, s); err != nil {
			return errors.Is(err, errReplaced) // others are logged by commitStream
		}
	}
}

// flushAll commits what every stream consumed.
func (f *follower) flushAll(ctx context.Context) {
	for range 3 {
		s := f.cur
		if s == nil {
			break
		}
		s.resynced = false
		if err := f.commitStream(ctx, s); err != nil {
			if errors.Is(err, errReplaced) {
				f.replaced(ctx)
			}
			break
		}
		if !s.resynced {
			break
		}
		// Lost a race with a scan: read on from its checkpoint now.
		if f.readStream(ctx, s) {
			f.replaced(ctx)
			break
		}
	}
	for _, s := range f.old {
		f.commitStream(ctx, s)
	}
}

// onLine handles one line from nxadm/tail.
func (f *follower) onLine(ctx context.Context, l *tail.Line) {
	s := f.cur
	if l.Err != nil || s == nil {
		return
	}
	if l.Num == 1 && l.SeekInfo.Offset <= s.pos && s.pos > 0 {
		// nxadm/tail reopened the inode and reads it again from the start.
		s.restartNX = true
		return
	}
	if s.fp == nil {
		// The first line of a new file: identify it (resume or start).
		if err := s.identify(ctx); err != nil {
			f.t.logFailure(ctx, slog.LevelError, "tail: resume", logKeyPath, f.src.Path, logKeyErr, err)
		}
	}
	ok, err := s.consume(l.Text, l.SeekInfo.Offset)
	if err != nil || !ok {
		// Misaligned: verify the content and read it ourselves.
		s.restartNX = true
		f.readAll(ctx)
		return
	}
	if s.full() {
		f.flushAll(ctx)
	}
}

// loop runs the follower until stop is closed.
func (f *follower) loop(stop <-chan struct{}) {
	ctx := context.Background()
	var checkC, flushC <-chan time.Time
	if d := f.t.opts.CheckInterval; d > 0 {
		tk := time.NewTicker(d)
		defer tk.Stop()
		checkC = tk.C
	}
	if d := f.t.opts.FlushInterval; d > 0 {
		tk := time.NewTicker(d)
		defer tk.Stop()
		flushC = tk.C
	}
	for {
		var lines chan *tail.Line
		if f.cur != nil && f.cur.nx != nil {
			lines = f.cur.nx.Lines
		}
		select {
		case <-stop:
			return
		case l, ok := <-lines:
			if !ok {
				f.cur.stopNX() // it died (its error is logged); restarted on the next check
				continue
			}
			f.onLine(ctx, l)
			if f.cur != nil && f.cur.restartNX {
				f.cur.stopNX()
				f.cur.startNX()
			}
		case <-checkC:
			f.check(ctx)
		case <-flushC:
			f.flushAll(ctx)
		}
	}
}

// reopen closes the current file after committing it, and opens the path
// again: SIGHUP.
func (f *follower) reopen(ctx context.Context) {
	if s := f.cur; s != nil {
		f.commitStream(ctx, s)
		if fi, err := os.Stat(f.src.Path); err == nil && s.same(fi) && !s.pending() {
			s.close()
			f.cur = nil
		} else {
			f.rotated()
		}
	}
	f.reported = "-"
	f.check(ctx)
}

// close commits and closes every stream.
func (f *follower) close(ctx context.Context) error {
	var errs []error
	for _, s := range append(f.old, f.cur) {
		if s == nil {
			continue
		}
		s.stopNX()
		if err := s.commit(ctx, false); err != nil && !errors.Is(err, errReplaced) {
			errs = append(errs, fmt.Errorf("tail %s: %w", s.src.Path, err))
		}
		s.close()
	}
	f.cur, f.old = nil, nil
	return errors.Join(errs...)
}
