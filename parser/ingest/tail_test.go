package ingest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lamers-dev/lamers/store"
)

// fakeClock is the tailer's clock in stepped tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// stepped returns a started Tailer whose loops are off: the test calls Step.
func stepped(t *testing.T, db TailSink, fromStart bool, paths ...string) (*Tailer, *fakeClock) {
	t.Helper()
	return steppedWith(t, db, func(o *TailOptions) { o.FromStart = fromStart }, paths...)
}

// steppedWith is stepped with the options set changes.
func steppedWith(t *testing.T, db TailSink, set func(*TailOptions), paths ...string) (*Tailer, *fakeClock) {
	t.Helper()
	clk := &fakeClock{t: time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)}
	opts := DefaultTailOptions()
	opts.CheckInterval, opts.FlushInterval = 0, 0
	opts.Location, opts.Now = time.UTC, clk.now
	set(&opts)
	var srcs []Source
	for _, p := range paths {
		srcs = append(srcs, Source{Path: p})
	}
	tl := NewTailer(db, srcs, opts)
	if err := tl.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tl.Close(context.Background()) })
	return tl, clk
}

func wantTotal(t *testing.T, db *storeDB, want int64, when string) {
	t.Helper()
	if got, _ := totals(t, db); got != want {
		t.Fatalf("%s: %d events stored, want %d", when, got, want)
	}
}

// appender is a writer holding its file open in append mode, like named
// or a syslog daemon between a rotation and its reopen.
type appender struct {
	t    *testing.T
	f    *os.File
	next int
}

func openAppender(t *testing.T, path string, next int) *appender {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return &appender{t: t, f: f, next: next}
}

// write appends n new distinct lame-server lines.
func (a *appender) write(n int) {
	a.t.Helper()
	if _, err := a.f.WriteString(lameLines(a.next, n)); err != nil {
		a.t.Fatal(err)
	}
	a.next += n
}

// reopen switches to path (after a rotation), keeping the numbering.
func (a *appender) reopen(path string) {
	a.f.Close()
	*a = *openAppender(a.t, path, a.next)
}

func rename(t *testing.T, from, to string) {
	t.Helper()
	if err := os.Rename(from, to); err != nil {
		t.Fatal(err)
	}
}

// scanAll runs `lamers scan` over every file in dir but the database.
func scanAll(t *testing.T, db *storeDB, dir string) Stats {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	var paths []string
	for _, e := range ents {
		if n := e.Name(); e.Type().IsRegular() && filepath.Ext(n) != ".db" && !isDBFile(n) {
			paths = append(paths, filepath.Join(dir, n))
		}
	}
	return scan(t, db, paths...)
}

func isDBFile(n string) bool {
	return n == "lamers.db-wal" || n == "lamers.db-shm" || n == "lamers.db-journal"
}

func TestTailStartsAtEndOfNewFile(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, filepath.Join(dir, "lamers.db"))
	log := filepath.Join(dir, "lame.log")
	w := openAppender(t, log, 0)
	w.write(100)
	tl, _ := stepped(t, db, false, log)
	tl.Step(context.Background())
	wantTotal(t, db, 0, "history skipped")
	w.write(10)
	tl.Step(context.Background())
	wantTotal(t, db, 10, "new lines")
	// The skipped history stays skipped for scan too: one checkpoint.
	scanAll(t, db, dir)
	wantTotal(t, db, 10, "after scan")
}

func TestTailFromStart(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, filepath.Join(dir, "lamers.db"))
	log := filepath.Join(dir, "lame.log")
	w := openAppender(t, log, 0)
	w.write(100)
	// A half-written line is left for later.
	w.f.WriteString("22-Nov-2026 02:00:00.000 lame-servers: info: lame server resolving 'x.half.example' (in 'half")
	tl, _ := stepped(t, db, true, log)
	tl.Step(context.Background())
	wantTotal(t, db, 100, "existing content")
	w.f.WriteString(".example'?): 192.0.2.1#53\n")
	tl.Step(context.Background())
	wantTotal(t, db, 101, "finished line")
	scanAll(t, db, dir)
	wantTotal(t, db, 101, "after scan")
}

// logrotate "create" with a postrotate reopen that comes late: the writer
// keeps appending to the renamed file for a while, then switches.
func TestTailRenameCreateLateWriter(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, filepath.Join(dir, "lamers.db"))
	log := filepath.Join(dir, "lame.log")
	w := openAppender(t, log, 0)
	w.write(100)
	tl, clk := stepped(t, db, true, log)
	ctx := context.Background()
	tl.Step(ctx)
	wantTotal(t, db, 100, "before rotation")

	rename(t, log, log+".1")
	w.write(50) // to the old inode, path gone
	tl.Step(ctx)
	wantTotal(t, db, 150, "renamed, not yet created")
	writeFile(t, log, "") // logrotate create
	w.write(30)           // still the old inode
	tl.Step(ctx)
	wantTotal(t, db, 180, "created, writer still on the old file")
	clk.advance(time.Minute)
	w.write(5)
	w.reopen(log) // postrotate: the daemon reopens
	w.write(40)
	tl.Step(ctx)
	wantTotal(t, db, 225, "writer switched")
	clk.advance(10 * time.Minute)
	tl.Step(ctx) // the idle old file is closed
	if n := len(tl.followers[0].old); n != 0 {
		t.Errorf("%d rotated files still open after idling", n)
	}
	scanAll(t, db, dir)
	wantTotal(t, db, 225, "after the nightly scan")
}

