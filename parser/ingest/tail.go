package ingest

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/netip"
	"path/filepath"
	"sync"
	"time"

	"github.com/lamers-dev/lamers/parser"
	"github.com/lamers-dev/lamers/store"
)

// Live tailing (`lamers tail`; docs/exactly-once.md, "What tail adds").
//
// A Tailer follows source paths. For each path it keeps the stream of the
// file the path names now and, after a rotation, the streams of the inodes
// the path named before, each through a descriptor it opened itself:
//
//   - rename + create (logrotate create, BIND versions rolling, syslog
//     daemons): the path names a new inode; the old descriptor keeps being
//     read until it has been idle for RotatedIdle, so lines a writer still
//     appends to the old file are read; the new file is read from its start.
//   - copytruncate: the file is shorter than the position, or its first line
//     or the bytes before the position changed (a refill past the old
//     offset); nothing read since the last commit is committed, the copy is
//     found in the directory by fingerprint and scanned from the checkpoint,
//     and the file is read again from its start as new content.
//   - delete + recreate, a file that does not exist yet, or cannot be read:
//     the path is checked every CheckInterval; an error is reported once per
//     change, the other sources go on.
//
// Positions are the Scanner's: the same fingerprint, offsets and tail
// hashes, committed with the same compare-and-swap, so `lamers scan` and
// `lamers tail` share checkpoints. At Start, rotated siblings of a source
// (same directory, name starting with the file's name) whose inode has a
// checkpoint are scanned from it: lines a crashed tailer never read from a
// file rotated meanwhile are recovered.

// Source is one followed path.
type Source struct {
	Path   string
	Format parser.Format
}

// TailSink is what a Tailer needs from the store.
type TailSink interface {
	Sink
	CheckpointsByInode(ctx context.Context, dev, inode uint64) ([]store.Checkpoint, error)
}

var _ TailSink = (*store.DB)(nil)

