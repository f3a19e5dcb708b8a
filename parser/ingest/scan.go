package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"runtime"
	"slices"
	"time"

	"github.com/lamers-dev/lamers/parser"
	"github.com/lamers-dev/lamers/store"
)

// Sink is the part of the store that ingest writes to. Commit must apply a
// batch atomically and return an error wrapping store.ErrConflict, with
// nothing written, when the checkpoint moved since Base was read.
type Sink interface {
	CheckpointsByFingerprint(ctx context.Context, fp []byte) ([]store.Checkpoint, error)
	MaxCheckpointID(ctx context.Context) (int64, error)
	Commit(ctx context.Context, b store.Batch) (store.CommitResult, error)
}

var _ Sink = (*store.DB)(nil)

// Options configures a Scanner. The zero value is usable.
type Options struct {
	// Format forces a log format; parser.Auto (zero) detects it per line.
	Format parser.Format
	// Location is the time zone of timestamps that carry none (nil: local).
	Location *time.Location
	// IgnoreServers drops the evidence against these networks (the
	// resolver's own forwarders, see parser.Options.IgnoreServers).
	IgnoreServers []netip.Prefix
	// BatchLines and BatchKeys bound a batch: it is committed after that
	// many lines or distinct count rows, whichever comes first. (The rows
	// are counted as the workers add them, so where a batch that reaches
	// BatchKeys ends depends on timing; what is stored does not.)
	BatchLines int
	BatchKeys  int
	// TempDir receives the spool file of standard input ("" = os.TempDir).
	TempDir string
	// Workers is the number of goroutines that parse (0: GOMAXPROCS, at
	// most maxWorkers). Lines that may belong to Unbound's multi-line
	// groups all go to one of them, in order; the output does not depend
	// on the number.
	Workers int
	// Progress, when set, receives a one-line progress display (with
	// carriage returns) for inputs larger than ProgressMin bytes.
	Progress    io.Writer
	ProgressMin int64

	chunkLines int // lines per chunk at most (tests make it small)
}

// maxWorkers bounds the parse workers: past a few, reading and the single
// SQLite writer are the limit.
const maxWorkers = 4

func (o *Options) workers() int {
	if o.Workers > 0 {
		return o.Workers
	}
	return min(runtime.GOMAXPROCS(0), maxWorkers)
}

func (o *Options) defaults() {
	if o.BatchLines <= 0 {
		o.BatchLines = 1 << 23
	}
	if o.BatchKeys <= 0 {
		o.BatchKeys = 250_000
	}
	if o.chunkLines <= 0 {
		o.chunkLines = chunkLines
	}
	if o.ProgressMin <= 0 {
		o.ProgressMin = 100 << 20
	}
}

// Stats summarises what a scan did. Line counts cover the lines this run
// ingested; lines already ingested by an earlier run are in AlreadyIngested.
type Stats struct {
	Files           int
	Lines           int64
	Recognised      int64
	Unrecognised    int64
	Overlong        int64
	AlreadyIngested int64
	// FirstUnrecognised is the first lame-looking line that was not
	// understood, raw (escape it before printing), with its file.
	FirstUnrecognised     string
	FirstUnrecognisedFile string
	NewFindings           int
	UpdatedFindings       int
	// Incomplete counts files that end in a line without newline, left
	// for the next run.
	Incomplete int
	// ExtraKinds counts the events of evidence kinds past the first
	// maxFindingKinds (16) of a finding in one batch: not stored.
	ExtraKinds int64
	// CappedKinds counts the events of evidence kinds the store did not add
	// to their finding, which holds store.MaxObservedKinds already:
	// counted in its count, not in its kinds (store.CommitResult).
	CappedKinds int64
	// IgnoredServers counts the evidence dropped because its server is in
	// IgnoreServers.
	IgnoredServers int64
	// TimeReplaced counts lines whose time lay outside the parser's window
	// (parser.Parser.SetReference) and that were counted at the file's
	// modification time (scan) or at the time they were read (tail).
	TimeReplaced int64

	// findings are the ids of the findings committed to, ascending.
	findings []int64
}

type findingKey struct {
	zone, bucket string
	server       netip.Addr
	port         uint16
}

// Scanner ingests whole files once.
type Scanner struct {
	sink Sink
	opts Options
}

// NewScanner returns a Scanner that commits to sink.
func NewScanner(sink Sink, opts Options) *Scanner {
	opts.defaults()
	return &Scanner{sink: sink, opts: opts}
}

// maxConflicts bounds how often one file is restarted after losing a race
// with another writer before the scan gives up.
const maxConflicts = 100