func TestTailCopytruncate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		refill int // lines written after the truncation before the tailer looks
		// lines written after the copy and read by the tailer before the
		// truncation: the copy is shorter than what was read, a prefix
		// that adds nothing (issue 11 item 3)
		afterCopy int
	}{
		{"slow refill", 10, 0},
		{"fast refill past the old offset", 300, 0},
		{"refill to a complete first line only", 1, 0},
		{"the tailer read past the copy", 3, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			db := openDB(t, filepath.Join(dir, "lamers.db"))
			log := filepath.Join(dir, "lame.log")
			w := openAppender(t, log, 0)
			w.write(100)
			tl, _ := stepped(t, db, true, log)
			ctx := context.Background()
			tl.Step(ctx)
			w.write(20) // not read by the tailer before the rotation
			// logrotate copytruncate: copy, then truncate in place.
			data, err := os.ReadFile(log)
			if err != nil {
				t.Fatal(err)
			}
			if tc.afterCopy > 0 {
				w.write(tc.afterCopy)
				tl.Step(ctx)
			}
			writeFile(t, log+".1", string(data))
			if err := os.Truncate(log, 0); err != nil {
				t.Fatal(err)
			}
			w.write(tc.refill) // O_APPEND: written from offset 0
			tl.Step(ctx)
			want := int64(120 + tc.afterCopy + tc.refill)
			wantTotal(t, db, want, "after the truncation")
			w.write(7)
			tl.Step(ctx)
			wantTotal(t, db, want+7, "appending again")
			scanAll(t, db, dir)
			wantTotal(t, db, want+7, "after the nightly scan")
		})
	}
}

// BIND's own rolling (`versions 3 size 20k`): named renames file.1 →
// file.2, file.0 → file.1, file → file.0 and opens a new file; it never
// writes the old one again.
func TestTailBINDVersions(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, filepath.Join(dir, "lamers.db"))
	log := filepath.Join(dir, "lame.log")
	w := openAppender(t, log, 0)
	w.write(50)
	tl, _ := stepped(t, db, true, log)
	ctx := context.Background()
	tl.Step(ctx)
	for roll := range 4 {
		w.write(25 + roll)
		for i := 2; i >= 0; i-- {
			from := log + "." + string(rune('0'+i))
			if i == 2 {
				os.Remove(from)
				continue
			}
			if _, err := os.Stat(from); err == nil {
				rename(t, from, log+"."+string(rune('0'+i+1)))
			}
		}
		rename(t, log, log+".0")
		w.reopen(log)
		w.write(10)
		tl.Step(ctx)
	}
	want := int64(w.next)
	wantTotal(t, db, want, "after four rolls")
	scanAll(t, db, dir)
	wantTotal(t, db, want, "after scanning the versions")
}

// logrotate "compress delaycompress": yesterday's file is compressed at the
// next rotation; scanning the .gz finds its checkpoint.
func TestTailCompressDelaycompress(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, filepath.Join(dir, "lamers.db"))
	log := filepath.Join(dir, "lame.log")
	w := openAppender(t, log, 0)
	w.write(100)
	tl, clk := stepped(t, db, true, log)
	ctx := context.Background()
	tl.Step(ctx)
	for day := range 3 {
		if _, err := os.Stat(log + ".1"); err == nil {
			gzipTo(t, log+".1", log+".2.gz.tmp")
			os.Remove(log + ".1")
			rename(t, log+".2.gz.tmp", log+".2.gz")
		}
		rename(t, log, log+".1")
		writeFile(t, log, "")
		w.write(3) // late writes before postrotate
		tl.Step(ctx)
		w.reopen(log)
		w.write(40 + day)
		tl.Step(ctx)
		clk.advance(time.Hour)
		tl.Step(ctx)
	}
	want := int64(w.next)
	wantTotal(t, db, want, "after three days")
	st := scanAll(t, db, dir)
	wantTotal(t, db, want, "after the nightly scan")
	if st.Lines != 0 {
		t.Errorf("scan read %d lines again", st.Lines)
	}
}

func TestTailDeleteAndRecreate(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, filepath.Join(dir, "lamers.db"))
	log := filepath.Join(dir, "lame.log")
	w := openAppender(t, log, 0)
	w.write(10)
	tl, _ := stepped(t, db, true, log)
	ctx := context.Background()
	tl.Step(ctx)
	os.Remove(log)
	w.write(5) // to the deleted inode
	tl.Step(ctx)
	w.reopen(log)
	w.write(7)
	tl.Step(ctx)
	wantTotal(t, db, 22, "recreated")
}