// TailOptions configures a Tailer. Start from DefaultTailOptions: an interval
// of 0 disables its loop (tests call Step).
type TailOptions struct {
	// Location is the time zone of timestamps that carry none (nil: local).
	Location *time.Location
	// IgnoreServers drops the evidence against these networks (see
	// Options.IgnoreServers).
	IgnoreServers []netip.Prefix
	// FromStart reads files never seen before from their start; by default
	// tail starts at their end (files that appear later, or that replace a
	// rotated file, are always read from their start).
	FromStart bool
	// Poll makes nxadm/tail poll instead of using inotify (NFS).
	Poll bool
	// CatchUpOnly reads the files on the CheckInterval ticks alone, without
	// nxadm/tail's line-by-line delivery: a line waits up to CheckInterval
	// to be read, and a tailer of a few quiet files costs a fifth of the
	// CPU (bench/README.md, "run"). Rotation handling and checkpoints are
	// the same.
	CatchUpOnly bool
	// CheckInterval is how often each path is stat'ed for rotation and each
	// file read to its end whatever nxadm/tail reported.
	CheckInterval time.Duration
	// FlushInterval is how often consumed lines are committed.
	FlushInterval time.Duration
	// RotatedIdle is how long a rotated-away file must see no growth before
	// its descriptor is closed.
	RotatedIdle time.Duration
	// BatchLines and BatchKeys bound one commit.
	BatchLines, BatchKeys int
	// Logger receives the tailer's messages (nil: discarded).
	Logger *slog.Logger
	// OnCommit, when set, is called after every commit (from the
	// goroutine that committed).
	OnCommit func(TailCommit)
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// DefaultTailOptions returns the options `lamers tail` uses.
func DefaultTailOptions() TailOptions {
	return TailOptions{
		CheckInterval: 250 * time.Millisecond,
		FlushInterval: 200 * time.Millisecond,
		RotatedIdle:   5 * time.Minute,
		BatchLines:    50_000,
		BatchKeys:     50_000,
	}
}

// TailCommit describes one commit.
type TailCommit struct {
	Path   string
	Lines  int64     // lines committed by this batch
	Offset int64     // position after it
	Since  time.Time // when the first of its lines was consumed
	Stats  Stats     // of this batch
}

// Tailer follows log files and commits what they add.
type Tailer struct {
	sink  TailSink
	opts  TailOptions
	log   *slog.Logger
	nxLog *log.Logger

	procFD    bool // /proc/self/fd names pinned descriptors
	watchFast bool // run nxadm/tail (needs procFD)

	mu        sync.Mutex
	followers []*follower
	started   bool
	loopStop  chan struct{}
	loopWG    sync.WaitGroup

	statsMu sync.Mutex
	stats   Stats

	graveMu sync.Mutex
	graves  []grave
}

// NewTailer returns a Tailer for sources; Start starts it.
func NewTailer(sink TailSink, sources []Source, opts TailOptions) *Tailer {
	if opts.BatchLines <= 0 {
		opts.BatchLines = 50_000
	}
	if opts.BatchKeys <= 0 {
		opts.BatchKeys = 50_000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	t := &Tailer{sink: sink, opts: opts, log: opts.Logger}
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	t.nxLog = slog.NewLogLogger(t.log.With(logKeyComponent, "nxadm/tail").Handler(), slog.LevelDebug)
	for _, src := range sources {
		t.followers = append(t.followers, t.newFollower(src, !opts.FromStart))
	}
	return t
}

func (t *Tailer) now() time.Time { return t.opts.Now() }

// logFailure logs a failure of work under ctx at level, or at DEBUG when
// ctx is done: a stop (SIGTERM while the tailer starts or reloads) cut the
// work short, which is no failure, and the final commit of Close, on its
// own context, keeps what was read.
func (t *Tailer) logFailure(ctx context.Context, level slog.Level, msg string, args ...any) {
	if ctx.Err() != nil {
		level = slog.LevelDebug
	}
	t.log.Log(context.WithoutCancel(ctx), level, msg, args...)
}

func checkSources(sources []Source) error {
	seen := make(map[string]bool)
	for _, s := range sources {
		if s.Path == "" {
			return errors.New("tail: empty source path")
		}
		p := filepath.Clean(s.Path)
		if seen[p] {
			return fmt.Errorf("tail: %s given twice", s.Path)
		}
		seen[p] = true
	}
	return nil
}

// Start recovers rotated files, opens every source and, when the intervals
// are not 0, starts one goroutine per source. A source that cannot be read
// yet is not an error: it is reported and retried.
func (t *Tailer) Start(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.started {
		return errors.New("tail: already started")
	}
	srcs := make([]Source, len(t.followers))
	for i, f := range t.followers {
		srcs[i] = f.src
	}
	if err := checkSources(srcs); err != nil {
		return err
	}
	t.procFD = procFDAvailable()
	// nxadm/tail only runs with the loops: a test stepping by hand reads
	// with catch-up passes alone, and so does CatchUpOnly.
	t.watchFast = t.procFD && !t.opts.CatchUpOnly && (t.opts.CheckInterval > 0 || t.opts.FlushInterval > 0)
	if t.watchFast && !t.opts.Poll {
		if err := probeInotify(); err != nil {
			t.log.Warn("tail: inotify unavailable, polling instead", logKeyErr, err)
			t.opts.Poll = true
		}
	}
	t.started = true
	for _, f := range t.followers {
		if err := f.startup(ctx); err != nil {
			return err
		}
	}
	t.startLoops()
	return nil
}

func (t *Tailer) startLoops() {
	if t.opts.CheckInterval <= 0 && t.opts.FlushInterval <= 0 {
		return
	}
	t.loopStop = make(chan struct{})
	for _, f := range t.followers {
		t.loopWG.Add(1)
		go func() {
			defer t.loopWG.Done()
			f.loop(t.loopStop)
		}()
	}
}

func (t *Tailer) stopLoops() {
	if t.loopStop == nil {
		return
	}
	close(t.loopStop)
	t.loopWG.Wait()
	t.loopStop = nil
}

// Step runs one pass over every source: check the path, read every file to
// its end, commit. It is what the loops do on their ticks; tests whose
// intervals are 0 call it.
func (t *Tailer) Step(ctx context.Context) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, f := range t.followers {
		f.check(ctx)
		f.flushAll(ctx)
	}
	t.closeGraves(0)
}

// Reload reopens every file (a rotation done without the tailer noticing is
// picked up) and replaces the source list: new paths start like at Start,
// removed ones are committed and closed.
func (t *Tailer) Reload(ctx context.Context, sources []Source) error {
	if err := checkSources(sources); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.started {
		return errors.New("tail: reload before start")
	}
	t.stopLoops()
	byPath := make(map[string]*follower)
	for _, f := range t.followers {
		byPath[filepath.Clean(f.src.Path)] = f
	}
	var next []*follower
	for _, src := range sources {
		p := filepath.Clean(src.Path)
		if f := byPath[p]; f != nil {
			delete(byPath, p)
			f.src.Format = src.Format
			f.reopen(ctx)
			next = append(next, f)
			continue
		}
		f := t.newFollower(src, !t.opts.FromStart)
		if err := f.startup(ctx); err != nil {
			t.logFailure(ctx, slog.LevelError, "tail: start source", logKeyPath, src.Path, logKeyErr, err)
		}
		next = append(next, f)
	}
	for _, f := range byPath {
		f.close(ctx)
	}
	t.followers = next
	t.startLoops()
	return nil
}

// Close stops following, commits what was read and closes every file. It
// commits even when ctx is done (with a bound of its own).
func (t *Tailer) Close(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopLoops()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var errs []error
	for _, f := range t.followers {
		if err := f.close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	t.followers = nil
	t.started = false
	t.closeGraves(-1)
	return errors.Join(errs...)
}

// Stats returns the totals of what was committed so far.
func (t *Tailer) Stats() Stats {
	t.statsMu.Lock()
	defer t.statsMu.Unlock()
	st := t.stats
	st.findings = nil
	return st
}

func (t *Tailer) committed(c TailCommit) {
	t.statsMu.Lock()
	t.stats.add(&c.Stats)
	t.stats.NewFindings += c.Stats.NewFindings
	t.statsMu.Unlock()
	if t.opts.OnCommit != nil {
		t.opts.OnCommit(c)
	}
}