// ScanFile ingests the content of path (plain or gzip) from its checkpoint.
func (s *Scanner) ScanFile(ctx context.Context, path string, st *Stats) error {
	c, err := openContent(path)
	if err != nil {
		return fmt.Errorf("scan %s: %w", path, err)
	}
	return s.scanContent(ctx, c, st)
}

// ScanReader ingests a stream (standard input). It is spooled to a
// temporary file first so that it can be matched against checkpoints.
func (s *Scanner) ScanReader(ctx context.Context, r io.Reader, st *Stats) error {
	c, err := spoolStdin(ctx, r, s.opts.TempDir)
	if err != nil {
		return fmt.Errorf("scan -: %w", err)
	}
	defer c.cleanup()
	return s.scanContent(ctx, c, st)
}

func (s *Scanner) scanContent(ctx context.Context, c *content, st *Stats) error {
	st.Files++
	for range maxConflicts {
		err := s.scanOnce(ctx, c, st)
		if !errors.Is(err, store.ErrConflict) {
			if err != nil {
				return fmt.Errorf("scan %s: %w", c.name, err)
			}
			return nil
		}
	}
	return fmt.Errorf("scan %s: gave up after %d conflicts with concurrent writers", c.name, maxConflicts)
}

// resumed is where a content continues: the checkpoint it resumes from (a
// fresh one for content never seen), MaxCheckpointID when that was looked
// up, or, when the content is a prefix of content already read
// (prefixOf), the lines it holds: it adds nothing.
type resumed struct {
	base   store.Checkpoint
	seen   int64
	prefix bool
	lines  int64
}

// resume finds the checkpoint this content continues, or a fresh one.
func resume(ctx context.Context, sink Sink, c *content, fp []byte) (r resumed, err error) {
	r.seen, err = sink.MaxCheckpointID(ctx)
	if err != nil {
		return r, err
	}
	cands, err := sink.CheckpointsByFingerprint(ctx, fp)
	if err != nil {
		return r, err
	}
	r.base = store.Checkpoint{Fingerprint: fp}
	if len(cands) == 0 {
		return r, nil
	}
	slices.SortFunc(cands, func(a, b store.Checkpoint) int { return int(a.Offset - b.Offset) })
	offs := make([]int64, len(cands))
	for i, cp := range cands {
		offs[i] = cp.Offset
	}
	hashes, err := c.tailHashes(offs)
	if err != nil {
		return r, err
	}
	for i := len(cands) - 1; i >= 0; i-- {
		if hashes[i] != nil && bytes.Equal(hashes[i], cands[i].TailHash) {
			r.base = cands[i]
			return r, nil
		}
	}
	r.lines, r.prefix, err = prefixOf(c, cands, hashes)
	return r, err
}

// batch is one unit of work handed to the committer.
type batch struct {
	// agg is the batch's aggregate, handed over by the workers; the store
	// reads its rows as it merges them (store.Batch.Rows), so that a batch
	// of 250,000 rows never exists as a slice of Count.
	agg   parts
	next  store.Checkpoint
	stats Stats
}

func (s *Scanner) scanOnce(ctx context.Context, c *content, st *Stats) error {
	fp, ok, err := c.fingerprint()
	if err != nil {
		return err
	}
	if !ok {
		if c.size > 0 {
			st.Incomplete++
		}
		return nil
	}
	r, err := resume(ctx, s.sink, c, fp)
	if err != nil {
		return err
	}
	if r.prefix {
		st.AlreadyIngested += r.lines
		return nil
	}
	base, seen := r.base, r.seen
	st.AlreadyIngested += base.Lines

	history := min(base.Offset, tailHashLen)
	rc, err := c.openAt(base.Offset - history)
	if err != nil {
		return err
	}
	defer rc.Close()
	lr, err := newLineReader(rc, base.Offset, int(history), c.final)
	if err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Unbuffered: the parser builds the next batch while the committer
	// writes this one. Committing is the slower side, so a queued batch
	// would only hold one more batch in memory (measured with bench/: peak
	// RSS about 10 MB lower on the 5M-line mixed log, wall time unchanged).
	batches := make(chan *batch)
	done := make(chan error, 1)
	go func() {
		err := s.commitLoop(ctx, base, seen, batches, st)
		if err != nil {
			cancel() // stop parsing: the batches after a failed one are void
		}
		done <- err
	}()

	stop := s.progress(c)
	perr := s.parseLoop(ctx, c, base, lr, batches)
	close(batches)
	cerr := <-done
	stop()
	if cerr != nil {
		return cerr
	}
	return perr
}