func TestTailFileAppearsLate(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, filepath.Join(dir, "lamers.db"))
	log := filepath.Join(dir, "lame.log")
	tl, _ := stepped(t, db, false, log) // not from start: still read whole
	ctx := context.Background()
	tl.Step(ctx)
	w := openAppender(t, log, 0)
	w.write(12)
	tl.Step(ctx)
	wantTotal(t, db, 12, "late file read from its start")
}

func TestTailTwoFiles(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, filepath.Join(dir, "lamers.db"))
	a, b := filepath.Join(dir, "named.log"), filepath.Join(dir, "unbound.log")
	wa, wb := openAppender(t, a, 0), openAppender(t, b, 100_000)
	wa.write(1)
	wb.write(1)
	tl, _ := stepped(t, db, true, a, b)
	ctx := context.Background()
	tl.Step(ctx)
	wa.write(20)
	wb.write(30)
	rename(t, b, b+".0")
	wb.reopen(b)
	wb.write(4)
	tl.Step(ctx)
	wantTotal(t, db, 56, "both files")
	scanAll(t, db, dir)
	wantTotal(t, db, 56, "after scan")
}

// A cron scan of the live file between two passes of the tailer: the
// tailer's commit conflicts, it resumes from the scan's checkpoint.
func TestTailAndScanShareCheckpoints(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, filepath.Join(dir, "lamers.db"))
	log := filepath.Join(dir, "lame.log")
	w := openAppender(t, log, 0)
	w.write(10)
	tl, _ := stepped(t, db, true, log)
	ctx := context.Background()
	tl.Step(ctx)
	w.write(50)
	scan(t, db, log)
	w.write(5)
	tl.Step(ctx)
	wantTotal(t, db, 65, "tail after scan")
	w.write(5)
	scan(t, db, log)
	tl.Step(ctx)
	wantTotal(t, db, 70, "scan after tail")
}

// Restarting the tailer resumes from the checkpoint, also for a file that
// was rotated while it was down and kept being written to.
func TestTailRestartRecoversRotatedFile(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, filepath.Join(dir, "lamers.db"))
	log := filepath.Join(dir, "lame.log")
	w := openAppender(t, log, 0)
	w.write(10)
	tl, _ := stepped(t, db, false, log)
	ctx := context.Background()
	w.write(10)
	tl.Step(ctx)
	wantTotal(t, db, 10, "from the end")
	w.write(10)
	tl.Close(ctx) // the 10 lines are read at the next start
	rename(t, log, log+".1")
	w.write(5)
	w.reopen(log)
	w.write(3)
	tl2, _ := stepped(t, db, false, log)
	tl2.Step(ctx)
	wantTotal(t, db, 28, "after restart")
}

type storeDB = store.DB

// With its loops running, the tailer follows through nxadm/tail (inotify,
// or polling for NFS), or on its checks alone (CatchUpOnly, `lamers run`),
// across a rename rotation with a late writer. The test waits on the
// commit hook, not on time.
func TestTailLive(t *testing.T) {
	for _, c := range []struct {
		poll, catchUpOnly bool
	}{{false, false}, {true, false}, {false, true}} {
		t.Run(fmt.Sprintf("poll=%v,catchUpOnly=%v", c.poll, c.catchUpOnly), func(t *testing.T) {
			dir := t.TempDir()
			db := openDB(t, filepath.Join(dir, "lamers.db"))
			log := filepath.Join(dir, "lame.log")
			w := openAppender(t, log, 0)
			opts := DefaultTailOptions()
			opts.Location, opts.Poll, opts.CatchUpOnly = time.UTC, c.poll, c.catchUpOnly
			// nxadm/tail wakes it; the periodic check (250 ms in production)
			// is slowed down so that it is only the backstop for an inotify
			// event missed while the watch was being set up, which happens
			// on a loaded machine. Without nxadm/tail the check reads.
			opts.CheckInterval = 2 * time.Second
			if c.catchUpOnly {
				opts.CheckInterval = 100 * time.Millisecond
			}
			committed := make(chan int64, 1000)
			opts.OnCommit = func(c TailCommit) { committed <- c.Lines }
			tl := NewTailer(db, []Source{{Path: log}}, opts)
			if err := tl.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			defer tl.Close(context.Background())
			var got int64
			waitFor := func(want int64) {
				t.Helper()
				timeout := time.After(20 * time.Second)
				for got < want {
					select {
					case n := <-committed:
						got += n
					case <-timeout:
						t.Fatalf("%d lines committed, want %d", got, want)
					}
				}
			}
			w.write(100)
			waitFor(100) // read as they come: the file was empty at start
			rename(t, log, log+".1")
			w.write(20) // the old inode, still followed through its descriptor
			waitFor(120)
			wantTotal(t, db, 120, "live")
		})
	}
}
