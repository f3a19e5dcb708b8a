package ingest

import (
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/nxadm/tail"
	"github.com/nxadm/tail/watch"
)

// nxadm/tail is the fast path of a followed file: it wakes on inotify (or
// polls, for NFS) and hands over complete lines with their end offsets. It
// is wrapped so that none of its known defects in v1.4.11 can lose a line or
// end the process (ReOpen drops the old descriptor at EOF, tail.go; a
// truncation is seen only as a shrinking size, watch/inotify.go and
// watch/polling.go, upstream issues #62, #77 and #78; util.Fatal calls
// os.Exit, util/util.go):
//
//   - It never sees a path that rotation can change. It follows
//     /proc/self/fd/N, a duplicate of the descriptor this package pinned, so
//     every line it delivers comes from that one inode. Rotation, deletion
//     and recreation are detected by this package (stat of the path,
//     device, inode and fingerprint), and a renamed file keeps being read
//     through the pinned descriptor until it has been idle.
//   - Its fatal stat (util.Fatal → os.Exit on any stat error but "not
//     exist") runs on /proc/self/fd/N, which stats the open file itself: a
//     directory made unreadable, or a file chmod'ed, cannot fail it.
//     fsnotify.NewWatcher failing (inotify instance limit) is fatal inside
//     nxadm/tail too: probeInotify creates nxadm's shared watcher once, after
//     checking with fsnotify that a watcher can be created, and falls back
//     to polling otherwise.
//   - Its lines are taken only when they continue the position exactly
//     (stream.consume). After a rename it re-reads the inode from offset 0;
//     after a truncation it misses (refilled past the old offset) it resumes
//     at a stale offset. Both are seen as a misaligned line: the content is
//     verified, and either the stream is re-anchored or the content is
//     treated as replaced.
//   - Before every commit the content is verified (first line and the bytes
//     before the position), so a refill after a missed truncation never
//     reaches the store. A periodic catch-up pass with the Scanner's line
//     reader reads whatever nxadm/tail did not deliver.

// procFDAvailable reports whether /proc/self/fd can pin descriptors by name.
func procFDAvailable() bool {
	fi, err := os.Stat("/proc/self/fd")
	return err == nil && fi.IsDir()
}

// probeInotify checks that an inotify watcher can be created and then
// creates nxadm/tail's process-wide one, so that its creation cannot fail
// later (nxadm/tail calls os.Exit then). It returns an error when inotify
// is unusable; the caller polls instead.
func probeInotify() error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("inotify: %w", err)
	}
	w.Close()
	// Any watch request starts nxadm/tail's shared watcher and waits for it.
	// Removing a name never added only decrements a private counter.
	watch.RemoveWatch(fmt.Sprintf("/nonexistent/lamers-probe-%d", os.Getpid()))
	return nil
}

// startNX starts nxadm/tail on a duplicate of the pinned descriptor at the
// stream's position. Failing to start it only costs latency: the check pass
// still reads the file.
func (s *stream) startNX() {
	s.restartNX = false
	if !s.t.watchFast {
		return
	}
	fd, err := syscall.Dup(int(s.f.Fd()))
	if err != nil {
		s.t.log.Debug("tail: dup descriptor", logKeyPath, s.src.Path, logKeyErr, err)
		return
	}
	syscall.CloseOnExec(fd)
	dup := os.NewFile(uintptr(fd), s.src.Path)
	name := fmt.Sprintf("/proc/self/fd/%d", fd)
	t, err := tail.TailFile(name, tail.Config{
		Location:      &tail.SeekInfo{Offset: s.pos, Whence: io.SeekStart},
		ReOpen:        true,
		MustExist:     true,
		Poll:          s.t.opts.Poll,
		Follow:        true,
		CompleteLines: true,
		Logger:        s.t.nxLog,
	})
	if err != nil {
		dup.Close()
		s.t.log.Debug("tail: start follower", logKeyPath, s.src.Path, logKeyErr, err)
		return
	}
	s.nx, s.nxDup = t, dup
}

// stopNX stops nxadm/tail. Its inotify watch is removed by its own
// goroutine when it sees the stop (Cleanup would remove it a second time
// and corrupt nxadm/tail's reference count), so the duplicate descriptor,
// whose number names the watch, is closed only a while later.
func (s *stream) stopNX() {
	if s.nx == nil {
		return
	}
	s.nx.Stop()
	s.t.bury(s.nxDup)
	s.nx, s.nxDup = nil, nil
}

// grave is a descriptor waiting to be closed.
type grave struct {
	f  *os.File
	at time.Time
}

func (t *Tailer) bury(f *os.File) {
	t.graveMu.Lock()
	t.graves = append(t.graves, grave{f, t.now()})
	t.graveMu.Unlock()
}

// closeGraves closes buried descriptors older than age.
func (t *Tailer) closeGraves(age time.Duration) {
	t.graveMu.Lock()
	defer t.graveMu.Unlock()
	keep := t.graves[:0]
	for _, g := range t.graves {
		if t.now().Sub(g.at) >= age {
			g.f.Close()
			continue
		}
		keep = append(keep, g)
	}
	t.graves = keep
}