// chunk is a run of lines taken by the reader: the ones the parser's
// prefilter let through (copied, so that the reader can go on), where each
// of them is in the chunk, and how the chunk ends.
type chunk struct {
	buf   []byte
	ends  []int   // end of each candidate line in buf
	idx   []int32 // line number of each candidate line within the chunk
	first int64   // line number of the chunk's first line in the content
	// stateful: a candidate line may touch the parser's multi-line state,
	// or the chunk starts at most parser.ContextLines lines after one that
	// did, so the chunk goes to the worker that holds it
	// (parser.Format.Stateless).
	stateful bool
	chunkEnd
}

// chunkEnd is what the reader tells about a chunk besides its lines: how
// many lines it covers and the position after its last line.
type chunkEnd struct {
	lines      int64
	overlong   int64
	off        int64
	tail       []byte
	incomplete bool  // the content ends in an unfinished line
	err        error // a read error ends the content
	last       bool
	marks      []store.PrefixMark // prefix marks in the chunk (prefix.go)
}

const (
	chunkLines = 32 << 10 // lines per chunk at most
	chunkBytes = 1 << 20  // candidate bytes per chunk at most
)

// readLoop is the first stage of a scan: it splits the content into lines
// and drops those the parser's prefilter rejects (95 % of a typical log),
// on its own goroutine, while the parser works on the previous chunk.
// Batches end at chunk ends, so a chunk is never longer than a batch.
//
// resumed tells that the parser's state was restored from a checkpoint: it
// may hold what the lines just before line0 left, so the first chunk is
// stateful.
func (s *Scanner) readLoop(ctx context.Context, lr *lineReader, line0 int64, resumed bool, out chan<- *chunk, free chan *chunk) {
	defer close(out)
	maxLines := int64(min(s.opts.chunkLines, s.opts.BatchLines))
	get := func() *chunk {
		var c *chunk
		select {
		case c = <-free:
			c.buf, c.ends, c.idx = c.buf[:0], c.ends[:0], c.idx[:0]
			c.stateful, c.chunkEnd = false, chunkEnd{}
		default:
			c = &chunk{buf: make([]byte, 0, chunkBytes+64<<10)} // a longer line grows it
		}
		c.first = line0
		return c
	}
	send := func(c *chunk) bool {
		c.off, c.tail = lr.boundary()
		select {
		case out <- c:
			return true
		case <-ctx.Done():
			return false
		}
	}
	// lastState is the line number of the last stateful line: a chunk
	// that starts soon after it may read what it left (a BIND FORMERR
	// line after its notice, see parser.ContextLines).
	lastState := line0 - parser.ContextLines - 1
	if resumed {
		lastState = line0 - 1
	}
	nextMark := markAfter(lr.off)
	c := get()
	for {
		if c.lines == 0 && line0-lastState <= parser.ContextLines {
			c.stateful = true
		}
		line, overlong, err := lr.next()
		if err != nil {
			if errors.Is(err, errIncomplete) {
				c.incomplete, err = true, io.EOF
			}
			if !errors.Is(err, io.EOF) {
				c.err = err
			}
			c.last = true
			send(c)
			return
		}
		c.lines++
		line0++
		if lr.off >= nextMark {
			c.marks = append(c.marks, store.PrefixMark{Offset: lr.off, Lines: line0, Hash: lr.tailHash()})
			nextMark = markAfter(lr.off)
		}
		switch {
		case overlong:
			c.overlong++
		case s.opts.Format.Candidate(line):
			c.buf = append(c.buf, line...)
			c.ends = append(c.ends, len(c.buf))
			c.idx = append(c.idx, int32(c.lines-1))
			if !s.opts.Format.Stateless(line) {
				c.stateful = true
				lastState = line0 - 1
			}
		}
		if c.lines >= maxLines || len(c.buf) >= chunkBytes {
			if !send(c) {
				return
			}
			c = get()
		}
	}
}

// parseLoop is the second stage: it hands the reader's chunks to the
// parse workers, and full batches, once every worker is done with the
// chunks before the batch's end, to the committer.
func (s *Scanner) parseLoop(ctx context.Context, c *content, base store.Checkpoint, lr *lineReader, out chan<- *batch) error {
	chunks := make(chan *chunk, 1)
	nw := s.opts.workers()
	free := make(chan *chunk, nw+3)
	ctx, cancel := context.WithCancel(ctx)
	pool := newWorkers(nw, parser.Options{Format: s.opts.Format, Location: s.opts.Location, Reference: c.mtime, TransientQName: true,
		IgnoreServers: s.opts.IgnoreServers}, c.name, free)
	defer func() {
		cancel()
		for range chunks { // let the reader finish
		}
		pool.close()
	}()
	if len(base.State) > 0 {
		if err := pool.stateful().p.Restore(base.State); err != nil {
			return fmt.Errorf("checkpoint %d: %w", base.ID, err)
		}
	}
	go s.readLoop(ctx, lr, base.Lines, len(base.State) > 0, chunks, free)

	lines := base.Lines
	marks := slices.Clone(base.Marks)
	var bs Stats
	var n int64 // lines in the batch being built
	flush := func(m chunkEnd) error {
		agg, st := pool.collect()
		st.ExtraKinds = agg.capKinds()
		st.add(&bs)
		b := &batch{
			agg: agg,
			next: store.Checkpoint{
				Offset: m.off, TailHash: m.tail, Lines: lines, State: pool.stateful().p.State(),
				Dev: c.dev, Inode: c.inode, Path: c.path, Marks: slices.Clone(marks),
			},
			stats: st,
		}
		if c.name == "-" {
			b.next.Path = "-"
		}
		select {
		case out <- b:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		if !m.last {
			pool.reset() // new shards: b has the old ones
		}
		bs, n = Stats{}, 0
		return nil
	}
	for ch := range chunks {
		m := ch.chunkEnd // the chunk is recycled once parsed
		pool.parse(ch)
		marks = append(marks, m.marks...)
		n += m.lines
		lines += m.lines
		bs.Lines += m.lines
		bs.Overlong += m.overlong
		if m.incomplete {
			bs.Incomplete++
		}
		switch {
		case m.err != nil:
			// The complete lines before the error are content like any
			// other: commit them; the error ends the file.
			if n > 0 {
				if err := flush(m); err != nil {
					return err
				}
			}
			pool.wait()
			return m.err
		case m.last && n > 0:
			return flush(m)
		case m.last:
			if bs.Incomplete > 0 {
				// Report it even when no line was read this time.
				select {
				case out <- &batch{stats: bs}:
				case <-ctx.Done():
					return context.Cause(ctx)
				}
			}
			return nil
		case n >= int64(s.opts.BatchLines) || pool.rows() >= s.opts.BatchKeys:
			if err := flush(m); err != nil {
				return err
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return context.Cause(ctx) // the reader stopped early: cancelled
}

// commitLoop commits batches in order, each advancing the checkpoint the
// previous one left.
func (s *Scanner) commitLoop(ctx context.Context, base store.Checkpoint, seen int64, in <-chan *batch, st *Stats) error {
	var err error
	for b := range in {
		if err != nil {
			continue // drain
		}
		if b.agg.len() == 0 && b.stats.Lines == 0 {
			st.Incomplete += b.stats.Incomplete
			continue
		}
		// Hand the aggregate over: once the store has merged its rows it is
		// garbage, which matters for a batch of 250,000 rows.
		agg, n := b.agg, b.agg.len()
		b.agg = nil
		rows := func(yield func(*store.Count) bool) {
			a := agg
			agg = nil
			a.rows(yield)
		}
		var res store.CommitResult
		res, err = s.sink.Commit(ctx, store.Batch{Base: base, SeenMaxID: seen, Next: b.next, Rows: rows, RowsLen: n})
		if err != nil {
			continue
		}
		base = res.Checkpoint
		st.add(&b.stats)
		st.NewFindings += res.NewFindings
		st.CappedKinds += res.CappedEvents
		st.findings = union(st.findings, res.Findings)
		st.UpdatedFindings = len(st.findings) - st.NewFindings
	}
	return err
}

// union returns the ascending ids of a and b (ascending), reusing a's or
// b's slice when the other adds nothing.
func union(a, b []int64) []int64 {
	switch {
	case len(b) == 0:
		return a
	case len(a) == 0:
		return b
	}
	out := make([]int64, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			out = append(out, a[i])
			i++
		case a[i] > b[j]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i, j = i+1, j+1
		}
	}
	return append(append(out, a[i:]...), b[j:]...)
}

func (st *Stats) add(b *Stats) {
	st.Lines += b.Lines
	st.Recognised += b.Recognised
	st.Unrecognised += b.Unrecognised
	st.Overlong += b.Overlong
	st.Incomplete += b.Incomplete
	st.TimeReplaced += b.TimeReplaced
	st.ExtraKinds += b.ExtraKinds
	st.CappedKinds += b.CappedKinds
	st.IgnoredServers += b.IgnoredServers
	if st.FirstUnrecognised == "" && b.FirstUnrecognised != "" {
		st.FirstUnrecognised, st.FirstUnrecognisedFile = b.FirstUnrecognised, b.FirstUnrecognisedFile
	}
}

// addCounts adds what a parser counted between c0 and c1.
func (st *Stats) addCounts(c0, c1 parser.Counts) {
	st.TimeReplaced += c1.TimeReplaced - c0.TimeReplaced
	st.IgnoredServers += c1.IgnoredServer - c0.IgnoredServer
}
